"""A local S3-compatible server for the tests: moto in server mode, a real HTTP server on this machine
speaking the S3 REST protocol (signed requests, presigned URLs), with one private bucket."""

import socket

import boto3
from moto.server import ThreadedMotoServer

ACCESS_KEY = "amparo-test-access"
SECRET_KEY = "amparo-test-secret"
REGION = "us-east-1"
BUCKET = "amparo-private-test"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalS3:
    def __init__(self):
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def object_keys(self, bucket=BUCKET):
        return [item["Key"] for item in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]

    def bucket_create(self, name):
        self.client().create_bucket(Bucket=name)

    def storage_url(self, bucket, prefix="amparo"):
        return f"s3://{bucket}/{prefix}?endpoint_url={self.endpoint}&region_name={REGION}&addressing_style=path"
