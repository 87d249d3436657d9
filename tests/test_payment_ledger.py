"""The customer ledger: balances are sums of entries, entries never change (the model and, on
PostgreSQL, the database refuse it), each kind has its sign, and a statement's opening balance,
running balance and closing balance agree with the entries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import InternalError, ProgrammingError

from portal.payments.models import LedgerAccount, LedgerEntry
from portal.payments.selectors import account_statement, account_summary
from portal.payments.services import payment_receive
from portal.policies.services import policy_issue, quote_accept, quote_create

from .factories import ProductFactory


@pytest.fixture
def account(customer):
    return LedgerAccount.objects.create(customer=customer, currency="COP")


def post(account, kind, amount, day, **links):
    return LedgerEntry.objects.create(
        account=account, kind=kind, amount=Decimal(amount), currency="COP", posted_on=day, **links
    )


# --- append-only ---------------------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_through_the_model(account):
    entry = post(account, LedgerEntry.Kind.ADJUSTMENT, "10.00", date(2026, 1, 5))

    entry.amount = Decimal("99.00")
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("10.00")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement", ["UPDATE payments_ledgerentry SET amount = 1", "DELETE FROM payments_ledgerentry"]
)
def test_the_database_itself_refuses_to_change_or_delete_an_entry(account, statement):
    entry = post(account, LedgerEntry.Kind.ADJUSTMENT, "10.00", date(2026, 1, 5))

    with (
        pytest.raises((InternalError, ProgrammingError)) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert "append-only" in str(refused.value)
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        ("PREMIUM_DUE", "-1.00"),
        ("PAYMENT_RECEIVED", "1.00"),
        ("REFUND", "1.00"),
        ("CLAIM_PAYOUT", "1.00"),
        ("DISBURSEMENT", "-1.00"),
        ("ADJUSTMENT", "0.00"),
    ],
)
def test_an_entry_with_the_wrong_sign_for_its_kind_is_refused_by_the_database(account, kind, amount):
    with pytest.raises(IntegrityError), transaction.atomic():
        post(account, kind, amount, date(2026, 1, 5))

    assert not LedgerEntry.objects.exists()


def test_one_account_per_customer_and_currency(customer, account):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(customer=customer, currency="COP")

    assert LedgerAccount.objects.create(customer=customer, currency="USD").currency == "USD"


# --- statements -----------------------------------------------------------------------------------------------


def test_a_statement_opens_with_what_came_before_and_closes_with_every_entry_in_the_period(account):
    post(account, LedgerEntry.Kind.PREMIUM_DUE, "300.00", date(2026, 1, 10))
    post(account, LedgerEntry.Kind.ADJUSTMENT, "-50.00", date(2026, 1, 31))
    post(account, LedgerEntry.Kind.PREMIUM_DUE, "300.00", date(2026, 2, 1))
    post(account, LedgerEntry.Kind.ADJUSTMENT, "20.00", date(2026, 2, 14))
    post(account, LedgerEntry.Kind.ADJUSTMENT, "-120.00", date(2026, 2, 28))
    post(account, LedgerEntry.Kind.PREMIUM_DUE, "300.00", date(2026, 3, 1))

    statement = account_statement(account, date(2026, 2, 1), date(2026, 2, 28))

    assert statement.opening == Decimal("250.00")
    assert [line.balance for line in statement.lines] == [Decimal("550.00"), Decimal("570.00"), Decimal("450.00")]
    assert statement.closing == Decimal("450.00")
    assert (statement.debits, statement.credits) == (Decimal("320.00"), Decimal("120.00"))
    assert statement.opening + statement.debits - statement.credits == statement.closing
    assert [(line.debit, line.credit) for line in statement.lines] == [
        (Decimal("300.00"), None),
        (Decimal("20.00"), None),
        (None, Decimal("120.00")),
    ]


def test_consecutive_statements_chain_one_closing_into_the_next_opening(account):
    for day, amount in [(3, "100.00"), (15, "-40.00"), (28, "75.00")]:
        post(account, LedgerEntry.Kind.ADJUSTMENT, amount, date(2026, 4, day))
    post(account, LedgerEntry.Kind.ADJUSTMENT, "5.00", date(2026, 5, 2))

    april = account_statement(account, date(2026, 4, 1), date(2026, 4, 30))
    may = account_statement(account, date(2026, 5, 1), date(2026, 5, 31))

    assert april.closing == may.opening == Decimal("135.00")
    assert may.closing == Decimal("140.00")


def test_a_statement_of_an_empty_period_has_equal_opening_and_closing(account):
    post(account, LedgerEntry.Kind.ADJUSTMENT, "42.00", date(2026, 1, 1))

    statement = account_statement(account, date(2026, 6, 1), date(2026, 6, 30))

    assert list(statement.lines) == []
    assert statement.opening == statement.closing == Decimal("42.00")


def test_the_statement_describes_each_entry_from_what_it_links_to(agent, customer, finance_user):
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=ProductFactory(code="AUTO"),
        start_date=date.today(),
        sum_insured="100000000",
        coverage_codes=["RC", "PT"],
    )
    policy = policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
    payment = payment_receive(
        customer=customer, amount="1000", currency="COP", method="CASH", reference="RB-17", actor=finance_user
    )

    statement = account_statement(payment.account, date.today() - timedelta(days=1), date.today())

    assert [line.description for line in statement.lines] == [
        f"Instalment 1 of policy {policy.number}",
        "Payment received: Cash, reference RB-17",
    ]


def test_the_summary_splits_what_is_due_today_from_what_falls_due_later(account):
    from django.utils import timezone

    today = timezone.localdate()
    post(account, LedgerEntry.Kind.PREMIUM_DUE, "100.00", today - timedelta(days=3))
    post(account, LedgerEntry.Kind.PREMIUM_DUE, "100.00", today + timedelta(days=27))
    post(account, LedgerEntry.Kind.PAYMENT_RECEIVED, "-30.00", today)

    summary = account_summary(account, today=today)

    assert (summary.due_now, summary.scheduled, summary.balance) == (
        Decimal("70.00"),
        Decimal("100.00"),
        Decimal("170.00"),
    )
    assert summary.credit == Decimal("0.00")
