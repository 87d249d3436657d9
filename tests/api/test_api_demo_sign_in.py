"""`make run`'s demo customer signs in through the API: password, then the code the email shows."""

import pytest

from portal.accounts.demo import DEMO_PASSWORD, seed_demo_users

pytestmark = pytest.mark.django_db


def test_the_demo_client_signs_in_with_the_code_in_the_email(app_post, code_sent_to):
    seed_demo_users()

    started = app_post("/api/v1/auth/token/", {"email": "client@amparo.demo", "password": DEMO_PASSWORD})
    code = code_sent_to("client@amparo.demo")
    tokens = app_post("/api/v1/auth/otp/verify/", {"challenge": started.json()["challenge"], "code": code})

    assert started.status_code == 202 and code is not None
    assert tokens.status_code == 200 and {"access", "refresh"} <= set(tokens.json())
