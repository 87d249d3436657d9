"""English and Spanish (es-CO): the language switch, the catalogue, and Colombian number and date formats."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from portal.accounts.demo import seed_scale_clients
from portal.accounts.models import Role
from portal.audit.models import AuditEvent

from .factories import UserFactory

SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


def in_language(client, language):
    """The client as a browser on which the language switch chose `language` (browsers' Accept-Language
    does not choose the portal's language: tests/test_language_preference.py)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_spanish_colombia_is_offered_next_to_english():
    assert dict(settings.LANGUAGES).keys() == {"en", "es-co"}


def test_the_catalogue_translates_into_spanish():
    with translation.override("es-co"):
        assert translation.gettext("Your account security") == "Seguridad de su cuenta"
        assert translation.gettext("Dashboard") != "Dashboard"


def test_dashboard_is_in_english_by_default(agent_client):
    body = agent_client.get(reverse("dashboard:dashboard")).content.decode()
    assert '<html lang="en">' in body
    assert "Your account security" in body


def test_dashboard_is_in_spanish_on_a_browser_that_chose_spanish(agent_client):
    response = in_language(agent_client, "es-co").get(reverse("dashboard:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es-co">' in body
    assert "Seguridad de su cuenta" in body
    assert "Your account security" not in body


def test_the_language_switch_keeps_spanish_for_later_pages(agent_client):
    response = agent_client.post(reverse("set_language"), {"language": "es-co", "next": reverse("dashboard:dashboard")})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:dashboard")

    body = agent_client.get(reverse("dashboard:dashboard")).content.decode()
    assert "Seguridad de su cuenta" in body


def test_the_language_switch_back_to_english_wins_over_the_browser(agent_client):
    agent_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = agent_client.get(reverse("dashboard:dashboard"), headers={"Accept-Language": "es-CO"}).content.decode()
    assert "Your account security" in body


def test_the_language_switch_refuses_a_next_url_on_another_site(agent_client):
    response = agent_client.post(reverse("set_language"), {"language": "es-co", "next": "https://evil.example/"})
    assert "evil.example" not in response.get("Location", "")


def test_the_language_switch_is_on_the_sign_in_page_too(client, db):
    body = in_language(client, "es-co").get(reverse("account_login")).content.decode()
    assert 'data-testid="language-switch"' in body
    assert "Inicie sesión en Amparo" in body


def test_role_names_and_the_permission_page_are_translated(client, db):
    client.force_login(UserFactory(role=Role.FINANCE))
    body = in_language(client, "es-co").get(reverse("audit:log")).content.decode()
    assert "Usted no tiene acceso a esta página" in body
    assert "Finanzas" in body


def test_numbers_use_colombian_separators_in_spanish_and_english_ones_in_english(client, finance_user):
    seed_scale_clients(1234)
    client.force_login(finance_user)

    spanish = in_language(client, "es-co").get(reverse("dashboard:dashboard")).content.decode()
    english = in_language(client, "en").get(reverse("dashboard:dashboard")).content.decode()

    assert "1.234" in spanish
    assert "1,234" not in spanish
    assert "1,234" in english


def test_dates_use_spanish_month_names_on_the_spanish_dashboard(agent_client):
    body = in_language(agent_client, "es-co").get(reverse("dashboard:dashboard")).content.decode()
    month = SPANISH_MONTHS[timezone.localdate().month - 1]
    # (Django's Spanish catalogue capitalises month names: "22 de Noviembre de 2026".)
    assert f" de {month} de {timezone.localdate().year}" in body.lower()


def test_audit_log_dates_use_day_month_year_in_spanish(client, auditor):
    AuditEvent.objects.create(
        action="auth.sign_in", actor_label="ana@amparo.test", occurred_at=datetime(2020, 3, 1, 17, 5, tzinfo=UTC)
    )
    client.force_login(auditor)

    spanish = in_language(client, "es-co").get(reverse("audit:log"), {"actor": "ana@"}).content.decode()
    english = in_language(client, "en").get(reverse("audit:log"), {"actor": "ana@"}).content.decode()

    assert "01/03/2020 12:05" in spanish  # 17:05 UTC is 12:05 in Bogotá
    assert "03/01/2020" in english


def test_audit_log_date_filter_accepts_the_iso_dates_a_date_picker_sends_in_spanish(client, auditor):
    AuditEvent.objects.create(
        action="auth.sign_in", actor_label="ana@amparo.test", occurred_at=datetime(2020, 3, 1, 17, tzinfo=UTC)
    )
    client.force_login(auditor)
    response = in_language(client, "es-co").get(
        reverse("audit:log"), {"occurred_after": "2020-03-01", "occurred_before": "2020-03-01"}
    )
    assert response.status_code == 200
    assert "ana@amparo.test" in response.content.decode()


def _catalogue_entries():
    """(msgid, msgstr, flags) for each entry of the es_CO catalogue, header excluded."""
    path = Path(__file__).resolve().parent.parent / "locale" / "es_CO" / "LC_MESSAGES" / "django.po"
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = block.strip().splitlines()
        flags = " ".join(line for line in lines if line.startswith("#,"))
        text = {"msgid": "", "msgstr": ""}
        current = None
        for line in lines:
            if line.startswith(("msgid ", "msgstr ", "msgstr[")):
                # A plural entry counts as translated when its forms are ("msgstr[0]", "msgstr[1]").
                key, _, rest = line.partition(" ")
                current = "msgstr" if key.startswith("msgstr") else key
                text[current] += rest.strip().strip('"')
            elif line.startswith('"') and current:
                text[current] += line.strip().strip('"')
        if text["msgid"]:
            entries.append((text["msgid"], text["msgstr"], flags))
    return entries


def test_every_string_of_the_spanish_catalogue_is_translated_and_none_is_fuzzy():
    entries = _catalogue_entries()
    assert len(entries) > 200
    assert [msgid for msgid, msgstr, _flags in entries if not msgstr] == []
    assert [msgid for msgid, _msgstr, flags in entries if "fuzzy" in flags] == []
