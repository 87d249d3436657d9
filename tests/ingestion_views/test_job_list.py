"""The list of import jobs: its HTMX filter and its empty state."""

import pytest
from django.urls import reverse

from ..helpers import HTMX, signed_in


@pytest.fixture
def two_jobs(imported, mapping_job):
    return imported, mapping_job


def test_the_job_list_answers_an_htmx_filter_with_only_the_results_partial(client, auditor, two_jobs):
    finished, waiting = two_jobs
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:job_list"), {"status": "MAPPING"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'data-testid="filter-form"' not in body
    assert waiting.original_name in body
    assert finished.original_name not in body

    full = client.get(reverse("ingestion:job_list")).content.decode()
    assert "<html" in full
    assert finished.original_name in full
    assert waiting.original_name in full


def test_the_job_list_shows_an_empty_state_that_says_what_to_do(client, finance_user):
    signed_in(client, finance_user)
    body = client.get(reverse("ingestion:job_list")).content.decode()
    assert 'data-testid="empty-state"' in body
    assert "Upload a risk or claims bordereau" in body
