"""A bordereau's totals (per currency and class of business, or per currency and claim status) are
kept by the import that changes the bordereau, in its own transaction, so that the rows page never
sums the rows themselves. They must always equal what summing the rows would give."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

from portal.ingestion import partitions
from portal.ingestion.models import ClaimRow, ClaimTotal, ImportJob, RiskRow, RiskTotal
from portal.ingestion.services import profile_save, source_create

from .helpers import CLAIM_COLUMNS, PERIOD, as_csv, import_file
from .helpers import claim_values as claim
from .ingestion_rows import risk_values as risk

pytestmark = pytest.mark.usefixtures("private_root")


def risk_totals_from_rows(source):
    rows = RiskRow.objects.filter(source=source, period=PERIOD)
    lines = rows.values("currency", "class_of_business").annotate(
        rows=Count("id"),
        sum_insured=Sum("sum_insured"),
        gross_premium=Sum("gross_premium"),
        net_premium=Sum("net_premium"),
    )
    return sorted((line["currency"], line["class_of_business"], *list(line.values())[2:]) for line in lines)


def risk_totals_stored(source):
    lines = RiskTotal.objects.filter(source=source, period=PERIOD).values_list(
        "currency", "class_of_business", "rows", "sum_insured", "gross_premium", "net_premium"
    )
    return sorted(lines)


def messy_risk_rows():
    """Three currencies and classes, a row of each kind of error, and keys that repeat."""
    rows = []
    for number in range(1, 41):
        currency, cob = ("USD", "COP", "EUR")[number % 3], ("Property", "Marine")[number % 2]
        gross = Decimal(1000 + number)
        net = gross * Decimal("0.8") - 50
        rows.append(risk(number, currency=currency, cob=cob, gross=f"{gross}", net=f"{net}", sum=f"{number}000.00"))
    rows[4] = risk(5, currency="XYZ")  # a field error
    rows[9] = risk(10, net="1.00")  # a rule across fields
    rows[20] = dict(rows[3], insured="Repeats row 4's key")  # a repeated key
    rows[30] = dict(rows[3], insured="Repeats it again")
    return rows


@pytest.mark.django_db
def test_a_first_import_keeps_the_totals_of_exactly_the_rows_it_loaded():
    source = source_create(actor=None, name="Totals cedant")
    job = import_file(source, as_csv(messy_risk_rows()))
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, 36, 4)
    assert sum(line[2] for line in risk_totals_stored(source)) == 36
    assert risk_totals_stored(source) == risk_totals_from_rows(source)


@pytest.mark.django_db
def test_a_corrected_file_of_the_same_bordereau_replaces_its_totals():
    source = source_create(actor=None, name="Corrected cedant")
    import_file(source, as_csv(messy_risk_rows()))
    corrected = [risk(number, gross="2000.00", net="1550.00", currency="USD", cob="Casualty") for number in (1, 2, 99)]
    job = import_file(source, as_csv(corrected), name="corrected.csv")
    assert job.rows_loaded == 3
    stored = risk_totals_stored(source)
    assert stored == risk_totals_from_rows(source)
    assert ("USD", "Casualty", 3, Decimal("3000000.00"), Decimal("6000.00"), Decimal("4650.00")) in stored
    assert sum(line[2] for line in stored) == 37  # 36 first, one new key (99), two updated


@pytest.mark.django_db
def test_an_import_that_loads_nothing_leaves_the_totals_as_they_were():
    source = source_create(actor=None, name="Strict cedant")
    import_file(source, as_csv(messy_risk_rows()))
    before = risk_totals_stored(source)
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1, gross="5000.00"), risk(2, currency="XYZ")]), name="refused.csv")
    assert (job.status, job.rows_loaded) == (ImportJob.Status.FAILED, 0)
    assert risk_totals_stored(source) == before


@pytest.mark.django_db
def test_each_bordereau_keeps_its_own_totals():
    andes, pacific = source_create(actor=None, name="Andes"), source_create(actor=None, name="Pacific")
    import_file(andes, as_csv(messy_risk_rows()))
    import_file(pacific, as_csv([risk(1, gross="1000.00", net="750.00")]))
    november = as_csv([risk(1, gross="1000.00", net="750.00", insured="November")])
    import_file(pacific, november, period=date(2026, 11, 1), name="nov.csv")
    assert risk_totals_stored(andes) == risk_totals_from_rows(andes)
    assert RiskTotal.objects.filter(source=pacific).count() == 2
    assert set(RiskTotal.objects.filter(source=pacific).values_list("period", "rows")) == {
        (PERIOD, 1),
        (date(2026, 11, 1), 1),
    }


@pytest.mark.django_db
def test_a_claims_bordereau_keeps_its_paid_reserves_and_incurred_per_currency_and_status():
    source = source_create(actor=None, name="Claims cedant")
    rows = [
        claim(1),
        claim(2, status="Closed", res_ind="0.00", res_fees="0.00", incurred="1600.00"),
        claim(3, currency="COP"),
        claim(4, currency="ZZZ"),  # rejected
        dict(claim(1), cause="Repeats CLM-0001"),  # rejected: same key
    ]
    job = import_file(source, as_csv(rows, columns=CLAIM_COLUMNS), kind="claims")
    assert (job.rows_loaded, job.rows_rejected) == (3, 2)
    stored = sorted(
        ClaimTotal.objects.filter(source=source).values_list(
            "currency", "claim_status", "rows", "paid", "reserves", "total_incurred"
        )
    )
    from_rows = ClaimRow.objects.filter(source=source).values("currency", "claim_status")
    from_rows = from_rows.annotate(
        rows=Count("id"),
        paid=Sum(F("paid_indemnity") + F("paid_fees")),
        reserves=Sum(F("reserve_indemnity") + F("reserve_fees")),
        total_incurred=Sum("total_incurred"),
    )
    assert stored == sorted(tuple(line.values()) for line in from_rows)
    assert ("USD", "Open", 1, Decimal("1100.00"), Decimal("2200.00"), Decimal("3800.00")) in stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_totals_summed_beside_the_duplicate_search_match_the_rows():
    """As in the worker: the duplicate keys are looked for on a connection of their own while the
    totals of the typed rows are summed, and the bordereau becomes a partition of its own."""
    source = source_create(actor=None, name="Worker cedant")
    try:
        job = import_file(source, as_csv(messy_risk_rows()))
        assert job.rows_loaded == 36
        assert partitions.partition_exists(RiskRow, source.pk, PERIOD)
        assert risk_totals_stored(source) == risk_totals_from_rows(source)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partitions.partition_name(RiskRow, source.pk, PERIOD)}")
