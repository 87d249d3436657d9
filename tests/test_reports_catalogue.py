"""The catalogue's reports: each report's totals reconcile with independent SQL over the same data,
earned + unearned = written for every policy and ageing buckets add up to the open balance (property
tests), and each report runs only for its roles, on their scope, whatever the parameters say."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.accounts.models import Role
from portal.audit.services import audit_record
from portal.claims.services import claim_approve, claim_start_review
from portal.ingestion.models import ImportJob, RiskTotal, Source
from portal.payments.demo import pay_out_claim
from portal.payments.models import Instalment
from portal.payments.services import payment_receive
from portal.policies.prorata import endorsement_change, refund_on_cancellation
from portal.policies.services import policy_cancel, policy_endorse
from portal.reports import writers
from portal.reports.catalogue import REPORTS, parameters_clean
from portal.reports.services import report_run_request
from portal.reports.sources import _Version, policy_earnings

from .factories import UserFactory, file_claim, grant_approval_limit, issue_policy
from .helpers import report_column, report_rows, sql

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def total(report, rows, key):
    return sum((value for value in report_column(report, rows, key) if value is not None), Decimal(0))


@pytest.fixture
def world(agent, supervisor, finance_user):
    """A team's book (policies, an endorsement, a cancellation, a payment, a claim approved and paid)
    and an outsider's policy on another team."""
    first = issue_policy(actor=agent, agent=agent)
    second = issue_policy(actor=agent, agent=agent, sum_insured="200000000")
    policy_endorse(policy=first, actor=agent, effective_date=TODAY, reason="Más cobertura", sum_insured="150000000")
    policy_cancel(policy=second, actor=agent, effective_date=TODAY, reason="Vendió el carro")
    customer = first.customer
    payment_receive(
        customer=customer, amount=Decimal("1000000"), currency="COP", method="CASH", reference="R-1", actor=agent
    )
    claim = file_claim(policy=first, actor=agent, claimed_amount="4000000")
    grant_approval_limit(supervisor, "50000000")
    claim = claim_start_review(claim=claim, actor=supervisor)
    claim = claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount=Decimal("3000000"), note="ok")
    pay_out_claim(claim, maker=finance_user, checker=UserFactory(role=Role.FINANCE))
    outsider = UserFactory(role=Role.AGENT)
    outsiders_policy = issue_policy(actor=outsider, agent=outsider)
    return {"agent": agent, "first": first, "outsider": outsider, "outsiders_policy": outsiders_policy}


def test_earned_premium_reconciles_with_the_versions_and_adds_up_per_policy(world, finance_user):
    report, rows = report_rows("earned_premium", finance_user)
    for row in rows:
        assert row[5] + row[6] == row[4] and Decimal(0) <= row[5] <= row[4]
    [[written]] = sql("SELECT SUM(premium_change) FROM policies_policyversion")
    assert total(report, rows, "written") == written
    assert len(rows) == 3


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    premium=st.decimals(min_value=1, max_value=10**9, places=2),
    term_days=st.integers(min_value=1, max_value=800),
    endorsed_after=st.integers(min_value=0, max_value=800),
    endorsed_premium=st.decimals(min_value=0, max_value=10**9, places=2),
    cancelled_after=st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
    as_of_offset=st.integers(min_value=-30, max_value=900),
)
def test_earned_plus_unearned_is_written_for_any_policy(
    premium, term_days, endorsed_after, endorsed_premium, cancelled_after, as_of_offset
):
    start = date(2026, 1, 1)
    end = start + timedelta(days=term_days)
    versions = [_Version(1, "NEW_BUSINESS", start, start, end, premium, premium)]
    endorsed_on = min(start + timedelta(days=endorsed_after), end)
    change = endorsement_change(
        old_premium=premium, new_premium=endorsed_premium, start_date=start, end_date=end, effective_date=endorsed_on
    )
    versions.append(_Version(2, "ENDORSEMENT", endorsed_on, start, end, endorsed_premium, change))
    if cancelled_after is not None:
        cancelled_on = max(endorsed_on, min(start + timedelta(days=cancelled_after), end))
        refund = refund_on_cancellation(versions, effective_date=cancelled_on)
        versions.append(_Version(3, "CANCELLATION", cancelled_on, start, end, endorsed_premium, -refund))
    written, earned, unearned = policy_earnings(versions, until=start + timedelta(days=as_of_offset))
    assert earned + unearned == written
    assert earned >= 0 and (written < 0 or earned <= written)


def test_receivables_ageing_buckets_reconcile_with_the_open_instalments(world, finance_user):
    report, rows = report_rows("receivables_ageing", finance_user)
    buckets = ("current", "days_1_30", "days_31_60", "days_61_90", "days_90_plus")
    for row in rows:
        assert sum(row[report.column_index(name)] for name in buckets) == row[report.column_index("open_balance")]
    [[open_balance]] = sql(
        "SELECT SUM(amount - amount_paid) FROM payments_instalment WHERE status = 'OPEN' AND amount > amount_paid"
    )
    assert total(report, rows, "open_balance") == open_balance


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=st.lists(st.integers(min_value=-200, max_value=200), min_size=1, max_size=8))
def test_ageing_buckets_always_sum_to_the_open_balance(world, finance_user, offsets):
    instalments = list(Instalment.objects.filter(status=Instalment.Status.OPEN).order_by("pk"))
    for instalment, offset in zip(instalments, offsets * len(instalments), strict=False):
        Instalment.objects.filter(pk=instalment.pk).update(due_date=TODAY + timedelta(days=offset))
    report, rows = report_rows("receivables_ageing", finance_user)
    by_sql = {}
    for due_date, outstanding in sql(
        "SELECT due_date, amount - amount_paid FROM payments_instalment WHERE status = 'OPEN' AND amount > amount_paid"
    ):
        overdue = (TODAY - due_date).days
        bucket = (
            "current"
            if overdue <= 0
            else "days_1_30"
            if overdue <= 30
            else "days_31_60"
            if overdue <= 60
            else "days_61_90"
            if overdue <= 90
            else "days_90_plus"
        )
        by_sql[bucket] = by_sql.get(bucket, 0) + outstanding
    for bucket in ("current", "days_1_30", "days_31_60", "days_61_90", "days_90_plus"):
        assert total(report, rows, bucket) == by_sql.get(bucket, 0)
    assert total(report, rows, "open_balance") == sum(by_sql.values())


def test_collections_reconcile_with_the_confirmed_payments(world, finance_user):
    report, rows = report_rows("collections", finance_user)
    [[collected]] = sql("SELECT SUM(amount) FROM payments_payment WHERE direction = 'IN' AND status = 'CONFIRMED'")
    assert total(report, rows, "collected") == collected == Decimal("1000000")
    assert report_column(report, rows, "method") == ["Cash"]


def test_claims_incurred_paid_and_outstanding_reconcile(world, finance_user):
    report, rows = report_rows("claims", finance_user)
    [[incurred]] = sql("SELECT SUM(approved_amount) FROM claims_claim WHERE status IN ('APPROVED', 'PAID', 'CLOSED')")
    [[paid]] = sql("SELECT SUM(amount) FROM payments_claimpayout WHERE status = 'CONFIRMED'")
    assert total(report, rows, "incurred") == incurred == Decimal("3000000")
    assert total(report, rows, "paid") == paid
    assert total(report, rows, "outstanding") == incurred - paid
    assert sum(report_column(report, rows, "filed")) == 1


def test_loss_ratio_is_incurred_over_earned_per_product(world, finance_user):
    _report, rows = report_rows("loss_ratio", finance_user, **{"from": TODAY.replace(month=1, day=1).isoformat()})
    product = world["first"].product.name
    [row] = [row for row in rows if row[0] == product]
    earned, incurred, ratio = row[2], row[3], row[4]
    assert incurred == Decimal("3000000")
    assert ratio == (incurred / earned).quantize(Decimal("0.0001"))


def test_payouts_show_who_prepared_and_confirmed_them_and_no_difference_when_paid_in_full(world, finance_user):
    report, rows = report_rows("payouts", finance_user)
    [row] = rows
    assert row[report.column_index("prepared_by")] == finance_user.full_name
    assert row[report.column_index("confirmed_by")] and row[report.column_index("difference")] == 0


def test_bordereaux_give_each_period_with_its_rejections_and_the_change_from_the_previous_one(finance_user):
    source = Source.objects.create(name="Seguros Andinos")
    this_month = TODAY.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    for period, premium in [(last_month, "100.00"), (this_month, "250.00")]:
        RiskTotal.objects.create(
            source=source,
            period=period,
            currency="USD",
            rows=2,
            class_of_business="Marine",
            sum_insured=Decimal("1000"),
            gross_premium=Decimal(premium),
            net_premium=Decimal(premium),
        )
    ImportJob.objects.create(
        source=source,
        kind="risk",
        period=this_month,
        stored_name="x.csv",
        original_name="x.csv",
        sha256="a",
        status=ImportJob.Status.SUCCEEDED,
        rows_rejected=3,
    )
    report, rows = report_rows("bordereaux", finance_user, **{"from": this_month.isoformat()})
    [row] = rows
    assert row[report.column_index("amount")] == Decimal("250.00")
    assert row[report.column_index("previous")] == Decimal("100.00")
    assert row[report.column_index("difference")] == Decimal("150.00")
    assert row[report.column_index("rows_rejected")] == 3


def test_the_audit_extract_filters_by_actor_and_action_for_interventoria(auditor, finance_user):
    audit_record(actor=finance_user, action="payment.recorded")
    audit_record(actor=auditor, action="user.suspended")
    report, rows = report_rows("audit_extract", auditor, actor=finance_user.email_primary)
    assert report_column(report, rows, "action") == ["payment.recorded"]
    with pytest.raises(PermissionDenied):
        report_run_request(report_name="audit_extract", fmt="csv", parameters={}, actor=finance_user)


BOOK_REPORTS = ["premium_production", "earned_premium", "collections", "receivables_ageing", "claims", "loss_ratio"]


@pytest.mark.parametrize("name", BOOK_REPORTS)
def test_a_supervisors_report_covers_their_teams_book_only(world, supervisor, finance_user, name):
    report = REPORTS[name]
    _report, theirs = report_rows(name, supervisor)
    _report, everyones = report_rows(name, finance_user)
    outsider = world["outsider"].full_name
    names = {str(value) for row in theirs for value in row}
    assert outsider not in names
    if name in ("premium_production", "earned_premium"):
        assert outsider in {str(value) for row in everyones for value in row}
    assert report.roles >= {Role.SUPERVISOR}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.AGENT, {"premium_production", "collections", "receivables_ageing", "claims", "loans"}),
        (Role.SUPERVISOR, {*BOOK_REPORTS, "loans"}),
        (Role.FINANCE, {*BOOK_REPORTS, "loans", "payouts", "bordereaux"}),
        (Role.INTERVENTORIA, {*BOOK_REPORTS, "loans", "payouts", "bordereaux", "audit_extract"}),
        (Role.ADMIN, {*BOOK_REPORTS, "loans", "payouts", "bordereaux", "audit_extract"}),
        (Role.CLIENT, set()),
    ],
)
def test_each_role_runs_only_its_reports(role, allowed):
    assert {name for name, report in REPORTS.items() if role in report.roles} == allowed


@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_report_writes_every_tabular_format(world, admin_user, tmp_path, name, fmt):
    report, rows = report_rows(name, admin_user)
    count, _totals = writers.write(
        report, fmt, iter(rows), tmp_path / f"r.{fmt}", parameters={}, requested_by=admin_user
    )
    assert count == len(rows)


@pytest.mark.parametrize("name", ["earned_premium", "loss_ratio", "audit_extract"])
def test_reports_of_every_shape_write_a_pdf(world, admin_user, tmp_path, name):
    report, rows = report_rows(name, admin_user)
    count, _totals = writers.write(
        report, "pdf", iter(rows), tmp_path / "r.pdf", parameters={}, requested_by=admin_user
    )
    assert count == len(rows) and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_a_lone_end_of_an_earlier_year_ranges_from_the_first_day_of_that_year(finance_user):
    _values, stored = parameters_clean(
        REPORTS["premium_production"], {"to": "2025-06-01"}, user=finance_user, today=date(2026, 12, 7)
    )
    assert stored == {"from": "2025-01-01", "to": "2025-06-01"}


def test_a_lone_start_after_today_ranges_to_the_end_of_its_year(finance_user):
    _values, stored = parameters_clean(
        REPORTS["premium_production"], {"from": "2027-03-01"}, user=finance_user, today=date(2026, 12, 7)
    )
    assert stored == {"from": "2027-03-01", "to": "2027-12-31"}


def test_with_no_dates_a_report_covers_this_year_to_today(finance_user):
    _values, stored = parameters_clean(REPORTS["premium_production"], {}, user=finance_user, today=date(2026, 12, 7))
    assert stored == {"from": "2026-01-01", "to": "2026-12-07"}
