"""Which language a page is in: Spanish (Colombia) for a new session, the language switch's choice on
that browser, and above both a signed-in user's own preference, kept on the user. Browsers'
Accept-Language does not choose the portal's language; the API (the customers' app) follows it.

The test settings keep English as the default so that the rest of the suite reads English pages;
these tests put the product's default back with the `settings` fixture.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent

from .factories import TEST_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
SPANISH_TITLE = "Inicie sesión en Amparo"
ENGLISH_TITLE = "Sign in to Amparo"


@pytest.fixture
def product_default(settings):
    settings.LANGUAGE_CODE = "es-co"


def html_lang(response):
    return response.content.decode().split("<html lang=", 1)[1].split(">", 1)[0].strip('"')


def settings_value(module, name, **env):
    """A setting as a fresh process loads it from `module`, with only `env` added to a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "HUEY_", "REDIS_"))}
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_spanish_colombia_is_the_default_language_of_the_development_and_production_settings():
    production = {
        "DJANGO_SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgresql://amparo:change-me@db.example.invalid:5432/amparo",
        "DJANGO_ALLOWED_HOSTS": "amparo.example.com",
        "HUEY_URL": "redis://queue.example.invalid:6379/0",
        "REDIS_URL": "redis://cache.example.invalid:6379/1",
    }
    assert settings_value("portal.settings.dev", "LANGUAGE_CODE") == "es-co"
    assert settings_value("portal.settings.production", "LANGUAGE_CODE", **production) == "es-co"


def test_the_test_settings_keep_english_so_that_the_suite_reads_english_pages():
    assert django_settings.LANGUAGE_CODE == "en"


@pytest.mark.django_db
def test_a_new_session_without_a_preference_gets_spanish(client, product_default):
    response = client.get(reverse("account_login"))

    assert html_lang(response) == "es-co"
    assert response["Content-Language"] == "es-co"
    assert SPANISH_TITLE in response.content.decode()


@pytest.mark.django_db
def test_a_browser_in_english_still_gets_the_portal_in_spanish_until_someone_chooses(client, product_default):
    response = client.get(reverse("account_login"), headers={"Accept-Language": "en-US,en;q=0.9"})

    assert html_lang(response) == "es-co"
    assert SPANISH_TITLE in response.content.decode()


@pytest.mark.django_db
def test_choosing_english_before_signing_in_is_kept_on_that_browser_only(client, product_default):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("account_login")})
    assert response.status_code == 302

    assert ENGLISH_TITLE in client.get(reverse("account_login")).content.decode()
    assert SPANISH_TITLE in Client().get(reverse("account_login")).content.decode()


@pytest.mark.django_db
def test_the_language_switch_keeps_a_signed_in_users_choice_as_their_preference(client, product_default):
    user = UserFactory(role=Role.AGENT)
    client.force_login(user)

    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    user.refresh_from_db()
    assert user.language == "en"
    event = AuditEvent.objects.get(action="user.language_changed")
    assert event.metadata == {"from": "", "to": "en"}


@pytest.mark.django_db
def test_a_users_preference_follows_them_to_another_browser(product_default):
    user = UserFactory(role=Role.FINANCE, language="en")
    elsewhere = Client()
    elsewhere.force_login(user)

    response = elsewhere.get(reverse("dashboard:dashboard"))

    assert html_lang(response) == "en"
    assert "Finance dashboard" in response.content.decode()


@pytest.mark.django_db
def test_a_users_preference_wins_over_what_the_switch_chose_on_the_browser(client, product_default):
    user = UserFactory(role=Role.SUPERVISOR, language="es-co")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)

    response = client.get(reverse("dashboard:dashboard"))

    assert html_lang(response) == "es-co"
    # The browser's cookie is brought in line, so the sign-in page after signing out speaks it too.
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "es-co"


@pytest.mark.django_db
def test_signing_in_applies_the_preference_and_the_sign_in_page_keeps_it_after_signing_out(client, product_default):
    user = UserFactory(role=Role.AGENT, language="en")

    response = client.post(reverse("account_login"), {"login": user.email_primary, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert html_lang(client.get(reverse("dashboard:dashboard"))) == "en"

    client.post(reverse("account_logout"))
    assert ENGLISH_TITLE in client.get(reverse("account_login")).content.decode()


@pytest.mark.django_db
def test_without_a_preference_a_signed_in_user_sees_the_default(client, product_default):
    client.force_login(UserFactory(role=Role.ADMIN))

    response = client.get(reverse("dashboard:dashboard"))

    assert html_lang(response) == "es-co"
    assert "Panel" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_language_changes_no_preference(client, product_default):
    user = UserFactory(role=Role.AGENT, language="en")
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert not AuditEvent.objects.filter(action="user.language_changed").exists()


@pytest.mark.django_db
def test_the_api_follows_the_apps_accept_language(client, product_default):
    url = reverse("api:wompi_webhook")

    assert client.get(url, headers={"Accept-Language": "en"})["Content-Language"] == "en"
    assert client.get(url, headers={"Accept-Language": "es-CO"})["Content-Language"] == "es-co"
    assert client.get(url)["Content-Language"] == "es-co"
