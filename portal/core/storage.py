"""Where private files live (claim documents, photos, report files): never under a public URL, served
only after a permission check.

Local disk under `AMPARO_PRIVATE_ROOT` by default. With `AMPARO_STORAGE_URL=s3://bucket/prefix?...` they
go to S3-compatible object storage (django-storages), private to the bucket, and a download is a redirect
to a URL signed for `AMPARO_STORAGE_SIGNED_URL_SECONDS`, handed out only after the view's permission check.
"""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.http import content_disposition_header

S3_OPTIONS = {"endpoint_url", "region_name", "addressing_style", "signature_version"}


def storage_url_options(url):
    """The S3Storage options `AMPARO_STORAGE_URL` names, or None for local disk."""
    if not url or url.startswith("file:"):
        return None
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"AMPARO_STORAGE_URL must be s3://bucket/prefix?endpoint_url=... or empty, got {url!r}"
        )
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(query) - S3_OPTIONS
    if unknown:
        raise ImproperlyConfigured(f"AMPARO_STORAGE_URL: unknown options {sorted(unknown)}")
    return {"bucket_name": parts.netloc, "prefix": parts.path.strip("/"), **query}


def private_storage(area):
    """The storage of one area of private files ("claim-documents", ...)."""
    options = storage_url_options(settings.AMPARO_STORAGE_URL)
    if options is None:
        return FileSystemStorage(location=settings.AMPARO_PRIVATE_ROOT / area)
    # Imported only when object storage is configured: boto3 is slow to import and local disk needs none of it.
    from storages.backends.s3 import S3Storage

    prefix = options.pop("prefix")
    return S3Storage(
        location=f"{prefix}/{area}" if prefix else area,
        access_key=settings.AMPARO_STORAGE_ACCESS_KEY or None,
        secret_key=settings.AMPARO_STORAGE_SECRET_KEY or None,
        default_acl="private",
        querystring_auth=True,
        querystring_expire=settings.AMPARO_STORAGE_SIGNED_URL_SECONDS,
        file_overwrite=False,
        signature_version=options.pop("signature_version", "s3v4"),
        **options,
    )


def private_file_response(storage, name, *, filename, content_type):
    """The answer to a permitted download: the file itself from local disk, or a redirect to a short-lived
    signed URL that makes the object store send it as the same attachment."""
    if not storage.exists(name):
        raise Http404
    if isinstance(storage, FileSystemStorage):
        response = FileResponse(
            storage.open(name, "rb"), as_attachment=True, filename=filename, content_type=content_type
        )
    else:
        disposition = content_disposition_header(as_attachment=True, filename=filename)
        signed = storage.url(
            name, parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type}
        )
        response = HttpResponseRedirect(signed)
        response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
