"""The pull reads cedants' APIs as the standards are written, not only as our own test server writes
them: Link fields as RFC 8288 Appendix B parses them, next addresses resolved against the page that
gave them (RFC 3986 §5) on the same origin (§6.2), Basic client credentials form-encoded (RFC 6749
§2.3.1), the token endpoint's failures told apart, a bearer token (RFC 6750), Retry-After on a 503
(RFC 9110 §10.2.3), a page past the end answered 404 or without its list, and specs in JSON."""

import json

import pytest
import requests
from django.core.exceptions import ValidationError
from requests.structures import CaseInsensitiveDict

from portal.ingestion.models import RiskRow
from portal.ingestion.sources.models import SyncRun
from portal.ingestion.sources.paginators import LinkHeader, PagingError, link_header_links, resource_url
from portal.ingestion.sources.spec import spec_parse

from .cedant_server import CedantServer, risk_record
from .helpers import Sleeps, pull

NEXT = "http://h.example/v1/risks?page=3"

pytestmark = pytest.mark.usefixtures("cedant_pull")


def page_answer(link, url="http://h.example/v1/sub/risks?page=2"):
    response = requests.Response()
    response.headers = CaseInsensitiveDict({"Link": link})
    response.url = url
    return response


def next_of(link, *, base="http://h.example", url="http://h.example/v1/sub/risks?page=2"):
    paginator = LinkHeader({}, base, "/v1/risks", {})
    paginator.first()
    found = paginator.next(page_answer(link, url), None, [{}])
    return found[0] if found else None


@pytest.mark.parametrize(
    "link",
    [
        f'<{NEXT}>; rel="next"',
        f"<{NEXT}>; rel=next",
        f'<{NEXT}>;rel="next"',
        f'<{NEXT}>; rel = "next"',
        # §3.3: "The rel parameter can ... contain multiple link relation types"; names and types in any case.
        f'<{NEXT}>; rel="next last"',
        f'<{NEXT}>; REL="next"',
        f'<{NEXT}>; rel="Next"',
        f'<{NEXT}>; rel="https://example.org/rel/other next"',
        f'<http://h.example/v1/risks?page=1>; rel="prev", <{NEXT}>; rel="next"',
        f'<{NEXT}>; type="application/json"; rel="next"',
        # Quoted strings may hold "=", ",", ";" and "<...>".
        f'<{NEXT}>; title="a=b"; rel="next"',
        f'<{NEXT}>; title="x, <http://h.example/elsewhere>; y"; rel="next"',
        f'<{NEXT}>; title="say \\"next\\""; rel="next"',
    ],
)
def test_the_next_link_is_found_in_every_form_rfc_8288_allows(link):
    assert next_of(link) == NEXT


def test_only_the_first_rel_parameter_counts_and_other_relations_are_not_followed():
    assert next_of(f'<{NEXT}>; rel="prev"; rel="next"') is None
    assert next_of(f'<{NEXT}>; rel="last"') is None
    assert next_of("") is None
    assert link_header_links('<a>; rel="next", garbage, <b>; rel="next"') == [("a", ["next"])]


def test_a_relative_next_link_is_resolved_against_the_page_that_gave_it():
    assert next_of('<page3>; rel="next"') == "http://h.example/v1/sub/page3"
    assert next_of('</v1/risks?page=3>; rel="next"') == NEXT
    assert next_of('<?page=3>; rel="next"') == "http://h.example/v1/sub/risks?page=3"


def test_the_same_origin_is_recognised_in_any_case_and_with_its_default_port():
    assert next_of('<http://H.EXAMPLE/v1/risks?page=3>; rel="next"') == "http://H.EXAMPLE/v1/risks?page=3"
    assert next_of('<http://h.example:80/v1/risks?page=3>; rel="next"') == "http://h.example:80/v1/risks?page=3"
    for elsewhere in ("http://evil.example/steal", "https://h.example/v1/risks", "http://h.example:8080/v1"):
        with pytest.raises(PagingError, match="another host"):
            next_of(f'<{elsewhere}>; rel="next"')


@pytest.mark.parametrize("address", ["http://h.example:99999/p2", "http://h.example:abc/p2"])
def test_a_next_address_with_a_port_out_of_range_is_refused_not_a_crash(address):
    with pytest.raises(PagingError, match="not a valid URL"):
        next_of(f'<{address}>; rel="next"')


def test_a_base_url_with_a_path_keeps_it():
    assert resource_url("https://api.cedant.example/bordereaux", "/v1/risks") == (
        "https://api.cedant.example/bordereaux/v1/risks"
    )
    assert resource_url("https://api.cedant.example/", "v1/risks") == "https://api.cedant.example/v1/risks"
    assert resource_url("https://api.cedant.example/x", "https://api.cedant.example/y") == (
        "https://api.cedant.example/y"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["page_number", "offset"])
@pytest.mark.parametrize("status", [404, 400])
def test_a_page_past_the_end_answered_as_an_error_ends_the_pull(mode, status):
    with CedantServer([risk_record(n) for n in range(1, 8)], mode=mode) as server:
        server.faults = [None, None, None, ("status", status)]
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.pages, run.rows_loaded) == (3, 7)


@pytest.mark.django_db
def test_a_first_page_answered_404_still_fails_the_pull():
    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 404)]
        run = pull(server)
    assert run.status == SyncRun.Status.FAILED and "404" in run.error
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("answer", [{"meta": {"total": 7}}, {"data": None}, {}])
def test_a_page_past_the_end_without_its_list_ends_the_pull(answer):
    with CedantServer([risk_record(n) for n in range(1, 8)]) as server:
        server.faults = [None, None, None, ("body", answer)]
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.rows_loaded == 7


@pytest.mark.django_db
def test_a_client_secret_with_reserved_characters_is_form_encoded_before_basic(monkeypatch):
    secret = "a+b/c=d:e%f ñ"
    monkeypatch.setenv("ANDINOS_SECRET", secret)
    with CedantServer([risk_record(1)]) as server:
        server.client_secret = secret
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


@pytest.mark.django_db
@pytest.mark.parametrize("status", [503, 429])
def test_a_token_endpoint_that_fails_for_a_moment_is_asked_again(status):
    sleeps = Sleeps()
    with CedantServer([risk_record(1)]) as server:
        server.token_faults = [("status", status, {"Retry-After": "2"})]
        run = pull(server, sleeps)
        assert server.token_requests == 2
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert max(sleeps) >= 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "abc", "token_type": "mac", "expires_in": 3600},
        {"token_type": "Bearer", "expires_in": 3600},
    ],
)
def test_a_token_answer_without_a_bearer_token_fails_the_pull_saying_so(answer):
    with CedantServer([risk_record(1)]) as server:
        server.token_faults = [("body", answer)]
        run = pull(server)
        assert server.data_requests == []
    assert run.status == SyncRun.Status.FAILED
    assert "bearer access token" in run.error


@pytest.mark.django_db
def test_a_token_living_less_than_the_leeway_is_fetched_once_for_the_whole_pull(settings):
    settings.AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS = 60
    with CedantServer([risk_record(n) for n in range(1, 8)], token_seconds=30) as server:
        run = pull(server)
        assert server.token_requests == 1
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages == 4


@pytest.mark.django_db
def test_retry_after_on_a_503_is_honoured():
    sleeps = Sleeps()
    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 503, {"Retry-After": "3"})]
        run = pull(server, sleeps)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert sleeps[0] >= 3


@pytest.mark.django_db
def test_a_long_retry_after_is_waited_out_up_to_half_the_worker_silence(settings):
    settings.AMPARO_WORKER_SILENCE_SECONDS = 300
    sleeps = Sleeps()
    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 429, {"Retry-After": "120"})]
        run = pull(server, sleeps)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert sleeps[0] >= 120

    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 429, {"Retry-After": "151"})]
        run = pull(server, name="Otra API")
    assert run.status == SyncRun.Status.FAILED and "151" in run.error


@pytest.mark.django_db
def test_a_source_that_only_throttles_never_trips_its_circuit_breaker(settings):
    settings.AMPARO_INGESTION_BREAKER_FAILURES = 2
    with CedantServer([risk_record(n) for n in range(1, 4)]) as server:
        server.faults = [("status", 429, {"Retry-After": "1"})] * 3
        run = pull(server)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.throttled, run.breaker_trips) == (3, 0)


def test_a_json_spec_indented_with_tabs_loads():
    with CedantServer() as server:
        text = json.dumps(server.spec(), indent="\t")
    assert "\t" in text
    assert spec_parse(text)["name"] == "Seguros Andinos API"
    assert spec_parse("\ufeff" + text)["resource"]["paginator"]["type"] == "page_number"


def test_a_spec_without_a_period_is_refused_saying_where():
    with CedantServer() as server:
        spec = server.spec()
    del spec["period"]
    with pytest.raises(ValidationError, match="'period' is a required property"):
        spec_parse(json.dumps(spec))
