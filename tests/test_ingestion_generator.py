"""`generate_bordereau` writes messy but honest bordereaux: whatever layout a file gets (column
names, order, title rows, delimiter, encoding, date and number styles), it is detected, and the
import loads exactly the rows the generator calls good and rejects exactly the ones it spoiled."""

import json
import re
import tracemalloc
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from portal.ingestion.detect import detect_layout
from portal.ingestion.fields import FIELDS, Kind
from portal.ingestion.models import ClaimRow, ImportJob, RiskRow, RowError
from portal.ingestion.samples.generator import CLAIM_REASONS, RISK_REASONS, generate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

ROWS = 200
MODELS = {Kind.RISK: RiskRow, Kind.CLAIMS: ClaimRow}

# What the error report says for each way the generator spoils a row (a pattern of the message).
MESSAGES = {
    "bad_date": "Not a date",
    "negative_amount": "Must not be negative",
    "not_a_number": "Not a number",
    "unknown_currency": "ISO 4217",
    "unknown_country": "ISO 3166",
    "wrong_net": "Should be gross - commission - taxes",
    "expiry_before_inception": "Must be after the inception date",
    "commission_over_100": "Must be between 0 and 100",
    "unknown_transaction_type": "Not one of",
    "missing_required": "Required",
    "duplicate_key": "Same key as row",
    "extra_cell": "more cells than the header|cells but the header has",
    "text_too_long": "Longer than",
    "future_loss_date": "Is in the future",
    "advised_before_loss": "Is before the date of loss",
    "unknown_status": "Not one of",
    "wrong_total_incurred": "Should be paid \\+ previously paid \\+ reserves",
}


def write(tmp_path, name, **options):
    options.setdefault("rows", ROWS)
    fmt = options.setdefault("fmt", "csv")
    return generate(tmp_path / f"{name}.{fmt}", **options)


def import_file(summary, source):
    out = StringIO()
    call_command(
        "import_bordereau",
        summary["path"],
        "--source",
        source,
        "--kind",
        summary["kind"],
        "--period",
        "2026-10",
        stdout=out,
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def assert_imported_as_announced(summary, result):
    assert result["status"] == ImportJob.Status.SUCCEEDED
    assert result["rows_total"] == summary["rows_total"]
    assert result["rows_loaded"] == summary["rows_good"]
    assert result["rows_rejected"] == summary["rows_bad"]
    job = ImportJob.objects.get(pk=result["job"])
    assert MODELS[summary["kind"]].objects.filter(job=job).count() == summary["rows_good"]
    rejected_rows = RowError.objects.filter(job=job).values("row_number").distinct().count()
    assert rejected_rows == summary["rows_bad"]
    duplicates = RowError.objects.filter(job=job, message__startswith="Same key as row").count()
    assert duplicates == summary["bad_reasons"].get("duplicate_key", 0)
    return job


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", [Kind.RISK, Kind.CLAIMS])
def test_an_import_loads_exactly_the_good_rows_and_rejects_exactly_the_spoiled_ones(tmp_path, kind, fmt, seed):
    summary = write(tmp_path, f"{kind}-{seed}", kind=kind, fmt=fmt, seed=seed, bad_rate=0.08)
    assert summary["rows_bad"] > 0

    result = import_file(summary, f"Cedant {kind} {fmt} {seed}")

    job = assert_imported_as_announced(summary, result)
    assert job.layout["header_row"] == summary["header_line"]
    assert set(job.layout["columns"]) == set(summary["fields"])


@pytest.mark.parametrize(
    "choices",
    [
        {"encoding": "cp1252", "delimiter": ";", "decimal_style": "comma", "thousands": True, "date_style": "dmy"},
        {"encoding": "cp1252", "delimiter": "\t", "decimal_style": "dot", "thousands": True, "date_style": "iso"},
        {"encoding": "utf-8-sig", "delimiter": ",", "decimal_style": "comma", "thousands": True, "date_style": "dmy"},
        {"encoding": "utf-8-sig", "delimiter": ";", "decimal_style": "dot", "thousands": False, "date_style": "iso"},
        {"encoding": "utf-8", "delimiter": ",", "decimal_style": "dot", "thousands": True, "date_style": "dmy"},
        {"encoding": "utf-8", "delimiter": "\t", "decimal_style": "comma", "thousands": False, "date_style": "dmy"},
    ],
    ids=lambda choices: "-".join(str(value) for value in choices.values()).replace("\t", "tab"),
)
@pytest.mark.parametrize("kind", [Kind.RISK, Kind.CLAIMS])
def test_every_csv_dialect_the_generator_writes_is_detected_and_loaded(tmp_path, kind, choices):
    choices = {**choices, "title_rows": 3, "title_gap": True, "blank_line_rate": 0.02}
    summary = write(tmp_path, "dialect", kind=kind, seed=7, bad_rate=0.05, choices=choices)
    raw = (tmp_path / "dialect.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (choices["encoding"] == "utf-8-sig")
    if choices["encoding"] == "cp1252":
        assert "ó".encode("cp1252") in raw  # Spanish accents, one byte each

    result = import_file(summary, f"Dialect {kind}")

    job = assert_imported_as_announced(summary, result)
    assert job.layout["delimiter"] == choices["delimiter"]
    assert job.layout["decimal_style"] == choices["decimal_style"]
    assert job.layout["encoding"] == choices["encoding"]
    assert job.layout["header_row"] == summary["header_line"] == 5  # three titles and a blank line


@pytest.mark.parametrize("kind", [Kind.RISK, Kind.CLAIMS])
def test_every_way_of_spoiling_a_row_is_rejected_with_its_own_message(tmp_path, kind):
    summary = write(tmp_path, "spoiled", kind=kind, seed=11, rows=600, bad_rate=0.4, choices={"omitted": []})
    expected = RISK_REASONS if kind == Kind.RISK else CLAIM_REASONS
    assert set(summary["bad_reasons"]) == set(expected)

    result = import_file(summary, f"Spoiled {kind}")

    job = assert_imported_as_announced(summary, result)
    messages = list(RowError.objects.filter(job=job).values_list("message", flat=True))
    for reason in summary["bad_reasons"]:
        assert any(re.search(MESSAGES[reason], message) for message in messages), reason


def test_a_whole_gross_premium_with_a_whole_commission_passes_the_net_check(tmp_path):
    # The generator writes such rows now and then (727.00 at 10 % leaves 654.30): the check must
    # not do integer arithmetic with them, as SQLite does on whole numbers (727 * 10 / 100 = 72).
    header = "UMR;Certificate Ref;Insured Name;Inception Date;Expiry Date;Country;Currency;Sum Insured;"
    header += "Gross Premium;Commission %;Total Taxes;Net Premium;Class of Business;Transaction Type"
    row = "B0750AND2026001;AMP-26-0000001;María Peña;01/12/2025;01/12/2026;CO;USD;170774,00;727,00;10;;654,30;"
    row += "Property;New"
    path = tmp_path / "whole.csv"
    path.write_text(f"{header}\r\n{row}\r\n", encoding="utf-8")
    summary = {"path": str(path), "kind": Kind.RISK}

    result = import_file(summary, "Whole numbers")

    assert list(RowError.objects.values_list("message", flat=True)) == []
    assert (result["rows_loaded"], result["rows_rejected"]) == (1, 0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", [Kind.RISK, Kind.CLAIMS])
def test_a_file_without_bad_rows_loads_every_row(tmp_path, kind, fmt):
    summary = write(tmp_path, "clean", kind=kind, fmt=fmt, seed=5)
    assert summary["rows_bad"] == 0

    result = import_file(summary, "Clean cedant")

    assert_imported_as_announced(summary, result)
    assert result["rows_loaded"] == ROWS


def test_importing_the_same_file_again_is_refused_and_loads_nothing(tmp_path):
    summary = write(tmp_path, "twice", seed=3, bad_rate=0.05)
    import_file(summary, "Twice")
    jobs, rows = ImportJob.objects.count(), RiskRow.objects.count()

    with pytest.raises(CommandError, match="already imported"):
        import_file(summary, "Twice")

    assert ImportJob.objects.count() == jobs
    assert RiskRow.objects.count() == rows


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_corrected_risk_file_updates_the_premiums_instead_of_adding_rows(tmp_path, fmt):
    first = write(tmp_path, "october", fmt=fmt, seed=4, bad_rate=0.05)
    corrected = write(tmp_path, "october-corrected", fmt=fmt, seed=4, bad_rate=0.05, revision=1)
    assert corrected["rows_good"] == first["rows_good"]
    first_job = import_file(first, "Corrected")["job"]
    keys = set(RiskRow.objects.values_list("umr", "certificate_ref", "transaction_type"))
    gross_before = RiskRow.objects.aggregate(total=Sum("gross_premium"))["total"]

    result = import_file(corrected, "Corrected")

    assert result["rows_loaded"] == corrected["rows_good"]
    assert RiskRow.objects.count() == first["rows_good"]
    assert set(RiskRow.objects.values_list("umr", "certificate_ref", "transaction_type")) == keys
    assert not RiskRow.objects.filter(job_id=first_job).exists()
    assert RiskRow.objects.aggregate(total=Sum("gross_premium"))["total"] > gross_before


def test_a_corrected_claims_file_updates_the_reserves_instead_of_adding_rows(tmp_path):
    first = write(tmp_path, "claims", kind=Kind.CLAIMS, seed=4, bad_rate=0.05)
    corrected = write(tmp_path, "claims-corrected", kind=Kind.CLAIMS, seed=4, bad_rate=0.05, revision=1)
    import_file(first, "Corrected claims")
    references = set(ClaimRow.objects.values_list("claim_reference", flat=True))
    incurred_before = ClaimRow.objects.aggregate(total=Sum("total_incurred"))["total"]

    result = import_file(corrected, "Corrected claims")

    assert result["rows_loaded"] == corrected["rows_good"]
    assert set(ClaimRow.objects.values_list("claim_reference", flat=True)) == references
    assert ClaimRow.objects.aggregate(total=Sum("total_incurred"))["total"] > incurred_before


@pytest.mark.parametrize("kind", [Kind.RISK, Kind.CLAIMS])
def test_every_column_name_the_generator_picks_is_recognised_without_a_profile(tmp_path, kind):
    for seed in range(25):
        summary = write(tmp_path, f"names-{seed}", kind=kind, seed=seed, rows=20)
        layout = detect_layout(summary["path"], kind)
        assert {name: layout.headers[position] for name, position in layout.columns.items()} == summary["fields"]
        required = {spec.name for spec in FIELDS[kind] if spec.required}
        assert required <= set(layout.columns)


def test_the_same_seed_writes_the_same_bytes_and_other_seeds_other_layouts(tmp_path):
    one = write(tmp_path, "one", seed=9, bad_rate=0.1)
    again = write(tmp_path, "again", seed=9, bad_rate=0.1)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "again.csv").read_bytes()
    assert {key: one[key] for key in ("columns", "rows_bad")} == {key: again[key] for key in ("columns", "rows_bad")}
    layouts = {
        (summary["encoding"], summary["delimiter"], summary["date_style"], summary["decimal_style"])
        for summary in (write(tmp_path, f"seed-{seed}", seed=seed, rows=5) for seed in range(30))
    }
    assert len(layouts) >= 10


def test_a_file_ends_with_a_totals_row_that_the_import_skips(tmp_path):
    summary = write(tmp_path, "totals", seed=2, choices={"totals_label": "Grand Total", "delimiter": ";"})
    last_line = (tmp_path / "totals.csv").read_bytes().decode(summary["encoding"]).rstrip().splitlines()[-1]
    assert last_line.startswith("Grand Total;")

    result = import_file(summary, "Totals")

    assert result["rows_total"] == ROWS


def test_the_command_prints_one_json_line_with_the_choices_and_the_expected_counts(tmp_path):
    out = StringIO()
    path = tmp_path / "command.xlsx"
    call_command("generate_bordereau", str(path), "--rows", "50", "--kind", "claims", "--seed", "8",
                 "--bad-rate", "0.1", stdout=out)  # fmt: skip

    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["format"] == "xlsx"
    assert summary["kind"] == "claims"
    assert summary["rows_total"] == 50
    assert summary["rows_good"] + summary["rows_bad"] == 50
    assert path.read_bytes().startswith(b"PK")


def test_the_command_refuses_a_bad_rate_outside_zero_to_one(tmp_path):
    with pytest.raises(CommandError, match="bad-rate"):
        call_command("generate_bordereau", str(tmp_path / "x.csv"), "--rows", "5", "--bad-rate", "1.5")


def peak_memory_generating(path, rows):
    tracemalloc.start()
    try:
        generate(path, rows=rows, seed=1, bad_rate=0.01)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_generating_ten_times_more_rows_takes_no_more_memory(tmp_path):
    small = peak_memory_generating(tmp_path / "small.csv", 500)
    large = peak_memory_generating(tmp_path / "large.csv", 5_000)

    # As Python strings 5,000 rows would take about 5 MB; they are written as they are made.
    assert (tmp_path / "large.csv").stat().st_size > 800_000
    assert large < small + 200_000
