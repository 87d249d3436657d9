"""A web-service source's secrets stay out of logs and kept addresses: a lost connection is logged by
its exception's type and the redacted address, never the exception's text (which holds the whole
query), and `user:password@` is neither accepted in a spec nor kept in any logged address."""

import logging
import socket

import pytest
from django.core.exceptions import ValidationError

from portal.ingestion.sources.client import SourceClient, SourceError, Stats, redact_url
from portal.ingestion.sources.spec import spec_check

from .cedant_server import CedantServer


def test_redacted_addresses_lose_the_user_and_password_and_the_query_values_not_in_the_spec():
    url = "https://amparo:hunter2@api.cedant.example:8443/v1/risks?page=2&sig=abc"
    assert redact_url(url, {"page"}) == "https://api.cedant.example:8443/v1/risks?page=2&sig=[redacted]"


def test_a_lost_connection_is_logged_by_type_and_redacted_address_without_the_key_in_its_query(caplog):
    caplog.set_level(logging.INFO, logger="portal.ingestion.sources.client")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
        port = closed.getsockname()[1]
        with CedantServer() as server:
            spec = server.spec(
                base_url=f"http://amparo:hunter2@127.0.0.1:{port}",
                auth={"type": "api_key", "name": "api_key", "location": "query"},
            )
        client = SourceClient(key="t", spec=spec, secret="SEKRET", stats=Stats(), probe=True)
        with pytest.raises(SourceError, match="ConnectionError"):
            client.get(f"{spec['base_url']}/v1/risks", {"page": 1})
    assert "ConnectionError" in caplog.text
    assert "SEKRET" not in caplog.text and "hunter2" not in caplog.text and "Max retries" not in caplog.text
    assert client.exchanges[0]["url"] == f"http://127.0.0.1:{port}/v1/risks"


@pytest.mark.parametrize("where", ["base_url", "auth.token_url"])
def test_a_spec_with_a_user_and_password_in_an_address_is_refused_saying_where_they_belong(where):
    with CedantServer() as server:
        spec = server.spec()
    address = "https://amparo:hunter2@api.cedant.example"
    if where == "base_url":
        spec["base_url"] = address
    else:
        spec["auth"]["token_url"] = f"{address}/oauth/token"
    with pytest.raises(ValidationError) as refused:
        spec_check(spec)
    assert refused.value.messages == [
        f"{where}: the address must not hold a user or password (user:password@); put credentials in auth."
    ]
