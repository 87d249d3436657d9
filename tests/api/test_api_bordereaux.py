"""The cedants' ingestion API: OAuth2 client credentials against our own authorization server (RFC 6749
§4.4 at /api/v1/oauth/token/), then upload, status, row errors and rows, each client seeing only its
own source; the portal upload's checks apply."""

import base64
import io
import json
import socket
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from portal.ingestion.models import ImportJob, RiskRow, Source
from portal.ingestion.sources.clients import source_client_create
from tests.ingestion_workbooks import number_cell, sheet_row, text_cell, write_workbook

pytestmark = pytest.mark.django_db

HEADER = (
    "UMR,Certificate Ref,Insured Full Name or Company Name,Risk Inception Date,Risk Expiry Date,"
    "Location of Risk Country,Original Currency,Sum Insured,Gross Premium,Commission %,Total Taxes,"
    "Net Premium,Class of Business,Transaction Type\r\n"
)


def bordereau(rows=3, bad=1):
    lines = [HEADER]
    for number in range(1, rows + 1):
        net = "750.80" if number > bad else "1.00"
        lines.append(
            f"B0999R012026,C{number:07d},Insured {number} SAS,01/10/2026,30/09/2027,CO,USD,1001000.00,1001.00,"
            f"20,50.00,{net},Property,New\r\n"
        )
    return "".join(lines).encode()


def token_for(client_id, secret, scope=None):
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return APIClient().post(reverse("api:oauth_token"), form, format="multipart", HTTP_AUTHORIZATION=f"Basic {basic}")


@pytest.fixture
def cedant():
    source = Source.objects.create(name="Seguros Andinos")
    _client, client_id, secret = source_client_create(actor=None, source=source)
    return source, client_id, secret


def api_for(client_id, secret, scope=None):
    answer = token_for(client_id, secret, scope)
    assert answer.status_code == 200, answer.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access_token']}")
    return client


def upload(api, content=None, name="october.csv", kind="risk", period="2026-10"):
    file = io.BytesIO(content if content is not None else bordereau())
    file.name = name
    return api.post(reverse("api:bordereau_upload"), {"file": file, "kind": kind, "period": period}, format="multipart")


def test_the_token_endpoint_speaks_client_credentials_and_refuses_a_bad_client(cedant):
    _source, client_id, secret = cedant
    good = token_for(client_id, secret)
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "Bearer" and set(body["scope"].split()) == {"bordereaux:write", "bordereaux:read"}
    assert good["Cache-Control"] == "no-store"
    bad = token_for(client_id, "wrong")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_a_pushed_file_is_imported_as_a_portal_upload_and_followed_to_its_rows(
    cedant, django_capture_on_commit_callbacks
):
    source, client_id, secret = cedant
    api = api_for(client_id, secret)
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(api)
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    job = api.get(reverse("api:bordereau_job", args=[job_id])).json()
    assert (job["status"], job["rows_loaded"], job["rows_rejected"], job["progress"]) == ("SUCCEEDED", 2, 1, 100)
    errors = api.get(reverse("api:bordereau_job_errors", args=[job_id])).json()
    assert errors["count"] == 1 and errors["results"][0]["row_number"] == 2
    rows = api.get(reverse("api:bordereau_rows"), {"period": "2026-10", "kind": "risk", "page_size": 1}).json()
    assert len(rows["results"]) == 1 and rows["next"]
    following = api.get(rows["next"]).json()
    assert following["results"][0]["certificate_ref"] != rows["results"][0]["certificate_ref"]
    assert RiskRow.objects.filter(source=source).count() == 2
    again = upload(api)
    assert again.status_code == 400 and "already imported" in again.json()["detail"] + str(again.json())


def test_a_client_sees_nothing_of_another_source(cedant, django_capture_on_commit_callbacks):
    _source, client_id, secret = cedant
    other_source = Source.objects.create(name="Otra Aseguradora")
    _other, other_id, other_secret = source_client_create(actor=None, source=other_source)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = upload(api_for(other_id, other_secret)).json()["id"]
    api = api_for(client_id, secret)
    assert api.get(reverse("api:bordereau_job", args=[job_id])).status_code == 404
    assert api.get(reverse("api:bordereau_job_errors", args=[job_id])).status_code == 404
    assert api.get(reverse("api:bordereau_rows")).json()["results"] == []


def test_a_bad_token_is_401_and_a_missing_scope_is_403(cedant):
    _source, client_id, secret = cedant
    nobody = APIClient()
    nobody.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert upload(nobody).status_code == 401
    assert APIClient().get(reverse("api:bordereau_rows")).status_code == 401
    reader = api_for(client_id, secret, scope="bordereaux:read")
    refused = upload(reader)
    assert refused.status_code == 403
    # RFC 6750 §3.1: the challenge names the error and the scope the resource needs.
    assert refused["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="bordereaux:write"'
    assert refused.json()["detail"] == "This token does not carry the bordereaux:write scope."
    assert reader.get(reverse("api:bordereau_rows")).status_code == 200
    writer = api_for(client_id, secret, scope="bordereaux:write")
    assert writer.get(reverse("api:bordereau_rows"))["WWW-Authenticate"].endswith('scope="bordereaux:read"')


def test_a_client_allowed_only_to_read_never_gets_the_write_scope():
    source = Source.objects.create(name="Solo Lectura")
    _client, client_id, secret = source_client_create(actor=None, source=source, scopes=("bordereaux:read",))
    answer = token_for(client_id, secret, scope="bordereaux:write")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_a_zip_bomb_and_a_sparse_sheet_are_refused_as_in_the_portal(cedant, tmp_path):
    _source, client_id, secret = cedant
    api = api_for(client_id, secret)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(50):
                member.write(b" " * (1 << 20))
    answer = upload(api, bomb.getvalue(), name="bomb.xlsx")
    assert answer.status_code == 422 and "unreasonable size" in answer.json()["detail"]
    sheet = sheet_row(1, text_cell("A1", "UMR")) + sheet_row(1048576, number_cell("XFD1048576", 1))
    sparse = write_workbook(tmp_path / "sparse.xlsx", sheet)
    answer = upload(api, sparse.read_bytes(), name="sparse.xlsx")
    assert answer.status_code == 422 and "at most 200 columns" in answer.json()["detail"]
    assert set(ImportJob.objects.values_list("status", flat=True)) == {ImportJob.Status.FAILED}


def test_bad_input_is_400_with_the_field(cedant):
    _source, client_id, secret = cedant
    api = api_for(client_id, secret)
    answer = upload(api, period="October")
    assert answer.status_code == 400 and "period" in answer.json().get("errors", {})
    answer = upload(api, kind="life")
    assert answer.status_code == 400 and "kind" in answer.json().get("errors", {})


def test_the_schema_documents_the_endpoints_and_the_client_credentials_flow(client):
    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("", "{job_id}/", "{job_id}/errors/", "rows/"):
        assert f"/api/v1/bordereaux/{path}" in schema["paths"]
    flow = schema["components"]["securitySchemes"]["cedantOAuth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v1/oauth/token/" and "bordereaux:write" in flow["scopes"]


def test_the_command_gives_a_source_a_client_whose_secret_is_shown_once():
    Source.objects.create(name="Por Comando")
    out = io.StringIO()
    call_command("ingestion_source_client", "Por Comando", stdout=out)
    line = json.loads(out.getvalue())
    assert token_for(line["client_id"], line["client_secret"]).status_code == 200
    assert Application.objects.get(client_id=line["client_id"]).client_secret != line["client_secret"]


def raw_post(live_server, length, body=b"", token="not-a-token"):
    """The answer to a POST whose headers declare `length` bytes, of which only `body` is sent."""
    host, port = live_server.thread.host, live_server.thread.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {reverse('api:bordereau_upload')} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body
        )
        # The server may wait for the body it was promised; the answer is read by its own length.
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += sock.recv(65536)
    return int(head.split()[1]), body


def test_a_push_declared_larger_than_a_bordereau_may_be_is_413_before_its_body_is_read(live_server, settings):
    settings.AMPARO_BORDEREAU_MAX_BYTES = 10 * 1024 * 1024
    status, body = raw_post(live_server, 50 * 1024 * 1024)
    assert status == 413
    assert "bordereaux up to 10.0" in json.loads(body)["detail"]
    # Above the 3 MB of an ordinary page but within a bordereau's limit: read, and refused for its token.
    five_mb = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        + b"0" * (5 * 1024 * 1024)
        + b"\r\n--x--\r\n"
    )
    status, _body = raw_post(live_server, len(five_mb), five_mb)
    assert status == 401
