"""Fixtures of the core sync's tests: a local core (tests/integrations/casse_server.py) sharing a
simulated clock with the relay, and sync turned on against it."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY

from portal.integrations.relay import relay_drain
from portal.payments.services import account_for, payment_record
from portal.policies.services import policy_endorse
from tests.factories import issue_policy

from .casse_server import SimulatedClock, running_core


@pytest.fixture(autouse=True)
def tasks_wait_in_the_queue():
    """The test settings run huey tasks inline at commit; here the relay's kick would then deliver in the
    middle of the test's own writes. Tasks wait in the queue instead, and each test runs the relay itself."""
    HUEY.immediate = False
    try:
        yield
    finally:
        HUEY.flush()
        HUEY.immediate = True


@pytest.fixture
def clock():
    return SimulatedClock()


@pytest.fixture
def core(settings, clock):
    """A running core on the simulated clock, with CASSE_* settings pointing at it: sync is on."""
    with running_core(settings, clock=clock) as server:
        yield server


@pytest.fixture
def drain(clock):
    """Deliver CASSE's outbox until nothing is due, on the simulated clock; the relay's figures."""

    def run(**options):
        return relay_drain(destination="casse", clock=clock, **options)

    return run


@pytest.fixture
def sync_on(settings):
    """Sync configured (to an address nothing listens on): messages are written, none is delivered."""
    settings.CASSE_API_URL = "http://127.0.0.1:9"
    settings.CASSE_TOKEN_URL = "http://127.0.0.1:9/oauth/token"


@pytest.fixture
def sync_off(settings):
    settings.CASSE_API_URL = ""


@pytest.fixture
def policy_history(db):
    """A policy issued, endorsed (a higher sum insured) and paid in cash, through the real services:
    three messages for its line in the outbox when sync is on."""

    def make(*, endorse=True, pay=True, **quote_fields):
        policy = issue_policy(**quote_fields)
        agent = policy.customer.agent
        if endorse:
            policy_endorse(
                policy=policy,
                actor=agent,
                effective_date=policy.current_version.start_date + timedelta(days=10),
                reason="Carro nuevo",
                sum_insured="150000000",
            )
        if pay:
            payment_record(
                account=account_for(customer=policy.customer, currency="COP"),
                amount="250000.00",
                method="CASH",
                reference=f"CAJA-{policy.number}",
                actor=agent,
            )
        policy.refresh_from_db()
        return policy

    return make


def url_of_the_test_database():
    """The URL of the database this test runs on, for a relay in a process of its own."""
    database = connection.settings_dict
    user = quote(database["USER"] or "", safe="")
    password = f":{quote(database['PASSWORD'], safe='')}" if database.get("PASSWORD") else ""
    host = database["HOST"] or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{database['NAME']}"
