"""The mapping screen of a file whose columns were not recognised."""

from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.ingestion.fields import Kind
from portal.ingestion.models import ImportJob, MappingProfile, RiskRow

from ..helpers import UNUSUAL_HEADERS, UNUSUAL_MAPPING, full_mapping, signed_in


def test_the_mapping_screen_offers_the_files_columns_and_preselects_what_it_recognised(
    client, finance_user, mapping_job
):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:job_mapping", args=[mapping_job.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="mapping-form"' in body
    form = response.context["form"]
    assert form["umr"].value() == "UMR"
    assert form["net_premium"].value() == "Net Premium"
    assert [choice for choice, _label in form.fields["certificate_ref"].choices] == ["", *UNUSUAL_HEADERS]


def test_the_mapping_screen_saves_the_mapping_in_the_profile_and_runs_the_import(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[mapping_job.pk])
    mapping_job.refresh_from_db()
    assert (mapping_job.status, mapping_job.rows_loaded, mapping_job.rows_rejected) == (
        ImportJob.Status.SUCCEEDED,
        4,
        0,
    )
    profile = MappingProfile.objects.get(source=mapping_job.source, kind=Kind.RISK)
    for name, header in UNUSUAL_MAPPING.items():
        assert profile.column_map[name] == header
    assert set(RiskRow.objects.values_list("insured_name", flat=True)) == {f"Asegurado {n} S.A.S." for n in range(4)}
    assert AuditEvent.objects.filter(action="ingestion.columns_mapped", target_id=str(mapping_job.pk)).exists()
    assert AuditEvent.objects.filter(action="ingestion.profile_saved", actor=finance_user).exists()
    page = client.get(response["Location"]).content.decode()
    assert "Mapping saved for Reaseguros Andinos S.A.. The import runs now." in page


def test_the_mapping_screen_refuses_a_mapping_that_leaves_a_required_field_empty(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job, insured_name="")
        )
    assert response.status_code == 422
    assert "Choose a column for: Insured Full Name or Company Name" in response.content.decode()
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before
    assert RiskRow.objects.count() == 0


def test_the_mapping_screen_refuses_one_column_for_two_fields(
    client, finance_user, mapping_job, django_capture_on_commit_callbacks
):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("ingestion:job_mapping", args=[mapping_job.pk]),
            full_mapping(mapping_job, expiry_date="Desde"),
        )
    assert response.status_code == 422
    assert "Each column of the file can feed one field only." in response.content.decode()
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before


def test_the_mapping_screen_refuses_a_column_that_is_not_in_the_file(client, finance_user, mapping_job):
    signed_in(client, finance_user)
    # The first upload stored the detected layout in a profile; a refused mapping leaves it as is.
    profiles_before = list(MappingProfile.objects.values_list("column_map", flat=True))
    response = client.post(
        reverse("ingestion:job_mapping", args=[mapping_job.pk]), full_mapping(mapping_job, insured_name="Hacker")
    )
    assert response.status_code == 422
    mapping_job.refresh_from_db()
    assert mapping_job.status == ImportJob.Status.MAPPING
    assert list(MappingProfile.objects.values_list("column_map", flat=True)) == profiles_before


def test_the_mapping_screen_of_a_job_that_needs_no_mapping_leads_to_the_job_page(client, finance_user, imported):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:job_mapping", args=[imported.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("ingestion:job_detail", args=[imported.pk])
