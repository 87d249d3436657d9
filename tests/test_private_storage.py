"""Private files on S3-compatible object storage (a local moto server speaking S3 over HTTP): claim
documents go to a private bucket, and a permitted download is a redirect to a short-lived signed URL;
local disk stays the default."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.urls import reverse

from portal.claims import services
from portal.claims.documents import document_storage
from portal.core.readiness import storage_problem
from portal.core.storage import private_storage, storage_url_options

from .factories import CustomerFactory, ProductFactory, UserFactory, file_claim, issue_policy
from .helpers import JPEG
from .helpers import document_upload as upload
from .s3_server import BUCKET


@pytest.fixture
def claim(agent):
    policy = issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=ProductFactory())
    return file_claim(policy=policy, actor=agent)


def test_local_disk_is_the_default(settings, tmp_path):
    settings.AMPARO_STORAGE_URL = ""
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    storage = private_storage("claim-documents")
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(tmp_path / "claim-documents")


@pytest.mark.parametrize(
    "url", ["https://bucket/x", "s3:///no-bucket", "s3://bucket/x?endpoint=http://x", "minio://bucket"]
)
def test_a_malformed_storage_url_is_refused_with_its_name(url):
    with pytest.raises(ImproperlyConfigured, match="AMPARO_STORAGE_URL"):
        storage_url_options(url)


def test_a_claim_document_is_stored_in_the_bucket_under_its_prefix(on_s3, claim, agent):
    document = services.claim_document_add(claim=claim, upload=upload("Foto.jpg", JPEG), actor=agent)
    key = f"amparo/claim-documents/{document.stored_name[:2]}/{document.stored_name}"
    assert key in on_s3.object_keys()
    assert on_s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read() == JPEG


def test_the_bucket_object_is_not_readable_without_a_signature(on_s3, claim, agent):
    document = services.claim_document_add(claim=claim, upload=upload("Foto.jpg", JPEG), actor=agent)
    key = f"amparo/claim-documents/{document.stored_name[:2]}/{document.stored_name}"
    acl = on_s3.client().get_object_acl(Bucket=BUCKET, Key=key)
    assert all(grant["Grantee"].get("URI", "").endswith("AllUsers") is False for grant in acl["Grants"])


def test_a_permitted_download_redirects_to_a_short_lived_signed_url_that_serves_the_attachment(
    on_s3, client, claim, agent
):
    document = services.claim_document_add(claim=claim, upload=upload("Foto choque.jpg", JPEG), actor=agent)
    client.force_login(agent)
    response = client.get(reverse("claims:document_download", args=[claim.pk, document.pk]))

    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    signed = response["Location"]
    assert signed.startswith(on_s3.endpoint)
    query = parse_qs(urlsplit(signed).query)
    # The lifetime is in the signature (moto, unlike S3, serves an expired URL, so the test reads it there).
    assert query["X-Amz-Expires"] == ["2"]
    assert "X-Amz-Signature" in query

    fetched = requests.get(signed, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == JPEG
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    assert "choque.jpg" in fetched.headers["Content-Disposition"]

    unsigned = signed.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


def test_no_signed_url_is_handed_to_someone_outside_the_book(on_s3, client, claim, agent):
    document = services.claim_document_add(claim=claim, upload=upload("Foto.jpg", JPEG), actor=agent)
    client.force_login(UserFactory())
    response = client.get(reverse("claims:document_download", args=[claim.pk, document.pk]))
    assert response.status_code == 404
    assert "Location" not in response


def test_a_document_missing_from_the_bucket_is_404(on_s3, client, claim, agent):
    document = services.claim_document_add(claim=claim, upload=upload("Foto.jpg", JPEG), actor=agent)
    document_storage().delete(f"{document.stored_name[:2]}/{document.stored_name}")
    client.force_login(agent)
    assert client.get(reverse("claims:document_download", args=[claim.pk, document.pk])).status_code == 404


def test_readiness_writes_and_removes_a_probe_in_the_bucket(on_s3):
    assert storage_problem() is None
    assert not [key for key in on_s3.object_keys() if "/readiness/" in key]


def test_readiness_reports_an_unreachable_object_store(on_s3, settings):
    settings.AMPARO_STORAGE_URL = "s3://amparo-private-test/x?endpoint_url=http://127.0.0.1:1&region_name=us-east-1"
    assert storage_problem() == "unusable"
