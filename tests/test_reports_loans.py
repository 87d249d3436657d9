"""The loans report: disbursed, repaid, outstanding and its arrears buckets per product and currency,
reconciled with independent SQL; each role sees its own scope; written as CSV, XLSX and PDF and run
from the shell by name."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.accounts.models import Role
from portal.loans import repayments
from portal.loans.models import Loan, LoanInstalment
from portal.payments.models import Payment
from portal.reports import writers
from portal.reports.catalogue import REPORTS, parameters_clean

from .factories import UserFactory, apply_loan
from .helpers import disbursed, fresh, sql

pytestmark = pytest.mark.django_db
REPORT = REPORTS["loans"]
SUMMED = ["active_loans", "disbursed_loans", "disbursed", "repaid", "outstanding"]
BUCKETS = {
    "CURRENT": "current",
    "1_30": "days_1_30",
    "31_60": "days_31_60",
    "61_90": "days_61_90",
    "90_PLUS": "days_90_plus",
}


def rows_for(user, **raw):
    values, _stored = parameters_clean(REPORT, raw, user=user)
    return list(REPORT.source(user, values).rows)


def summed(rows, key):
    index = REPORT.column_index(key)
    return sum((row[index] for row in rows), Decimal(0))


@pytest.fixture
def book(settings, agent):
    """Two of the team's loans and an outsider's, all disbursed and aged 40 days ahead; then one of the
    team's pays what is late and is current again, the other stays 31-60 days late."""
    paying = disbursed(apply_loan(agent=agent, amount="1000000", tenure_months=3), settings)
    late = disbursed(apply_loan(agent=agent, amount="2000000", tenure_months=6), settings)
    outsider = UserFactory(role=Role.AGENT)
    outsiders = disbursed(apply_loan(agent=outsider, amount="3000000", tenure_months=12), settings)
    first_due = LoanInstalment.objects.filter(loan=paying, sequence=1).get().due_date
    repayments.loan_arrears_age(today=first_due + timedelta(days=40))
    first = LoanInstalment.objects.get(loan=paying, sequence=1)
    repayments.loan_repayment_record(
        loan=fresh(paying),
        amount=first.amount,
        method=Payment.Method.CASH,
        reference="L-1",
        actor=UserFactory(role=Role.FINANCE),
    )
    return {"paying": fresh(paying), "late": fresh(late), "outsider": outsider, "outsiders": fresh(outsiders)}


def independent(loan_ids):
    """The report's figures for these loans, straight from the tables."""
    ids = list(loan_ids)
    ((disbursed_count, disbursed_amount),) = sql(
        "SELECT count(*), coalesce(sum(principal), 0) FROM loans_loan WHERE id = ANY(%s) AND disbursed_on IS NOT NULL",
        [ids],
    )
    ((repaid,),) = sql(
        "SELECT coalesce(sum(amount - credited), 0) FROM loans_loanrepayment WHERE loan_id = ANY(%s)", [ids]
    )
    owed = dict(
        sql(
            """SELECT l.arrears_bucket,
                      sum(i.principal + i.interest + i.fee - i.principal_paid - i.interest_paid - i.fee_paid)
               FROM loans_loaninstalment i JOIN loans_loan l ON l.id = i.loan_id
               WHERE l.id = ANY(%s) AND l.account_state = 'ACTIVE' GROUP BY l.arrears_bucket""",
            [ids],
        )
    )
    return {
        "disbursed_loans": disbursed_count,
        "disbursed": disbursed_amount,
        "repaid": repaid,
        "outstanding": sum(owed.values(), Decimal(0)),
        **{BUCKETS[bucket]: amount for bucket, amount in owed.items()},
    }


def figures(rows):
    return {key: summed(rows, key) for key in [*SUMMED[1:], *BUCKETS.values()]}


def test_the_loans_report_reconciles_with_the_loan_tables(book, finance_user):
    rows = rows_for(finance_user)
    expected = independent(Loan.objects.values_list("pk", flat=True))
    got = figures(rows)
    assert {key: got[key] for key in expected} == expected
    assert got["days_31_60"] > 0 and got["current"] > 0 and got["repaid"] > 0
    assert summed(rows, "active_loans") == 3
    for row in rows:
        index = REPORT.column_index
        assert row[index("outstanding")] == sum(row[index(bucket)] for bucket in BUCKETS.values())


def test_a_period_without_disbursements_or_repayments_shows_only_the_portfolio(book, finance_user):
    rows = rows_for(finance_user, **{"from": "2020-01-01", "to": "2020-12-31"})
    assert summed(rows, "disbursed") == 0 and summed(rows, "repaid") == 0
    assert summed(rows, "outstanding") == independent(Loan.objects.values_list("pk", flat=True))["outstanding"]


def test_supervisors_and_agents_see_their_books_and_finance_interventoria_and_admins_everything(
    book, supervisor, agent, auditor, admin_user, finance_user
):
    team = [book["paying"].pk, book["late"].pk]
    for user in (supervisor, agent):
        got = figures(rows_for(user))
        expected = independent(team)
        assert {key: got[key] for key in expected} == expected
    assert figures(rows_for(book["outsider"]))["disbursed"] == book["outsiders"].principal
    everything = figures(rows_for(finance_user))
    assert figures(rows_for(auditor)) == everything == figures(rows_for(admin_user))
    assert figures(rows_for(UserFactory(role=Role.AGENT))) == figures([])


def test_a_supervisor_cannot_widen_the_loans_report_by_naming_an_outsider(book, supervisor):
    with pytest.raises(ValidationError) as refused:
        parameters_clean(REPORT, {"agent": str(book["outsider"].pk)}, user=supervisor)
    assert "agent" in refused.value.error_dict


def test_the_loans_report_is_written_as_csv_xlsx_and_pdf_with_its_totals(book, finance_user, tmp_path):
    rows = rows_for(finance_user)
    outstanding = summed(rows, "outstanding")
    writers.write(REPORT, "csv", iter(rows), tmp_path / "l.csv", parameters={}, requested_by=finance_user)
    lines = list(csv.reader(io.StringIO((tmp_path / "l.csv").read_text("utf-8-sig"))))
    assert lines[0][:3] == ["Product", "Currency", "Running loans"] and len(lines) == len(rows) + 1
    writers.write(REPORT, "xlsx", iter(rows), tmp_path / "l.xlsx", parameters={}, requested_by=finance_user)
    sheet = load_workbook(tmp_path / "l.xlsx", read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))
    totals = [line for line in cells if line[0] == "Total"]
    assert [Decimal(str(line[REPORT.column_index("outstanding")])) for line in totals] == [outstanding]
    writers.write(
        REPORT, "pdf", iter(rows), tmp_path / "l.pdf", parameters={"from": "2026-01-01"}, requested_by=finance_user
    )
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "l.pdf").pages)
    assert "Loans" in text and "Outstanding" in text


def test_operators_run_the_loans_report_by_name(book, tmp_path, capsys):
    output = tmp_path / "loans.csv"
    call_command(
        "report_run", "loans", "--format", "csv", "--param", f"to={timezone.localdate()}", "--output", str(output)
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["rows"] == 1 and output.read_text("utf-8-sig").startswith("Product,Currency")
