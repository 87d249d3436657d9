"""The imported rows page: totals per currency and class from the stored totals, filters, exports."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.ingestion import services
from portal.ingestion.fields import Kind
from portal.ingestion.models import ClaimRow, RiskRow, Source

from ..helpers import HTMX, as_upload, read_csv, read_xlsx, risk_file, signed_in, valid_rows


@pytest.fixture
def two_sources(django_capture_on_commit_callbacks, finance_user):
    """Andinos, October: 6 valid rows (2 per currency/class); Pacífico, November: 3 valid rows."""
    andinos = Source.objects.create(name="Reaseguros Andinos S.A.")
    pacifico = Source.objects.create(name="Pacífico Re")
    with django_capture_on_commit_callbacks(execute=True):
        for source, period, rows in (
            (andinos, date(2026, 10, 1), valid_rows(6)),
            (pacifico, date(2026, 11, 1), valid_rows(3, start=100)),
        ):
            services.import_job_create(
                actor=finance_user,
                source=source,
                kind=Kind.RISK,
                period=period,
                upload=as_upload(risk_file(rows)),
                original_name=f"{source.name}.csv",
            )
    assert RiskRow.objects.count() == 9
    return andinos, pacifico


def totals_by_key(response):
    return {(row["currency"], row["class_of_business"]): row for row in response.context["totals"]}


def test_the_rows_page_shows_totals_per_currency_and_class_of_business(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]))
    assert response.status_code == 200
    totals = totals_by_key(response)
    # rows 0..5 of Andinos: COP/Property = 0, 3; rows 100..102 of Pacífico: 100 -> USD/Marine ...
    assert set(totals) == {("COP", "Property"), ("USD", "Marine"), ("EUR", "Casualty")}
    assert totals[("COP", "Property")]["rows"] == 2 + 1  # rows 0, 3 and 102
    cop = totals[("COP", "Property")]
    assert cop["gross_premium"] == Decimal("1000.00") + Decimal("1003.00") + Decimal("1102.00")
    assert cop["sum_insured"] == Decimal("1000000") + Decimal("1003000") + Decimal("1102000")
    assert cop["net_premium"] == sum(
        (gross * Decimal("0.9") - 50 for gross in (Decimal(1000), Decimal(1003), Decimal(1102))), Decimal(0)
    )
    body = response.content.decode()
    assert 'data-testid="totals"' in body
    assert "3,105.00" in body  # COP / Property gross premium, formatted


def test_the_rows_page_neither_counts_nor_sums_the_bordereau_rows(client, auditor, two_sources):
    """A page of rows and the stored totals: no COUNT(*) and no GROUP BY over millions of rows."""
    signed_in(client, auditor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-10"})
    assert response.status_code == 200
    over_rows = [query["sql"] for query in queries if "ingestion_riskrow" in query["sql"]]
    assert over_rows, "the page lists rows"
    assert not [sql for sql in over_rows if "COUNT(" in sql.upper() or "GROUP BY" in sql.upper()], over_rows
    assert sum(row["rows"] for row in response.context["totals"]) == 6


def test_the_totals_follow_the_currency_and_class_filters(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"currency": "cop", "class_of_business": "prop"})
    assert [(row["currency"], row["class_of_business"], row["rows"]) for row in response.context["totals"]] == [
        ("COP", "Property", 3)
    ]


def test_totals_are_not_shown_while_rows_are_searched_by_umr_and_the_rows_still_are(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"umr": "B0750"})
    assert response.context["totals"] is None
    body = response.content.decode()
    assert 'data-testid="totals-not-shown"' in body
    assert "CERT-00001" in body
    nothing = client.get(reverse("ingestion:rows", args=["risk"]), {"umr": "NO-SUCH-UMR"}).content.decode()
    assert "No rows match." in nothing


def test_the_rows_page_filters_by_source(client, auditor, two_sources):
    _andinos, pacifico = two_sources
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": pacifico.pk})
    assert sum(row["rows"] for row in response.context["totals"]) == 3
    body = response.content.decode()
    assert "CERT-00100" in body
    assert "CERT-00000" not in body


def test_the_rows_page_filters_by_period(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-10"})
    assert sum(row["rows"] for row in response.context["totals"]) == 6
    assert "CERT-00100" not in response.content.decode()
    empty = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2025-01"})
    assert empty.context["totals"] == []
    assert "No rows match." in empty.content.decode()


def test_the_rows_page_answers_an_htmx_filter_with_the_results_partial(client, auditor, two_sources):
    andinos, _pacifico = two_sources
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": andinos.pk}, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="totals"' in body
    assert "CERT-00005" in body


def test_the_rows_export_as_csv_holds_the_filtered_rows(client, finance_user, two_sources):
    andinos, _pacifico = two_sources
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"source": andinos.pk, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="amparo-risk-bordereau-rows.csv"'
    rows = read_csv(response)
    header = rows[0]
    assert header[:4] == ["source", "period", "UMR", "certificate ref"]
    assert len(rows) == 1 + 6
    assert {row[0] for row in rows[1:]} == {"Reaseguros Andinos S.A."}
    assert sorted(row[header.index("certificate ref")] for row in rows[1:]) == [f"CERT-{n:05d}" for n in range(6)]
    first = next(row for row in rows[1:] if row[3] == "CERT-00000")
    assert first[header.index("gross premium")] == "1000.00"
    assert first[header.index("period")] == "2026-10-01"


def test_the_rows_export_as_xlsx_holds_the_filtered_rows(client, finance_user, two_sources):
    signed_in(client, finance_user)
    response = client.get(reverse("ingestion:rows", args=["risk"]), {"period": "2026-11", "export": "xlsx"})
    assert response.status_code == 200
    rows = read_xlsx(response)
    assert rows[0][:3] == ["source", "period", "UMR"]
    assert len(rows) == 1 + 3
    assert {row[0] for row in rows[1:]} == {"Pacífico Re"}


def test_the_claims_rows_page_opens_empty_with_advice(client, auditor, two_sources):
    signed_in(client, auditor)
    response = client.get(reverse("ingestion:rows", args=["claims"]))
    assert response.status_code == 200
    assert response.context["totals"] == []
    assert ClaimRow.objects.count() == 0
    assert "Import a bordereau or widen the filters." in response.content.decode()
