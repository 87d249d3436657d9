"""Bordereau ingestion rules one by one: row validation, duplicate keys, all-or-nothing profiles,
profile overrides, idempotent re-imports, cancel and retry, audit events."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction

from portal.audit.models import AuditEvent
from portal.ingestion import pipeline
from portal.ingestion.models import ClaimRow, ImportJob, RiskRow, RowError
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import (
    import_job_cancel,
    import_job_create,
    import_job_retry,
    profile_save,
    source_create,
)

from .helpers import CLAIM_COLUMNS, PERIOD, RISK_COLUMNS, as_csv, errors_of, import_file, run_import, upload
from .helpers import claim_values as claim
from .ingestion_rows import TXN_CHOICES
from .ingestion_rows import risk_values as risk

NOT_A_DATE = "Not a date in the format dd/mm/yyyy"


pytestmark = pytest.mark.usefixtures("private_root")


# --- row rules, table-driven ----------------------------------------------------------------
# Each case changes row 3 of an otherwise valid file; the expectation is either the one error on
# row 3 (column, message), or the values stored for it when it must load.

RISK_RULES = [
    # Required fields
    *[
        (f"{label} is required", {key: ""}, (label, "Required"))
        for key, label in RISK_COLUMNS.items()
        if key != "taxes"
    ],
    ("total taxes may be left empty (read as zero)", {"taxes": "", "net": "800.00"}, {"total_taxes": Decimal("0")}),
    ("a blank-looking cell is still empty", {"insured": "   "}, ("Insured Full Name or Company Name", "Required")),
    # Types
    ("a premium must be a number", {"gross": "1k"}, ("Gross Premium", "Not a number")),
    ("a sum insured must be a number", {"sum": "one million"}, ("Sum Insured", "Not a number")),
    ("a commission must be a number", {"comm": "twenty"}, ("Commission %", "Not a number")),
    ("an inception date must be a date", {"inception": "1st Oct"}, ("Risk Inception Date", NOT_A_DATE)),
    ("a day that does not exist is not a date", {"expiry": "31/09/2027"}, ("Risk Expiry Date", NOT_A_DATE)),
    ("amounts are rounded to cents", {"sum": "1000000.005"}, {"sum_insured": Decimal("1000000.01")}),
    ("thousands separators are accepted", {"sum": "1,000,000.00"}, {"sum_insured": Decimal("1000000.00")}),
    ("text is stored without surrounding spaces", {"insured": "  Acme Ltda  "}, {"insured_name": "Acme Ltda"}),
    ("a name of 255 characters is accepted", {"insured": "N" * 255}, {"insured_name": "N" * 255}),
    (
        "a name of 256 characters is not",
        {"insured": "N" * 256},
        (RISK_COLUMNS["insured"], "Longer than 255 characters"),
    ),
    # Dates
    (
        "expiry must be after inception",
        {"expiry": "01/10/2026"},
        ("Risk Expiry Date", "Must be after the inception date"),
    ),
    (
        "an ISO date is accepted in a dd/mm/yyyy file",
        {"expiry": "2027-09-30"},
        {"expiry_date": date(2027, 9, 30)},
    ),
    (
        "a spreadsheet timestamp at midnight is a date",
        {"inception": "01/10/2026 00:00:00"},
        {"inception_date": date(2026, 10, 1)},
    ),
    # ISO codes
    ("currency must be ISO 4217", {"currency": "EURO"}, ("Original Currency", "Not an ISO 4217 currency code")),
    ("a lower-case currency code is accepted", {"currency": "eur"}, {"currency": "EUR"}),
    ("country must be ISO 3166", {"country": "XX"}, ("Location of Risk Country", "Not an ISO 3166 country code")),
    ("a three-letter country code is stored as two letters", {"country": "COL"}, {"country": "CO"}),
    (
        "a country name is not a code",
        {"country": "Colombia"},
        ("Location of Risk Country", "Not an ISO 3166 country code"),
    ),
    # Non-negative amounts
    ("sum insured must not be negative", {"sum": "-1.00"}, ("Sum Insured", "Must not be negative")),
    ("taxes must not be negative", {"taxes": "-50.00", "net": "850.00"}, ("Total Taxes", "Must not be negative")),
    ("a zero premium is accepted", {"gross": "0", "taxes": "0", "net": "0"}, {"gross_premium": Decimal("0")}),
    ("commission must not exceed 100 %", {"comm": "100.01"}, ("Commission %", "Must be between 0 and 100")),
    ("commission of exactly 100 % is accepted", {"comm": "100", "taxes": "0", "net": "0"}, {"net_premium": 0}),
    ("a percent sign is accepted", {"comm": "12.5%", "net": "825.00"}, {"commission_pct": Decimal("12.5")}),
    # Net = gross - commission - taxes, within max(0.01, 0.05 % of gross)
    ("net one cent off a small premium is accepted", {"gross": "10.00", "taxes": "0.50", "net": "7.51"}, {}),
    (
        "net two cents off a small premium is rejected",
        {"gross": "10.00", "taxes": "0.50", "net": "7.52"},
        ("Net Premium", "Should be gross - commission - taxes = 7.50"),
    ),
    (
        "net within 0.05 % of a large premium is accepted",
        {"gross": "100000.00", "taxes": "0", "net": "80049.99"},
        {"net_premium": Decimal("80049.99")},
    ),
    (
        "net beyond 0.05 % of a large premium is rejected",
        {"gross": "100000.00", "taxes": "0", "net": "80050.01"},
        ("Net Premium", "Should be gross - commission - taxes = 80000.00"),
    ),
    # Known transaction types
    (
        "an unknown transaction type is rejected",
        {"txn": "Refund"},
        ("Transaction Type", TXN_CHOICES),
    ),
    (
        "an earlier word is stored as the standard's movement",
        {"txn": "MTA"},
        {"transaction_type": "Additional Premium"},
    ),
    # Formula-looking text (CSV injection) never reaches the tables
    ("text that starts like a formula is rejected", {"cob": "=1+1"}, ("Class of Business", "formula")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("rule", "changes", "expected"), RISK_RULES, ids=[rule for rule, _c, _e in RISK_RULES])
def test_each_risk_row_rule_rejects_only_the_bad_cell_or_stores_the_value(source, rule, changes, expected):
    job = import_file(source, as_csv([risk(1), risk(2, **changes), risk(3)]))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    stored = {row.row_number: row for row in RiskRow.objects.filter(job=job)}
    if isinstance(expected, tuple):
        column, message = expected
        errors = errors_of(job)
        assert len(errors) == 1, f"expected one error on row 3, got {errors}"
        [(row_number, got_column, got_message)] = errors
        assert (row_number, got_column) == (3, column)
        assert got_message == message or (message == "formula" and "formula" in got_message.lower()), got_message
        assert sorted(stored) == [2, 4]
        assert (job.rows_loaded, job.rows_rejected) == (2, 1)
    else:
        assert errors_of(job) == []
        assert sorted(stored) == [2, 3, 4]
        for name, value in expected.items():
            assert getattr(stored[3], name) == value


CLAIM_RULES = [
    *[
        (f"{label} is required", {key: ""}, (label, "Required"))
        for key, label in CLAIM_COLUMNS.items()
        if key in ("ref", "status", "loss", "currency", "incurred")
    ],
    (
        "optional claim fields may be empty",
        {"umr": "", "cert": "", "advised": "", "cause": "", "paid_fees": "", "res_fees": "", "incurred": "3500.00"},
        {"umr": "", "paid_fees": Decimal("0"), "date_first_advised": None},
    ),
    (
        "total incurred must add up within 0.05 %",
        {"incurred": "3802.00"},
        ("Total Incurred", "Should be paid + previously paid + reserves = 3800.00"),
    ),
    ("total incurred within 0.05 % is accepted", {"incurred": "3801.50"}, {"total_incurred": Decimal("3801.50")}),
    (
        "total incurred exactly 0.05 % off is accepted on every database (the tolerance is inclusive)",
        {"incurred": "3801.90"},
        {"total_incurred": Decimal("3801.90")},
    ),
    (
        "first advised must not be before the loss",
        {"advised": "14/08/2026"},
        ("Date Claim First Advised", "Is before the date of loss"),
    ),
    (
        "first advised on the day of the loss is accepted",
        {"advised": "15/08/2026"},
        {"date_first_advised": date(2026, 8, 15)},
    ),
    (
        "a loss date in the future is rejected",
        {"loss": "01/01/2099", "advised": ""},
        ("Date of Loss", "Is in the future"),
    ),
    (
        "a reserve must not be negative",
        {"res_ind": "-2000.00", "incurred": "1800.00"},
        ("Reserve - Indemnity", "Must not be negative"),
    ),
    (
        "an unknown claim status is rejected",
        {"status": "Pending"},
        ("Claim Status", "Not one of: Closed, Denied, Open, Reopened"),
    ),
    ("claim status spellings are normalised", {"status": "RE-OPENED"}, {"claim_status": "Reopened"}),
    (
        "the claim currency must be ISO 4217",
        {"currency": "PESOS"},
        ("Original Currency", "Not an ISO 4217 currency code"),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("rule", "changes", "expected"), CLAIM_RULES, ids=[rule for rule, _c, _e in CLAIM_RULES])
def test_each_claims_row_rule_rejects_only_the_bad_cell_or_stores_the_value(source, rule, changes, expected):
    content = as_csv([claim(1), claim(2, **changes), claim(3)], columns=CLAIM_COLUMNS)
    job = import_file(source, content, kind="claims")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    stored = {row.row_number: row for row in ClaimRow.objects.filter(job=job)}
    if isinstance(expected, tuple):
        assert errors_of(job) == [(3, *expected)]
        assert sorted(stored) == [2, 4]
    else:
        assert errors_of(job) == []
        for name, value in expected.items():
            assert getattr(stored[3], name) == value


OP, AP, RP = "Original Premium", "Additional Premium", "Return Premium"
TRANSACTION_SPELLINGS = {  # spelling -> (transaction type, type of business) stored
    "Original Premium": (OP, ""),
    "OP": (OP, ""),
    "additional premium": (AP, ""),
    "AP": (AP, ""),
    "Return Premium": (RP, ""),
    "rp": (RP, ""),
    "Additional premium for brokerage or commission": ("Additional Premium - Brokerage/Commission", ""),
    "Additional premium for fees or expenses": ("Additional Premium - Fees/Expenses", ""),
    "Return premium for brokerage or commission": ("Return Premium - Brokerage/Commission", ""),
    "Return premium for fees or expenses": ("Return Premium - Fees/Expenses", ""),
    "Prima adicional": (AP, ""),
    "Devolución de prima": (RP, ""),
    "new": (OP, "New"),
    "NB": (OP, "New"),
    "New Business": (OP, "New"),
    "  new   business ": (OP, "New"),
    "Renewal": (OP, "Renewal"),
    "REN": (OP, "Renewal"),
    "Endorsement": (AP, ""),
    "end": (AP, ""),
    "MTA": (AP, ""),
    "Cancellation": (RP, ""),
    "CAN": (RP, ""),
    "cancel": (RP, ""),
    "Adjustment": (AP, ""),
    "adj": (AP, ""),
}


@pytest.mark.django_db
def test_every_known_transaction_type_spelling_is_stored_as_the_standards_movement(source):
    rows = [risk(number, txn=spelling) for number, spelling in enumerate(TRANSACTION_SPELLINGS, start=1)]
    job = import_file(source, as_csv(rows))
    assert errors_of(job) == []
    stored = {
        row[0]: row[1:]
        for row in RiskRow.objects.filter(job=job).values_list("certificate_ref", "transaction_type", "business_type")
    }
    assert stored == {f"CERT-{n:04d}": value for n, value in enumerate(TRANSACTION_SPELLINGS.values(), start=1)}


@pytest.mark.django_db
def test_every_known_claim_status_spelling_is_stored_as_its_standard_name(source):
    spellings = {"open": "Open", "Opened": "Open", "NEW": "Open", "Closed": "Closed", "close": "Closed",
                 "Reopened": "Reopened", "re-opened": "Reopened", "re opened": "Reopened",
                 "Denied": "Denied", "declined": "Denied"}  # fmt: skip
    rows = [claim(number, status=spelling) for number, spelling in enumerate(spellings, start=1)]
    job = import_file(source, as_csv(rows, columns=CLAIM_COLUMNS), kind="claims")
    assert errors_of(job) == []
    stored = dict(ClaimRow.objects.filter(job=job).values_list("claim_reference", "claim_status"))
    assert stored == {f"CLM-{n:04d}": value for n, value in enumerate(spellings.values(), start=1)}


@pytest.mark.django_db
def test_a_row_with_several_bad_cells_is_one_rejected_row_with_one_error_per_cell(source):
    job = import_file(source, as_csv([risk(1), risk(2, currency="XXX1", country="ZZ", comm="300")]))
    assert errors_of(job) == [
        (3, "Location of Risk Country", "Not an ISO 3166 country code"),
        (3, "Original Currency", "Not an ISO 4217 currency code"),
        (3, "Commission %", "Must be between 0 and 100"),
    ]
    assert (job.rows_total, job.rows_loaded, job.rows_rejected) == (2, 1, 1)


@pytest.mark.django_db
def test_the_row_error_keeps_the_value_the_person_typed(source):
    job = import_file(source, as_csv([risk(1, gross="1.000,00 USD")]))
    error = RowError.objects.get(job=job)
    assert (error.row_number, error.column, error.value) == (2, "Gross Premium", "1.000,00 USD")


# --- duplicate keys inside one file ---------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicate_key_in_the_file_keeps_the_first_row_and_rejects_the_later_ones(source):
    rows = [
        risk(1, insured="First"),
        risk(2),
        risk(1, insured="Second"),
        risk(1, txn="NB", insured="Third"),  # NB is New: the same key
        risk(1, txn="Renewal", insured="Renewal of 1"),  # another transaction type: another key
    ]
    job = import_file(source, as_csv(rows))
    key = "UMR + Certificate Ref + Transaction Type"
    assert errors_of(job) == [(4, key, "Same key as row 2"), (5, key, "Same key as row 2")]
    assert (job.rows_total, job.rows_loaded, job.rows_rejected) == (5, 3, 2)
    stored = dict(RiskRow.objects.values_list("row_number", "insured_name"))
    assert stored == {2: "First", 3: "Insured 2 SAS", 6: "Renewal of 1"}


@pytest.mark.django_db
def test_a_duplicate_claim_reference_keeps_the_first_claim(source):
    rows = [claim(1, cause="Fire"), claim(1, cause="Flood"), claim(2)]
    job = import_file(source, as_csv(rows, columns=CLAIM_COLUMNS), kind="claims")
    assert errors_of(job) == [(3, "Claim Reference", "Same key as row 2")]
    assert ClaimRow.objects.get(claim_reference="CLM-0001").cause_of_loss == "Fire"


# --- all or nothing -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_all_or_nothing_profile_loads_nothing_when_any_row_is_rejected(source):
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1), risk(2, currency="XYZ"), risk(3)]))
    assert job.status == ImportJob.Status.FAILED
    assert "all-or-nothing" in job.error and "1" in job.error
    assert job.rows_loaded == 0 and job.rows_rejected == 1
    assert not RiskRow.objects.exists()
    # The report still says what to fix.
    assert errors_of(job) == [(3, "Original Currency", "Not an ISO 4217 currency code")]


@pytest.mark.django_db
def test_an_all_or_nothing_profile_counts_a_duplicate_key_as_a_rejected_row(source):
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1), risk(1)]))
    assert job.status == ImportJob.Status.FAILED
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_an_all_or_nothing_profile_loads_a_clean_file(source):
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1), risk(2)]))
    assert job.status == ImportJob.Status.SUCCEEDED
    assert RiskRow.objects.count() == 2


# --- profile overrides ----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_explicit_delimiter_is_used_instead_of_detecting_one(source):
    content = as_csv([risk(1), risk(2)], delimiter=";")
    profile_save(actor=None, source=source, kind="risk", delimiter=",")
    wrong = import_file(source, content)
    assert wrong.status == ImportJob.Status.FAILED
    assert not RiskRow.objects.exists()

    profile_save(actor=None, source=source, kind="risk", delimiter=";")
    right = import_file(source, content + b"\r\n")  # other bytes: not the same file again
    assert right.status == ImportJob.Status.SUCCEEDED, right.error
    assert right.layout["delimiter"] == ";"
    assert RiskRow.objects.count() == 2


@pytest.mark.django_db
def test_an_explicit_date_format_reads_ambiguous_dates_month_first(source):
    profile_save(actor=None, source=source, kind="risk", date_format="%m/%d/%Y")
    job = import_file(source, as_csv([risk(1, inception="03/04/2026", expiry="03/03/2027")]))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    row = RiskRow.objects.get()
    assert (row.inception_date, row.expiry_date) == (date(2026, 3, 4), date(2027, 3, 3))


@pytest.mark.django_db
def test_an_explicit_date_format_rejects_dates_in_another_format(source):
    profile_save(actor=None, source=source, kind="risk", date_format="%d.%m.%Y")
    job = import_file(source, as_csv([risk(1, inception="01.10.2026", expiry="30.09.2027"), risk(2)]))
    assert errors_of(job) == [
        (3, "Risk Inception Date", "Not a date in the format dd.mm.yyyy"),
        (3, "Risk Expiry Date", "Not a date in the format dd.mm.yyyy"),
    ]


@pytest.mark.django_db
def test_an_explicit_comma_decimal_style_reads_dots_as_thousands(source):
    row = risk(1, sum="1.000.000", gross="1.000", taxes="50", net="750")
    auto = import_file(source, as_csv([row]))
    assert auto.rows_loaded == 0, "auto-detection cannot tell that 1.000 means a thousand"

    other = source_create(actor=None, name="Comma cedant")
    profile_save(actor=None, source=other, kind="risk", decimal_style="comma")
    job = import_file(other, as_csv([row]))
    assert job.status == ImportJob.Status.SUCCEEDED and errors_of(job) == []
    stored = RiskRow.objects.get(source=other)
    assert (stored.sum_insured, stored.gross_premium) == (Decimal("1000000.00"), Decimal("1000.00"))


@pytest.mark.django_db
def test_an_explicit_header_row_is_used_and_rows_keep_their_line_numbers(source):
    before = "Andes MGA,,\r\nUMR,Certificate Ref,Insured\r\n"  # line 2 looks like a (short) header
    content = as_csv([risk(1), risk(2, gross="x")], before=before)
    profile_save(actor=None, source=source, kind="risk", header_row=3)
    job = import_file(source, content)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.layout["header_row"] == 3
    assert errors_of(job) == [(5, "Gross Premium", "Not a number")]
    assert list(RiskRow.objects.values_list("row_number", flat=True)) == [4]


@pytest.mark.django_db
def test_a_header_row_past_the_end_of_the_file_fails_with_a_message(source):
    profile_save(actor=None, source=source, kind="risk", header_row=40)
    job = import_file(source, as_csv([risk(1)]))
    assert job.status == ImportJob.Status.FAILED
    assert "line 40" in job.error
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_a_column_map_maps_an_unusual_header_to_a_field(source):
    headers = list(RISK_COLUMNS.values())
    headers[headers.index("Gross Premium")] = "Prima Bruta Emitida (COP)"
    headers[headers.index("Risk Inception Date")] = "Desde"
    content = as_csv([risk(1), risk(2, gross="mil")], headers=headers)

    unmapped = import_file(source, content)
    assert unmapped.status == ImportJob.Status.FAILED
    assert "Risk Inception Date" in unmapped.error and "Gross Premium" in unmapped.error

    other = source_create(actor=None, name="Mapped cedant")
    profile_save(
        actor=None,
        source=other,
        kind="risk",
        column_map={"gross_premium": "Prima Bruta Emitida (COP)", "inception_date": "Desde"},
    )
    job = import_file(other, content)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert RiskRow.objects.get(source=other).gross_premium == Decimal("1000.00")
    errors = errors_of(job)
    assert len(errors) == 1, errors
    [(row_number, column, message)] = errors
    assert (row_number, message) == (3, "Not a number")
    assert "Prima Bruta Emitida (COP)" in column, "the error names the column as the person's file heads it"


# --- idempotency ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_file_twice_is_refused_by_its_hash_naming_the_earlier_job(source):
    content = as_csv([risk(1), risk(2)])
    first = import_file(source, content)
    assert first.status == ImportJob.Status.SUCCEEDED
    with pytest.raises(ValidationError) as refusal:
        upload(source, content, name="renamed copy.csv")
    assert f"job #{first.pk}" in " ".join(refusal.value.messages)
    assert ImportJob.objects.count() == 1
    assert RiskRow.objects.count() == 2


@pytest.mark.django_db
def test_the_same_file_is_refused_while_its_first_upload_is_still_queued(source):
    content = as_csv([risk(1)])
    first = upload(source, content)
    with pytest.raises(ValidationError) as refusal:
        upload(source, content)
    assert f"job #{first.pk}" in " ".join(refusal.value.messages)


@pytest.mark.django_db
def test_the_same_file_is_refused_while_its_first_upload_waits_for_a_column_mapping(source):
    headers = list(RISK_COLUMNS.values())
    headers[headers.index("Net Premium")] = "Prima Neta Final"
    content = as_csv([risk(1)], headers=headers)
    first = import_job_create(
        actor=None,
        source=source,
        kind="risk",
        period=PERIOD,
        upload=SimpleUploadedFile("x.csv", content),
        original_name="x.csv",
        enqueue=True,  # looks at the layout now: the file needs a mapping
    )
    first.refresh_from_db()
    assert first.status == ImportJob.Status.MAPPING
    with pytest.raises(ValidationError) as refusal:
        upload(source, content)
    assert f"job #{first.pk}" in " ".join(refusal.value.messages)
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
def test_a_file_whose_import_failed_may_be_uploaded_again(source):
    content = as_csv([risk(1)])
    profile_save(actor=None, source=source, kind="risk", delimiter=";")
    assert import_file(source, content).status == ImportJob.Status.FAILED
    profile_save(actor=None, source=source, kind="risk", delimiter="auto")
    assert import_file(source, content).status == ImportJob.Status.SUCCEEDED


@pytest.mark.django_db
def test_the_same_file_for_another_source_is_imported_for_that_source(source):
    content = as_csv([risk(1)])
    import_file(source, content)
    other = source_create(actor=None, name="Other cedant")
    assert import_file(other, content).status == ImportJob.Status.SUCCEEDED
    assert RiskRow.objects.count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_job_for_the_same_file(source):
    """The hash check in the service is backed by a partial unique constraint."""
    job = upload(source, as_csv([risk(1)]))
    duplicate = ImportJob(
        source=source, kind="risk", period=PERIOD, stored_name="another.csv", original_name="x.csv", sha256=job.sha256
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    # A failed job does not hold the file: the same hash may be queued again.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
    duplicate.save()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_uploads_of_the_same_file_at_the_same_moment_queue_it_only_once():
    source = source_create(actor=None, name="Racing cedant")
    content = as_csv([risk(1)])
    first_inserted, second_started = threading.Event(), threading.Event()
    results = {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = upload(source, content)
                first_inserted.set()
                second_started.wait(10)
                time.sleep(0.5)  # the second upload has checked for the hash and waits on the index
        except Exception as exc:
            results["first"] = exc
        finally:
            first_inserted.set()
            connection.close()

    def second():
        first_inserted.wait(10)
        second_started.set()
        try:
            results["second"] = upload(source, content)
        except Exception as exc:
            results["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(results["first"], ImportJob), results["first"]
    assert isinstance(results["second"], ValidationError), results["second"]
    assert "already" in " ".join(results["second"].messages)
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
def test_a_corrected_resubmission_updates_the_rows_by_natural_key_instead_of_duplicating(source):
    first = import_file(source, as_csv([risk(1), risk(2), risk(3)]))
    corrected = import_file(
        source,
        as_csv([risk(1), risk(2, insured="Corrected SAS", gross="2000.00", taxes="100.00", net="1500.00"), risk(3)]),
    )
    assert corrected.status == ImportJob.Status.SUCCEEDED
    assert (corrected.rows_loaded, corrected.rows_rejected) == (3, 0)
    assert RiskRow.objects.count() == 3
    row = RiskRow.objects.get(certificate_ref="CERT-0002")
    assert (row.insured_name, row.gross_premium, row.net_premium) == (
        "Corrected SAS",
        Decimal("2000.00"),
        Decimal("1500.00"),
    )
    assert row.job_id == corrected.pk
    assert set(RiskRow.objects.values_list("job_id", flat=True)) == {corrected.pk}
    assert first.pk != corrected.pk


@pytest.mark.django_db
def test_a_corrected_claims_resubmission_updates_the_claims_by_reference(source):
    import_file(source, as_csv([claim(1), claim(2)], columns=CLAIM_COLUMNS), kind="claims")
    import_file(source, as_csv([claim(1, status="Closed"), claim(2)], columns=CLAIM_COLUMNS) + b"\r\n", kind="claims")
    assert ClaimRow.objects.count() == 2
    assert ClaimRow.objects.get(claim_reference="CLM-0001").claim_status == "Closed"


@pytest.mark.django_db
def test_the_same_keys_in_another_period_are_separate_rows(source):
    import_file(source, as_csv([risk(1), risk(2)]), period=date(2026, 10, 1))
    november = import_file(source, as_csv([risk(1, gross="1100.00", net="830.00"), risk(2)]), period=date(2026, 11, 1))
    assert november.status == ImportJob.Status.SUCCEEDED
    assert RiskRow.objects.count() == 4
    assert RiskRow.objects.filter(period=date(2026, 10, 1)).count() == 2
    assert RiskRow.objects.get(period=date(2026, 10, 1), certificate_ref="CERT-0001").gross_premium == Decimal(
        "1000.00"
    )
    assert RiskRow.objects.get(period=date(2026, 11, 1), certificate_ref="CERT-0001").gross_premium == Decimal(
        "1100.00"
    )


# --- cancel and retry -----------------------------------------------------------------------


@pytest.mark.django_db
def test_cancelling_a_queued_job_ends_it_cancelled_with_nothing_written(source, admin_user):
    job = upload(source, as_csv([risk(1), risk(2)]), actor=admin_user)
    import_job_cancel(job=job, actor=admin_user)
    assert import_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert job.finished_at is not None
    assert not RiskRow.objects.exists() and not job.row_errors.exists()
    assert AuditEvent.objects.filter(action="ingestion.import_cancel_requested", target_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_cancelling_a_running_job_stops_it_before_anything_is_written(source, admin_user, monkeypatch):
    job = upload(source, as_csv([risk(1), risk(2), risk(3)]), actor=admin_user)
    open_rows = pipeline.open_rows

    class CancelledWhileReading:
        """The file's rows, with the user pressing Cancel once the first one has been read."""

        def __init__(self, rows):
            self.rows = rows

        def __getattr__(self, name):
            return getattr(self.rows, name)

        def __iter__(self):
            for number, cells in enumerate(self.rows):
                yield cells
                if number == 0:
                    import_job_cancel(job=job, actor=admin_user)

    monkeypatch.setattr(
        pipeline, "open_rows", lambda *args, **kwargs: CancelledWhileReading(open_rows(*args, **kwargs))
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert not RiskRow.objects.exists() and not job.row_errors.exists()
    assert AuditEvent.objects.filter(action="ingestion.import_cancelled", target_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_a_finished_job_cannot_be_cancelled(source):
    job = import_file(source, as_csv([risk(1)]))
    with pytest.raises(ValidationError):
        import_job_cancel(job=job, actor=None)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED


@pytest.mark.django_db
def test_a_failed_job_runs_again_after_the_profile_is_fixed(source, admin_user):
    headers = list(RISK_COLUMNS.values())
    headers[headers.index("Net Premium")] = "Prima Neta Final"
    job = import_file(source, as_csv([risk(1), risk(2, currency="XYZ")], headers=headers), actor=admin_user)
    assert job.status == ImportJob.Status.FAILED and "Net Premium" in job.error

    profile_save(actor=admin_user, source=source, kind="risk", column_map={"net_premium": "Prima Neta Final"})
    import_job_retry(job=job, actor=admin_user)
    job.refresh_from_db()
    assert (job.status, job.error, job.progress) == (ImportJob.Status.QUEUED, "", 0)
    job = run_import(job)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert (job.rows_loaded, job.rows_rejected) == (1, 1)
    assert errors_of(job) == [(3, "Original Currency", "Not an ISO 4217 currency code")]
    assert AuditEvent.objects.filter(action="ingestion.import_retried", target_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_a_retried_job_does_not_keep_the_row_errors_of_its_earlier_run(source):
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    job = import_file(source, as_csv([risk(1), risk(2, currency="XYZ")]))
    assert job.status == ImportJob.Status.FAILED and job.row_errors.count() == 1
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=False)
    import_job_retry(job=job, actor=None)
    job = run_import(job)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.row_errors.count() == 1
    assert RiskRow.objects.count() == 1


@pytest.mark.django_db
def test_a_succeeded_job_cannot_be_retried(source):
    job = import_file(source, as_csv([risk(1)]))
    with pytest.raises(ValidationError):
        import_job_retry(job=job, actor=None)


@pytest.mark.django_db
def test_retrying_a_failed_job_whose_file_was_since_imported_again_is_refused_with_a_message(source):
    content = as_csv([risk(1)])
    profile_save(actor=None, source=source, kind="risk", delimiter=";")
    failed = import_file(source, content)
    assert failed.status == ImportJob.Status.FAILED
    profile_save(actor=None, source=source, kind="risk", delimiter="auto")
    again = import_file(source, content)
    assert again.status == ImportJob.Status.SUCCEEDED

    with pytest.raises(ValidationError) as refusal:
        import_job_retry(job=failed, actor=None)
    assert f"job #{again.pk}" in " ".join(refusal.value.messages)
    failed.refresh_from_db()
    assert failed.status == ImportJob.Status.FAILED
    assert RiskRow.objects.count() == 1


# --- audit ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_import_writes_queued_and_finished_audit_events_with_the_counts(source, admin_user):
    job = upload(source, as_csv([risk(1), risk(2, currency="XYZ")]), actor=admin_user)
    queued = AuditEvent.objects.get(action="ingestion.import_queued", target_id=str(job.pk))
    assert queued.actor == admin_user
    assert queued.target_type == "ingestion.importjob"
    assert queued.metadata["sha256"] == job.sha256 and queued.metadata["kind"] == "risk"
    run_import(job)
    finished = AuditEvent.objects.get(action="ingestion.import_finished", target_id=str(job.pk))
    assert finished.actor == admin_user
    assert finished.metadata["status"] == ImportJob.Status.SUCCEEDED
    assert (finished.metadata["rows_loaded"], finished.metadata["rows_rejected"]) == (1, 1)


@pytest.mark.django_db
def test_a_failed_import_writes_a_failed_audit_event_with_the_reason(source):
    job = import_file(source, b"no,header,here\r\n1,2,3\r\n")
    assert job.status == ImportJob.Status.FAILED
    event = AuditEvent.objects.get(action="ingestion.import_failed", target_id=str(job.pk))
    assert event.metadata["error"] == job.error


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_at_upload(source):
    with pytest.raises(ValidationError):
        upload(source, as_csv([risk(1)]), kind="policies")
    assert not ImportJob.objects.exists()
