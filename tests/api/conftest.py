import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from api.tokens import token_pair_for
from portal.accounts.models import Role

from ..factories import CustomerFactory, UserFactory, issue_policy

CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


@pytest.fixture
def app_client():
    """The app's HTTP client: JSON in and out."""
    return APIClient()


@pytest.fixture
def app_post(app_client, django_capture_on_commit_callbacks):
    """POST as the app does, with an optional bearer token, running what the request queued for
    after its commit (the emails with the codes)."""

    def post(path, data=None, *, token=None, **extra):
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        with django_capture_on_commit_callbacks(execute=True):
            return app_client.post(path, data or {}, format="json", **extra)

    return post


@pytest.fixture
def code_sent_to():
    """The code in the newest email to `address` (None when none was sent there)."""

    def latest(address):
        for message in reversed(mail.outbox):
            if address in message.to and CODE.search(message.body):
                return CODE.search(message.body).group(1)
        return None

    return latest


@pytest.fixture
def customer_account(db):
    """An active app account linked to its customer record."""
    user = UserFactory(role=Role.CLIENT, email_primary="camila@correo.test")
    CustomerFactory(user=user, email_primary=user.email_primary, id_number=user.id_number, full_name=user.full_name)
    return user


@pytest.fixture
def direct_agent(db, settings, team):
    agent = UserFactory(role=Role.AGENT, team=team, email_primary="directo@amparo.test")
    settings.AMPARO_DIRECT_BOOK_AGENT_EMAIL = agent.email_primary
    return agent


@pytest.fixture
def client_for(db):
    """`client_for(user)`: an app client signed in as `user` (a bearer access token of a real sign-in)."""

    def signed_in(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
        return client

    return signed_in


@pytest.fixture
def customer_client(client_for, customer_account):
    return client_for(customer_account)


# --- the customer endpoints (claims, account, payments, notifications) ---------------------------------


@pytest.fixture
def policyholder(customer_account):
    """The customer record of `customer_account` (Camila), with one policy issued in her agent's book."""
    customer = customer_account.customer
    issue_policy(customer=customer, actor=customer.agent)
    return customer


@pytest.fixture
def other_policyholder(db):
    """Another customer with an app account and a policy of their own, in another book."""
    user = UserFactory(role=Role.CLIENT, email_primary="otro@correo.test")
    customer = CustomerFactory(user=user, email_primary=user.email_primary, id_number=user.id_number)
    issue_policy(customer=customer, actor=customer.agent)
    return customer


@pytest.fixture
def as_customer(app_client, django_capture_on_commit_callbacks):
    """`as_customer(user).get(path)` / `.post(path, data, format=...)`: the app's calls with `user`'s token."""

    class Caller:
        def __init__(self, user):
            self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token_pair_for(user)['access']}"}

        def get(self, path, params=None, **extra):
            return app_client.get(path, params or {}, **self.auth, **extra)

        def post(self, path, data=None, *, format="json", **extra):
            with django_capture_on_commit_callbacks(execute=True):
                return app_client.post(path, data or {}, format=format, **self.auth, **extra)

    return Caller
