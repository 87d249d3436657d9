"""The sources page and each source's import profile."""

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.ingestion.fields import Kind
from portal.ingestion.models import MappingProfile

from ..helpers import RISK_LABELS, UNUSUAL_HEADERS, UNUSUAL_MAPPING, signed_in


def test_the_sources_page_lists_sources_with_their_profiles_and_edit_links_for_admin_only(
    client, admin_user, auditor, source
):
    MappingProfile.objects.create(source=source, kind=Kind.RISK, all_or_nothing=True)
    signed_in(client, admin_user)
    body = client.get(reverse("ingestion:source_list")).content.decode()
    assert source.name in body
    assert "all or nothing" in body
    assert reverse("ingestion:profile_edit", args=[source.pk, "risk"]) in body

    signed_in(client, auditor)
    body = client.get(reverse("ingestion:source_list")).content.decode()
    assert source.name in body
    assert reverse("ingestion:profile_edit", args=[source.pk, "risk"]) not in body


@pytest.fixture
def profile(source):
    return MappingProfile.objects.create(
        source=source,
        kind=Kind.RISK,
        column_map=dict(UNUSUAL_MAPPING),
        detected={"format": "csv", "encoding": "utf-8", "delimiter": ";", "header_row": 2, "headers": UNUSUAL_HEADERS},
    )


def profile_post(**changes):
    data = {
        "settings-encoding": "cp1252",
        "settings-delimiter": ";",
        "settings-date_format": "%d/%m/%Y",
        "settings-decimal_style": "comma",
        "settings-header_row": "2",
        "settings-all_or_nothing": "on",
    }
    data.update({f"map-{name}": header for name, header in UNUSUAL_MAPPING.items()})
    data.update(changes)
    return data


def test_an_admin_saves_a_profiles_settings_and_mapping_and_it_is_audited(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="profile-form"' in page.content.decode()

    response = client.post(url, profile_post(**{"map-insured_name": "Hasta", "map-expiry_date": "Cliente"}))

    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:source_list")
    profile.refresh_from_db()
    assert (profile.encoding, profile.delimiter, profile.date_format, profile.decimal_style) == (
        "cp1252",
        ";",
        "%d/%m/%Y",
        "comma",
    )
    assert (profile.header_row, profile.all_or_nothing) == (2, True)
    assert profile.column_map["insured_name"] == "Hasta"
    assert profile.column_map["expiry_date"] == "Cliente"
    event = AuditEvent.objects.get(action="ingestion.profile_saved")
    assert event.actor == admin_user
    assert event.target_id == str(profile.pk)
    assert {"encoding", "delimiter", "column_map", "all_or_nothing", "header_row"} <= set(event.metadata["changed"])


def test_an_admin_creates_the_profile_of_a_source_that_has_none(client, admin_user, source):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[source.pk, "claims"])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "settings-encoding": "auto",
            "settings-delimiter": "\t",
            "settings-date_format": "auto",
            "settings-decimal_style": "dot",
        },
    )
    assert response.status_code == 302
    profile = MappingProfile.objects.get(source=source, kind=Kind.CLAIMS)
    assert (profile.delimiter, profile.decimal_style, profile.all_or_nothing) == ("\t", "dot", False)
    assert AuditEvent.objects.filter(action="ingestion.profile_saved", target_id=str(profile.pk)).exists()


def test_a_profile_with_an_unknown_setting_is_refused_with_a_message_and_not_saved(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    response = client.post(url, profile_post(**{"settings-encoding": "ebcdic"}))
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    profile.refresh_from_db()
    assert profile.encoding == "auto"
    assert not AuditEvent.objects.filter(action="ingestion.profile_saved").exists()


def test_the_profile_page_refuses_one_column_for_two_fields(client, admin_user, profile):
    signed_in(client, admin_user)
    url = reverse("ingestion:profile_edit", args=[profile.source.pk, "risk"])
    response = client.post(url, profile_post(**{"map-expiry_date": "Desde"}))
    assert response.status_code == 422
    assert "Each column of the file can feed one field only." in response.content.decode()
    profile.refresh_from_db()
    assert profile.column_map == UNUSUAL_MAPPING
    assert not AuditEvent.objects.filter(action="ingestion.profile_saved").exists()


def test_the_profile_page_shows_what_was_detected_in_the_sources_last_file(client, admin_user, imported):
    signed_in(client, admin_user)
    response = client.get(reverse("ingestion:profile_edit", args=[imported.source.pk, "risk"]))
    body = response.content.decode()
    assert "Last detected: csv, utf-8, delimiter “;”, header on line 2." in body
    assert [choice for choice, _label in response.context["mapping_form"].fields["umr"].choices] == ["", *RISK_LABELS]


def test_a_profile_of_an_unknown_kind_leads_back_to_the_sources(client, admin_user, source):
    signed_in(client, admin_user)
    response = client.get(reverse("ingestion:profile_edit", args=[source.pk, "life"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:source_list")
    assert MappingProfile.objects.count() == 0
