"""The catalogue's reports read business dates and ids: a version recorded today for a date in the past
counts from its effective date (earned premium, loss ratio, production), ageing is as at its date,
namesakes stay apart, claim statuses add up to the claims filed, and bordereaux count rejections once
and show the groups a period lost. Each reconciles with independent SQL over the same data."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.accounts.models import Role
from portal.claims.models import Claim
from portal.claims.services import claim_approve, claim_close, claim_reject, claim_start_review
from portal.ingestion.models import ClaimTotal, ImportJob, RiskTotal, Source
from portal.payments.demo import pay_out_claim
from portal.payments.models import Payment
from portal.payments.services import payment_receive, payment_reverse
from portal.policies.services import policy_cancel, policy_endorse, policy_reinstate

from .factories import CustomerFactory, ProductFactory, UserFactory, file_claim, grant_approval_limit, issue_policy
from .helpers import report_column, report_rows, sql

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1
ISSUED = date(YEAR, 1, 10)
ENDORSED = date(YEAR, 3, 1)
SECOND_ISSUED = date(YEAR, 2, 1)
CANCELLED = date(YEAR, 6, 1)
BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_90_plus")


def earned_by_sql(until, effective_by):
    """{policy number: earned premium before `until`} over the versions effective by `effective_by`:
    each version earns its premium from its effective date until a later version takes over."""
    return dict(
        sql(
            """
            WITH v AS (
                SELECT policy_id, kind, premium, start_date, end_date, effective_date, premium_change,
                       MIN(effective_date) OVER (PARTITION BY policy_id ORDER BY number
                                                 ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS superseded
                FROM policies_policyversion WHERE effective_date <= %(effective_by)s
            ), earned AS (
                SELECT policy_id, SUM(premium_change) AS written, ROUND(SUM(CASE WHEN kind = 'CANCELLATION' THEN 0
                    ELSE premium * GREATEST(0, LEAST(COALESCE(superseded, end_date), %(until)s::date, end_date)
                                                - GREATEST(effective_date, start_date)) END)
                    / MIN(end_date - start_date), 2) AS pro_rata
                FROM v GROUP BY policy_id
            )
            SELECT p.number, GREATEST(0, LEAST(pro_rata, written)) FROM earned JOIN policies_policy p
            ON p.id = earned.policy_id
            """,
            {"until": until, "effective_by": effective_by},
        )
    )


@pytest.fixture
def backdated_book(agent, supervisor):
    """Policies issued, endorsed and cancelled for dates last year, all recorded today; a claim on a
    loss in the spring approved today."""
    endorsed = issue_policy(actor=agent, agent=agent, as_of=ISSUED)
    policy_endorse(
        policy=endorsed, actor=agent, effective_date=ENDORSED, reason="Más cobertura", sum_insured="150000000"
    )
    cancelled = issue_policy(actor=agent, agent=agent, as_of=SECOND_ISSUED, sum_insured="200000000")
    policy_cancel(policy=cancelled, actor=agent, effective_date=CANCELLED, reason="Vendió el carro", as_of=CANCELLED)
    claim = file_claim(policy=endorsed, actor=agent, loss_date=date(YEAR, 4, 10), claimed_amount="4000000")
    grant_approval_limit(supervisor, "50000000")
    claim = claim_start_review(claim=claim, actor=supervisor)
    claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount=Decimal("3000000"), note="ok")
    return {"endorsed": endorsed, "cancelled": cancelled}


def test_earned_premium_counts_versions_by_their_effective_date_not_when_they_were_recorded(
    backdated_book, finance_user
):
    as_of = date(YEAR, 11, 30)
    report, rows = report_rows("earned_premium", finance_user, as_of=as_of.isoformat())

    written_by_sql = dict(
        sql(
            "SELECT p.number, SUM(v.premium_change) FROM policies_policyversion v JOIN policies_policy p "
            "ON p.id = v.policy_id WHERE v.effective_date <= %s GROUP BY p.number",
            [as_of],
        )
    )
    assert (
        dict(zip(report_column(report, rows, "policy"), report_column(report, rows, "written"), strict=True))
        == written_by_sql
    )
    earned = dict(zip(report_column(report, rows, "policy"), report_column(report, rows, "earned"), strict=True))
    assert earned == earned_by_sql(as_of + timedelta(days=1), as_of)
    assert len(rows) == 2 and all(value > 0 for value in earned.values())
    for row in rows:
        assert (
            row[report.column_index("earned")] + row[report.column_index("unearned")]
            == row[report.column_index("written")]
        )


def test_earned_premium_leaves_out_versions_that_take_effect_after_the_date(backdated_book, finance_user):
    as_of = ENDORSED - timedelta(days=1)
    report, rows = report_rows("earned_premium", finance_user, as_of=as_of.isoformat())

    [[issued_premium]] = sql(
        "SELECT premium_change FROM policies_policyversion WHERE policy_id = %s AND number = 1",
        [backdated_book["endorsed"].pk],
    )
    written = dict(zip(report_column(report, rows, "policy"), report_column(report, rows, "written"), strict=True))
    assert written[backdated_book["endorsed"].number] == issued_premium
    assert written[backdated_book["cancelled"].number] > 0


def test_a_withdrawn_scheduled_cancellation_charges_nothing_back_before_the_date_it_was_set_for(agent, finance_user):
    policy = issue_policy(actor=agent, agent=agent, as_of=ISSUED)
    policy_cancel(
        policy=policy, actor=agent, effective_date=date(YEAR, 11, 1), reason="Vende el carro", as_of=date(YEAR, 4, 1)
    )
    policy_reinstate(policy=policy, actor=agent, reason="Ya no lo vende", as_of=date(YEAR, 5, 1))
    [[issued_premium, charged]] = sql(
        "SELECT SUM(premium_change) FILTER (WHERE number = 1), SUM(premium_change) FROM policies_policyversion"
    )

    for as_of in (date(YEAR, 6, 30), date(YEAR, 11, 30)):
        report, [row] = report_rows("earned_premium", finance_user, as_of=as_of.isoformat())
        assert row[report.column_index("written")] == issued_premium == charged
        assert row[report.column_index("earned")] == earned_by_sql(as_of + timedelta(days=1), as_of)[policy.number]


def test_an_endorsement_after_a_withdrawn_cancellation_counts_from_its_own_date(agent, finance_user):
    policy = issue_policy(actor=agent, agent=agent, as_of=ISSUED)
    policy_cancel(
        policy=policy, actor=agent, effective_date=date(YEAR, 11, 1), reason="Vende el carro", as_of=date(YEAR, 4, 1)
    )
    policy_reinstate(policy=policy, actor=agent, reason="Ya no lo vende", as_of=date(YEAR, 5, 1))
    policy_endorse(
        policy=policy, actor=agent, effective_date=date(YEAR, 6, 1), reason="Más cobertura", sum_insured="90000000"
    )
    [[issued_premium, endorsed]] = sql(
        "SELECT SUM(premium_change) FILTER (WHERE number = 1), SUM(premium_change) FILTER (WHERE kind = %s) "
        "FROM policies_policyversion",
        ["ENDORSEMENT"],
    )
    assert endorsed != 0

    report, [row] = report_rows("earned_premium", finance_user, as_of=date(YEAR, 7, 31).isoformat())
    assert row[report.column_index("written")] == issued_premium + endorsed
    report, [row] = report_rows("earned_premium", finance_user, as_of=date(YEAR, 5, 31).isoformat())
    assert row[report.column_index("written")] == issued_premium


def test_loss_ratio_earns_the_period_over_backdated_versions(backdated_book, finance_user):
    start, end = date(YEAR, 3, 1), date(YEAR, 5, 31)
    _report, rows = report_rows("loss_ratio", finance_user, **{"from": start.isoformat(), "to": end.isoformat()})

    through, before = earned_by_sql(end + timedelta(days=1), end), earned_by_sql(start, end)
    earned = sum((through[number] - before[number] for number in through), Decimal(0))
    report_earned = sum((row[2] for row in rows), Decimal(0))
    assert report_earned == earned > 0
    [incurred] = [row[3] for row in rows if row[3]]
    assert incurred == Decimal("3000000")
    for _product, _currency, product_earned, product_incurred, ratio in rows:
        assert ratio == (product_incurred / product_earned).quantize(Decimal("0.0001"))


def test_premium_production_books_each_version_in_its_effective_month_net_of_the_cancellation(
    backdated_book, finance_user
):
    report, rows = report_rows(
        "premium_production",
        finance_user,
        **{"from": date(YEAR, 1, 1).isoformat(), "to": date(YEAR, 12, 31).isoformat()},
    )

    by_sql = sql(
        "SELECT date_trunc('month', effective_date)::date, SUM(premium_change), "
        "COUNT(*) FILTER (WHERE kind = 'CANCELLATION') FROM policies_policyversion "
        "WHERE effective_date BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
        [date(YEAR, 1, 1), date(YEAR, 12, 31)],
    )
    months = report_column(report, rows, "month")
    assert months == [month for month, _written, _cancelled in by_sql]
    assert report_column(report, rows, "written_premium") == [written for _month, written, _cancelled in by_sql]
    assert report_column(report, rows, "cancellations") == [cancelled for _month, _written, cancelled in by_sql]
    assert months == [date(YEAR, 1, 1), date(YEAR, 2, 1), date(YEAR, 3, 1), date(YEAR, 6, 1)]
    assert rows[-1][report.column_index("written_premium")] < 0


def test_premium_production_keeps_namesake_agents_and_products_apart(team, finance_user):
    product, namesake_product = ProductFactory(name="Autos"), ProductFactory(name="Autos")
    for product_of_policy in (product, namesake_product):
        agent = UserFactory(role=Role.AGENT, team=team, full_name="Carlos Pérez")
        issue_policy(actor=agent, agent=agent, product=product_of_policy)
    report, rows = report_rows("premium_production", finance_user)

    groups = sql(
        "SELECT p.product_id, c.agent_id, SUM(v.premium_change) FROM policies_policyversion v "
        "JOIN policies_policy p ON p.id = v.policy_id JOIN customers_customer c ON c.id = p.customer_id "
        "GROUP BY 1, 2"
    )
    assert len(rows) == len(groups) == 2
    assert {(row[1], row[2]) for row in rows} == {("Autos", "Carlos Pérez")}
    assert sorted(report_column(report, rows, "written_premium")) == sorted(written for _p, _a, written in groups)


def ageing_by_sql(as_of):
    """{bucket: outstanding} of the instalments open on `as_of`, paid by then from payments received by
    then and not reversed by then, of policies whose cover had begun."""
    by_bucket = {}
    for due_date, outstanding in sql(
        """
        SELECT i.due_date, i.amount - COALESCE((
            SELECT SUM(a.amount) FROM payments_paymentallocation a JOIN payments_payment p ON p.id = a.payment_id
            WHERE a.instalment_id = i.id AND p.received_on <= %(as_of)s
              AND (p.status = 'CONFIRMED' OR p.reversed_at >= %(day_after)s)
              AND (a.created_at < %(day_after)s OR a.created_at <= p.created_at + interval '1 minute')), 0)
              AS outstanding
        FROM payments_instalment i JOIN policies_policyversion v ON v.id = i.policy_version_id
        WHERE v.start_date <= %(as_of)s
        """,
        {
            "as_of": as_of,
            "day_after": timezone.make_aware(timezone.datetime.combine(as_of, timezone.datetime.min.time()))
            + timedelta(days=1),
        },
    ):
        if outstanding <= 0:
            continue
        overdue = (as_of - due_date).days
        bucket = BUCKETS[
            0 if overdue <= 0 else 1 if overdue <= 30 else 2 if overdue <= 60 else 3 if overdue <= 90 else 4
        ]
        by_bucket[bucket] = by_bucket.get(bucket, Decimal(0)) + outstanding
    return by_bucket


def test_receivables_ageing_is_as_at_its_date(agent, finance_user):
    as_of = date(YEAR, 3, 31)
    paid_late = issue_policy(actor=agent, agent=agent, as_of=date(YEAR, 1, 5))
    payment_receive(
        customer=paid_late.customer,
        amount=paid_late.current_version.premium,
        currency="COP",
        method="CASH",
        reference="LATE-1",
        actor=agent,
        received_on=date(YEAR, 5, 2),
    )
    reversed_later = issue_policy(actor=agent, agent=agent, as_of=date(YEAR, 1, 20))
    payment = payment_receive(
        customer=reversed_later.customer,
        amount=Decimal("100000"),
        currency="COP",
        method="CASH",
        reference="REV-1",
        actor=agent,
        received_on=date(YEAR, 2, 1),
    )
    payment_reverse(payment=payment, actor=agent, reason="Cheque devuelto")
    issue_policy(actor=agent, agent=agent, as_of=date(YEAR, 4, 15))
    report, rows = report_rows("receivables_ageing", finance_user, as_of=as_of.isoformat())

    by_sql = ageing_by_sql(as_of)
    for bucket in BUCKETS:
        assert sum(report_column(report, rows, bucket), Decimal(0)) == by_sql.get(bucket, 0)
    for row in rows:
        assert sum(row[report.column_index(bucket)] for bucket in BUCKETS) == row[report.column_index("open_balance")]
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.REVERSED
    assert len(rows) == 2
    # Paid in May: still owed in March. Reversed today: paid in part in March.
    assert sum(report_column(report, rows, "open_balance"), Decimal(0)) == (
        paid_late.current_version.premium + reversed_later.current_version.premium - Decimal("100000")
    )


def test_credit_applied_to_an_instalment_after_the_date_is_not_paid_on_the_date(agent, finance_user):
    as_of = date(YEAR, 3, 31)
    policy = issue_policy(actor=agent, agent=agent, as_of=date(YEAR, 1, 5))
    credit = payment_receive(
        customer=policy.customer,
        amount=policy.current_version.premium,
        currency="COP",
        method="CASH",
        reference="CREDIT-1",
        actor=agent,
        received_on=date(YEAR, 2, 1),
    )
    # As when the money came in February and sat as credit until it was applied today.
    Payment.objects.filter(pk=credit.pk).update(created_at=timezone.make_aware(timezone.datetime(YEAR, 2, 1, 10, 0)))

    report, rows = report_rows("receivables_ageing", finance_user, as_of=as_of.isoformat())
    assert sum(report_column(report, rows, "open_balance"), Decimal(0)) == policy.current_version.premium
    assert sum(ageing_by_sql(as_of).values(), Decimal(0)) == policy.current_version.premium
    report, rows = report_rows("receivables_ageing", finance_user, as_of=timezone.localdate().isoformat())
    assert rows == []


def test_receivables_ageing_keeps_namesake_customers_apart_by_their_id_number(agent, finance_user):
    for id_number in ("52111222", "52333444"):
        customer = CustomerFactory(full_name="María García", id_number=id_number, agent=agent, created_by=agent)
        issue_policy(actor=agent, customer=customer)
    report, rows = report_rows("receivables_ageing", finance_user)

    assert sorted(report_column(report, rows, "customer")) == ["María García (52111222)", "María García (52333444)"]


def test_claim_statuses_add_up_to_the_claims_filed(agent, supervisor, reason, finance_user):
    grant_approval_limit(supervisor, "50000000")
    policy = issue_policy(actor=agent, agent=agent)
    rejected = claim_start_review(claim=file_claim(policy=policy, actor=agent), actor=supervisor)
    claim_close(claim=claim_reject(claim=rejected, actor=supervisor, reason=reason, note="No"), actor=supervisor)
    approved = claim_start_review(claim=file_claim(policy=policy, actor=agent), actor=supervisor)
    approved = claim_approve(claim=approved, actor=UserFactory(role=Role.ADMIN), amount=Decimal("1000000"), note="ok")
    pay_out_claim(approved, maker=finance_user, checker=UserFactory(role=Role.FINANCE))
    claim_close(claim=Claim.objects.get(pk=approved.pk), actor=supervisor)
    file_claim(policy=policy, actor=agent)
    report, rows = report_rows("claims", finance_user)

    [row] = rows
    values = {key: row[report.column_index(key)] for key in ("filed", "open", "approved", "rejected")}
    assert values == {"filed": 3, "open": 1, "approved": 1, "rejected": 1}
    [[closed_without_amount]] = sql(
        "SELECT COUNT(*) FROM claims_claim WHERE status = 'CLOSED' AND approved_amount IS NULL"
    )
    assert closed_without_amount == 1


def test_bordereaux_count_rejections_once_and_show_the_classes_a_period_dropped(finance_user):
    source = Source.objects.create(name="Seguros Andinos")
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    for period, class_of_business, premium in [
        (last_month, "Marine", "100.00"),
        (last_month, "Cargo", "40.00"),
        (this_month, "Marine", "250.00"),
        (this_month, "Fire", "70.00"),
    ]:
        RiskTotal.objects.create(
            source=source,
            period=period,
            currency="USD",
            rows=2,
            class_of_business=class_of_business,
            sum_insured=Decimal("1000"),
            gross_premium=Decimal(premium),
            net_premium=Decimal(premium),
        )
    ClaimTotal.objects.create(
        source=source,
        period=this_month,
        currency="USD",
        rows=1,
        claim_status="Open",
        total_incurred=Decimal("30.00"),
        paid=Decimal("0"),
        reserves=Decimal("30.00"),
    )
    all_rejected = Source.objects.create(name="Aseguradora del Llano")
    imports = ((source, "risk", 3), (source, "risk", 2), (source, "claims", 4), (all_rejected, "risk", 5))
    for file, (cedant, kind, rejected) in enumerate(imports):
        ImportJob.objects.create(
            source=cedant,
            kind=kind,
            period=this_month,
            stored_name=f"{file}.csv",
            original_name=f"{file}.csv",
            sha256=str(file),
            status=ImportJob.Status.SUCCEEDED,
            rows_rejected=rejected,
        )
    report, rows = report_rows("bordereaux", finance_user, **{"from": this_month.isoformat()})

    [[rejected_by_sql]] = sql("SELECT SUM(rows_rejected) FROM ingestion_importjob WHERE period = %s", [this_month])
    assert sum(report_column(report, rows, "rows_rejected")) == rejected_by_sql == 14
    assert [row[report.column_index("rows_rejected")] for row in rows if row[0] == "Seguros Andinos"] == [
        3 + 2,
        0,
        0,
        4,
    ]
    [blank] = [row for row in rows if row[0] == "Aseguradora del Llano"]
    assert blank[3:] == ("", "", 0, 5, 0, 0, 0)
    by_group = {(row[2], row[3]): row for row in rows}
    cargo = by_group[("Risk / premium", "Cargo")]
    assert (cargo[report.column_index("amount")], cargo[report.column_index("previous")]) == (0, Decimal("40.00"))
    assert cargo[report.column_index("difference")] == Decimal("-40.00")
    [[this_total, last_total]] = sql(
        "SELECT SUM(gross_premium) FILTER (WHERE period = %s), SUM(gross_premium) FILTER (WHERE period = %s) "
        "FROM ingestion_risktotal",
        [this_month, last_month],
    )
    risk_rows = [row for row in rows if row[2] == "Risk / premium"]
    assert sum(row[report.column_index("amount")] for row in risk_rows) == this_total
    assert sum(row[report.column_index("previous")] for row in risk_rows) == last_total
