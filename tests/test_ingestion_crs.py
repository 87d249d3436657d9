"""Bordereaux in the Lloyd's Coverholder Reporting Standards' (v5.2) own words: headers with their
abbreviation in brackets, the standard's transaction types with their signs, New/Renewal as a field
of its own, the movements of one certificate in one period, and `import_bordereau --map` /
`--accept-suggestions` for a file whose columns are not recognised. The corpus file
`crs_standard_words.csv` (test_ingestion_corpus.py) loads a whole bordereau of that shape."""

import io
import shlex
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.urls import reverse

from portal.accounts.demo import seed_demo_users
from portal.ingestion.demo import DEMO_CRS_SOURCE, DEMO_SOURCE, seed_demo_bordereaux
from portal.ingestion.detect import ABBREVIATION, EXACT, MAPPED, WITHOUT_NOTE, match_headers
from portal.ingestion.models import ClaimRow, ImportJob, MappingProfile, RiskRow, RiskTotal, Source
from portal.ingestion.samples.crs import generate_crs

from .factories import UserFactory
from .helpers import CLAIM_COLUMNS, PERIOD, RISK_COLUMNS, as_csv, errors_of, import_file
from .helpers import claim_values as claim
from .ingestion_rows import RISK_HEADER, risk_values

CORPUS = Path(__file__).parent / "ingestion_corpus"


pytestmark = pytest.mark.usefixtures("private_root")

# --- headers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "header", "field", "how"),
    [
        ("risk", "Unique Market Reference (UMR)", "umr", WITHOUT_NOTE),
        ("risk", "Gross Written Premium (GWP)", "gross_premium", WITHOUT_NOTE),
        ("risk", "Certificate Reference", "certificate_ref", EXACT),
        ("risk", "Policy / Certificate Ref", "certificate_ref", EXACT),
        ("risk", "Binding Authority Reference (UMR)", "umr", ABBREVIATION),
        ("risk", "Type of Business (New/Renewal)", "business_type", WITHOUT_NOTE),
        ("risk", "Transaction Type - Original Premium etc", "transaction_type", EXACT),
        ("risk", "Effective Date of Transaction", "transaction_date", EXACT),
        ("risk", "Total Taxes and Levies", "total_taxes", EXACT),
        ("risk", "Sum Insured Amount", "sum_insured", EXACT),
        ("claims", "Claim Reference / Number", "claim_reference", EXACT),
        ("claims", "Date of Loss (From)", "date_of_loss", EXACT),
        ("claims", "Date Claim First Advised/Date Claim Made", "date_first_advised", EXACT),
        ("claims", "Cause of Loss Code", "cause_of_loss", EXACT),
    ],
)
def test_a_header_matches_by_its_name_its_name_without_a_note_in_brackets_or_its_abbreviation(kind, header, field, how):
    columns, confidence, duplicates = match_headers(["Notes", header], kind)
    assert columns == {field: 1}
    assert confidence[field][1] == how
    assert duplicates == []


def test_each_way_of_matching_carries_its_confidence():
    _columns, confidence, _duplicates = match_headers(
        ["UMR", "Gross Written Premium (GWP)", "Binder (Certificate Ref)", "Premium Net"],
        "risk",
        {"net_premium": "Premium Net"},
    )
    assert confidence == {
        "umr": [1.0, EXACT],
        "gross_premium": [0.9, WITHOUT_NOTE],
        "certificate_ref": [0.8, ABBREVIATION],
        "net_premium": [1.0, MAPPED],
    }


def test_a_note_in_brackets_that_names_nothing_matches_nothing():
    columns, _confidence, _duplicates = match_headers(["Broker (London)", "(see note)"], "risk")
    assert columns == {}


def test_two_headers_for_one_field_still_ask_a_person():
    _columns, _confidence, duplicates = match_headers(["UMR", "Unique Market Reference (UMR)"], "risk")
    assert duplicates == [("umr", 0, 1)]


# --- the standard's transactions and their signs ---------------------------------------------------

CRS_COLUMNS = {
    **RISK_COLUMNS,
    "business": "Type of Business",
    "effective": "Effective Date of Transaction",
}


def crs(number, **changes):
    return risk_values(number, **{"business": "", "effective": "", **changes})


@pytest.mark.django_db
def test_an_ap_and_an_rp_of_one_certificate_in_one_month_are_both_kept(source):
    job = import_file(
        source,
        as_csv(
            [
                crs(1, txn="AP", gross="400.00", taxes="20.00", net="300.00"),
                crs(1, txn="RP", gross="200.00", taxes="10.00", net="150.00"),
            ],
            columns=CRS_COLUMNS,
        ),
    )
    assert errors_of(job) == []
    stored = dict(RiskRow.objects.filter(job=job).values_list("transaction_type", "gross_premium"))
    assert stored == {"Additional Premium": Decimal("400.00"), "Return Premium": Decimal("-200.00")}


@pytest.mark.django_db
def test_two_movements_of_one_type_are_told_apart_by_their_effective_dates_and_are_duplicates_without(source):
    rows = [
        crs(1, txn="AP", effective="01/11/2026", gross="400.00", taxes="20.00", net="300.00"),
        crs(1, txn="AP", effective="20/11/2026", gross="100.00", taxes="0.00", net="80.00"),
        crs(2, txn="AP", gross="400.00", taxes="20.00", net="300.00"),
        crs(2, txn="AP", gross="100.00", taxes="0.00", net="80.00"),
    ]
    job = import_file(source, as_csv(rows, columns=CRS_COLUMNS))
    assert [(row, message) for row, _column, message in errors_of(job)] == [(5, "Same key as row 4")]
    dates = RiskRow.objects.filter(job=job).order_by("row_number").values_list("transaction_date", flat=True)
    # Without an effective date a movement takes the risk's inception date.
    assert list(dates) == [date(2026, 11, 1), date(2026, 11, 20), date(2026, 10, 1)]


@pytest.mark.django_db
def test_a_corrected_file_updates_each_movement_by_its_key(source):
    first = as_csv(
        [crs(1, txn="OP", business="New"), crs(1, txn="RP", gross="200.00", taxes="10.00", net="150.00")],
        columns=CRS_COLUMNS,
    )
    import_file(source, first)
    corrected = as_csv(
        [
            crs(1, txn="OP", business="New", insured="Renamed SAS"),
            crs(1, txn="RP", gross="-100.00", taxes="-10.00", net="-70.00"),
        ],
        columns=CRS_COLUMNS,
    )
    job = import_file(source, corrected)
    assert job.status == ImportJob.Status.SUCCEEDED and errors_of(job) == []
    rows = RiskRow.objects.filter(source=source).order_by("row_number")
    assert [(row.transaction_type, row.insured_name, row.gross_premium) for row in rows] == [
        ("Original Premium", "Renamed SAS", Decimal("1000.00")),
        ("Return Premium", "Insured 1 SAS", Decimal("-100.00")),
    ]


@pytest.mark.django_db
def test_the_totals_by_class_and_currency_add_return_premiums_as_negative(source):
    job = import_file(
        source,
        as_csv(
            [
                crs(1, txn="OP"),
                crs(2, txn="RP", gross="200.00", taxes="10.00", net="150.00"),
                crs(3, txn="Return Premium", gross="-100.00", taxes="0.00", net="-80.00"),
            ],
            columns=CRS_COLUMNS,
        ),
    )
    assert errors_of(job) == []
    [total] = RiskTotal.objects.filter(source=source)
    assert (total.rows, total.gross_premium, total.net_premium, total.sum_insured) == (
        3,
        Decimal("700.00"),
        Decimal("520.00"),
        Decimal("3000000.00"),
    )
    assert RiskRow.objects.filter(source=source).aggregate(gross=Sum("gross_premium"))["gross"] == Decimal("700.00")


@pytest.mark.django_db
def test_only_premiums_of_return_rows_may_be_negative(source):
    job = import_file(
        source,
        as_csv(
            [
                crs(1, txn="AP", gross="-400.00", taxes="-20.00", net="-300.00"),
                crs(2, txn="RP", sum="-1000000.00", gross="-200.00", taxes="-10.00", net="-150.00"),
                crs(3, txn="Endorsement", gross="-200.00", taxes="-10.00", net="-150.00"),
            ],
            columns=CRS_COLUMNS,
        ),
    )
    assert errors_of(job) == [
        (2, "Gross Premium", "Must not be negative"),
        (2, "Total Taxes", "Must not be negative"),
        (2, "Net Premium", "Must not be negative"),
        (3, "Sum Insured", "Must not be negative"),
    ]
    # An earlier word with a negative premium is a return premium.
    assert list(RiskRow.objects.filter(job=job).values_list("transaction_type", "net_premium")) == [
        ("Return Premium", Decimal("-150.00"))
    ]


@pytest.mark.django_db
def test_the_net_premium_rule_holds_a_return_premium_to_its_own_sign(source):
    job = import_file(
        source,
        as_csv([crs(1, txn="RP", gross="-200.00", taxes="-10.00", net="-170.00")], columns=CRS_COLUMNS),
    )
    assert errors_of(job) == [(2, "Net Premium", "Should be gross - commission - taxes = -150.00")]


@pytest.mark.django_db
def test_the_type_of_business_is_its_own_field_and_the_earlier_words_still_give_it(source):
    job = import_file(
        source,
        as_csv(
            [
                crs(1, txn="Original Premium", business="Renovación"),
                crs(2, txn="New"),
                crs(3, txn="OP", business="NB"),
                crs(4, txn="OP", business="Transfer"),
            ],
            columns=CRS_COLUMNS,
        ),
    )
    assert errors_of(job) == [(5, "Type of Business", "Not one of: New, Renewal")]
    stored = RiskRow.objects.filter(job=job).order_by("row_number").values_list("transaction_type", "business_type")
    assert list(stored) == [("Original Premium", "Renewal"), ("Original Premium", "New"), ("Original Premium", "New")]


# --- claims in the standard's words --------------------------------------------------------------


@pytest.mark.django_db
def test_claims_headers_and_statuses_as_senders_write_them_after_the_standard(source):
    headers = {
        **CLAIM_COLUMNS,
        "ref": "Claim Reference / Number",
        "umr": "Unique Market Reference (UMR)",
        "cert": "Policy / Certificate Ref",
        "loss": "Date of Loss (From)",
        "advised": "Date Claim First Advised/Date Claim Made",
    }
    statuses = {"Re-Opened": "Reopened", "Claim Denied": "Denied", "Abierto": "Open", "Closed - No Payment": "Closed"}
    rows = [claim(number, status=status) for number, status in enumerate(statuses, start=1)]
    job = import_file(source, as_csv(rows, columns=headers), kind="claims")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert errors_of(job) == []
    stored = ClaimRow.objects.filter(job=job).order_by("row_number").values_list("claim_status", flat=True)
    assert list(stored) == list(statuses.values())


# --- the job page --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_page_shows_how_each_column_was_recognised(client, source):
    job = import_file(source, (CORPUS / "crs_standard_words.csv").read_bytes(), name="crs.csv")
    client.force_login(UserFactory(role="ADMIN"))
    body = client.get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
    assert 'data-testid="column-matches"' in body
    assert "Unique Market Reference (UMR)" in body
    assert "without its note in brackets" in body
    assert "90%" in body


@pytest.mark.django_db
def test_the_rows_page_shows_return_premiums_negative_and_filters_by_transaction_type(client, auditor, source):
    import_file(source, (CORPUS / "crs_standard_words.csv").read_bytes(), name="crs.csv")
    client.force_login(auditor)
    page = client.get(reverse("ingestion:rows", args=["risk"]))
    body = page.content.decode()
    assert "-1,000.00" in body  # the Cancellation of line 11, a return premium
    gross = sum(line["gross_premium"] for line in page.context["totals"])
    assert gross == RiskRow.objects.filter(source=source).aggregate(gross=Sum("gross_premium"))["gross"]
    assert gross == Decimal("1400.00")

    returns = client.get(reverse("ingestion:rows", args=["risk"]), {"transaction_type": "Return Premium"})
    assert returns.context["totals"] is None  # totals are of whole bordereaux
    shown = {row.record.row_number for row in returns.context["table"].paginated_rows}
    assert shown == {5, 6, 10, 11, 12}


# --- import_bordereau --map and --accept-suggestions ------------------------------------------------


def unrecognised_umr_file(tmp_path, name="unrecognised.csv"):
    """A valid risk bordereau whose UMR column is headed in a way only a suggestion finds."""
    header = ["Unique Market Ref.", *RISK_HEADER[1:]]
    lines = [",".join(header), *(",".join(risk_values(number).values()) for number in (1, 2))]
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def run_command(path, *arguments, source="Crs cedant"):
    """(exit status, stdout, stderr) of import_bordereau."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import_bordereau",
            str(path),
            "--source",
            source,
            "--period",
            "2026-10",
            *arguments,
            stdout=stdout,
            stderr=stderr,
        )
    except SystemExit as exit_:
        return exit_.code, stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


@pytest.mark.django_db
def test_a_refused_file_prints_the_missing_fields_with_suggestions_and_the_command_that_accepts_them(tmp_path):
    path = unrecognised_umr_file(tmp_path)
    status, _stdout, said = run_command(path)
    assert status == 1
    assert "Missing required columns: UMR." in said
    assert "UMR (umr): suggested column 'Unique Market Ref.'" in said
    command = said.strip().splitlines()[-1].strip()
    assert command.endswith("--map 'umr=Unique Market Ref.'")
    # Nothing is kept: no source, job, profile or stored file.
    assert not Source.objects.exists() and not ImportJob.objects.exists() and not MappingProfile.objects.exists()

    arguments = shlex.split(command)
    assert arguments[:3] == ["python", "manage.py", "import_bordereau"]
    status, stdout, said = run_command(*arguments[3:4], *arguments[4:])
    assert status == 0, said
    assert '"rows_loaded": 2' in stdout
    profile = MappingProfile.objects.get(source__name="Crs cedant", kind="risk")
    assert profile.column_map["umr"] == "Unique Market Ref."


@pytest.mark.django_db
def test_accept_suggestions_maps_the_suggested_columns_and_saves_them_to_the_profile(tmp_path):
    status, stdout, said = run_command(unrecognised_umr_file(tmp_path), "--accept-suggestions")
    assert status == 0, said
    assert '"rows_loaded": 2' in stdout
    assert MappingProfile.objects.get(source__name="Crs cedant").column_map["umr"] == "Unique Market Ref."
    assert set(RiskRow.objects.values_list("umr", flat=True)) == {"B0999ABC2026"}


@pytest.mark.django_db
def test_a_mapped_column_is_remembered_for_the_sources_next_file(tmp_path):
    status, _stdout, said = run_command(unrecognised_umr_file(tmp_path), "--map", "umr=Unique Market Ref.")
    assert status == 0, said
    later = unrecognised_umr_file(tmp_path, "november.csv")
    later.write_text(later.read_text().replace("CERT-", "NOV-"))
    status, stdout, said = run_command(later)
    assert status == 0, said
    assert '"rows_loaded": 2' in stdout


@pytest.mark.django_db
def test_a_map_to_an_unknown_field_or_a_missing_column_is_refused_with_a_message(tmp_path):
    path = unrecognised_umr_file(tmp_path)
    with pytest.raises(CommandError, match="no field 'umrr'"):
        run_command(path, "--map", "umrr=Unique Market Ref.")
    with pytest.raises(CommandError, match="FIELD=HEADER"):
        run_command(path, "--map", "umr")
    status, _stdout, said = run_command(path, "--map", "umr=Binder")
    assert status == 1
    assert "Not a column of the file: Binder" in said
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_generated_bordereau_of_the_standards_shape_loads_exactly_its_good_rows(tmp_path):
    summary = generate_crs(tmp_path / "crs.csv", rows=3000, seed=7, bad_rate=0.02)
    status, stdout, said = run_command(tmp_path / "crs.csv")
    assert status == 0, said
    assert f'"rows_loaded": {summary["rows_good"]}' in stdout and summary["rows_bad"] > 20
    assert f'"rows_rejected": {summary["rows_bad"]}' in stdout
    by_type = dict(RiskRow.objects.values_list("transaction_type").annotate(gross=Sum("gross_premium")))
    assert set(by_type) == {"Original Premium", "Additional Premium", "Return Premium"}
    assert by_type["Return Premium"] < 0 < by_type["Additional Premium"]
    assert set(RiskRow.objects.values_list("business_type", flat=True)) == {"New", "Renewal", ""}


@pytest.mark.django_db
def test_the_demo_has_a_coverholder_whose_bordereau_speaks_the_standards_words():
    seed_demo_users()
    seed_demo_bordereaux()
    seed_demo_bordereaux()  # seeding twice adds nothing
    coverholder = Source.objects.get(name=DEMO_CRS_SOURCE)
    job = ImportJob.objects.get(source=coverholder)
    assert job.status == ImportJob.Status.SUCCEEDED and job.rows_loaded > 250 and job.rows_rejected > 0
    rows = RiskRow.objects.filter(source=coverholder)
    assert rows.filter(transaction_type="Return Premium", gross_premium__lt=0).exists()
    assert rows.filter(business_type="Renewal").exists()
    assert Source.objects.filter(name=DEMO_SOURCE).count() == 1


# --- the migration of stored rows ----------------------------------------------------------------

BEFORE = [("ingestion", "0005_bordereau_totals")]
AFTER = [("ingestion", "0006_crs_transaction_types_and_business_type")]


def migrated_to(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_stored_rows_to_the_standards_movements():
    try:
        apps = migrated_to(BEFORE)
        Source, Job = apps.get_model("ingestion", "Source"), apps.get_model("ingestion", "ImportJob")
        Row, Total = apps.get_model("ingestion", "RiskRow"), apps.get_model("ingestion", "RiskTotal")
        cedant = Source.objects.create(name="Cedant of old")
        job = Job.objects.create(
            source=cedant, kind="risk", period=PERIOD, stored_name="old.csv", original_name="old.csv", sha256="c" * 64
        )
        common = {
            "source": cedant,
            "period": PERIOD,
            "job": job,
            "umr": "B0999",
            "currency": "USD",
            "insured_name": "Insured",
            "inception_date": date(2026, 10, 1),
            "expiry_date": date(2027, 9, 30),
            "country": "CO",
            "sum_insured": Decimal("1000.00"),
            "gross_premium": Decimal("100.00"),
            "commission_pct": Decimal("20"),
            "total_taxes": Decimal("5.00"),
            "net_premium": Decimal("75.00"),
            "class_of_business": "Property",
        }
        words = ("New", "Renewal", "Endorsement", "Adjustment", "Cancellation")
        for number, word in enumerate(words, start=1):
            Row.objects.create(row_number=number, certificate_ref=f"C{number}", transaction_type=word, **common)
        # An Adjustment beside an Endorsement of the same certificate would share its key: it keeps its word.
        Row.objects.create(row_number=9, certificate_ref="C3", transaction_type="Adjustment", **common)
        Total.objects.create(
            source=cedant,
            period=PERIOD,
            currency="USD",
            class_of_business="Property",
            rows=6,
            sum_insured=Decimal("6000.00"),
            gross_premium=Decimal("600.00"),
            net_premium=Decimal("450.00"),
        )

        apps = migrated_to(AFTER)
        Row, Total = apps.get_model("ingestion", "RiskRow"), apps.get_model("ingestion", "RiskTotal")
        stored = {
            row.row_number: (row.transaction_type, row.business_type, row.transaction_date, row.gross_premium)
            for row in Row.objects.all()
        }
        inception = date(2026, 10, 1)
        assert stored == {
            1: ("Original Premium", "New", inception, Decimal("100.00")),
            2: ("Original Premium", "Renewal", inception, Decimal("100.00")),
            3: ("Additional Premium", "", inception, Decimal("100.00")),
            4: ("Additional Premium", "", inception, Decimal("100.00")),
            5: ("Return Premium", "", inception, Decimal("-100.00")),
            9: ("Adjustment", "", inception, Decimal("100.00")),
        }
        assert Row.objects.get(row_number=5).net_premium == Decimal("-75.00")
        [total] = Total.objects.all()
        assert (total.rows, total.gross_premium, total.net_premium) == (6, Decimal("400.00"), Decimal("300.00"))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
