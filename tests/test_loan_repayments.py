"""Repayments through the payments ledger, allocated oldest instalment first (fee, interest, principal),
over-payment kept as credit, a repaid loan closed; arrears aged daily and reminders sent once per
instalment and stage."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts.models import Role
from portal.core.exceptions import Conflict
from portal.loans import repayments, services
from portal.loans.models import AccountState, ArrearsBucket, LoanInstalment, LoanReminder
from portal.payments.models import LedgerEntry, Payment
from portal.payments.services.ledger import unallocated_payments

from .factories import UserFactory, apply_loan
from .helpers import approved, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(settings):
    loan = approved(apply_loan(amount="1000000", tenure_months=3), settings)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="B")
    services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    return fresh(loan)


@pytest.fixture
def cashier():
    return UserFactory(role=Role.FINANCE)


def pay(loan, amount, actor, reference="REC-1", **kwargs):
    return repayments.loan_repayment_record(
        loan=loan, amount=amount, method=Payment.Method.CASH, reference=reference, actor=actor, **kwargs
    )


def rows(loan):
    return list(LoanInstalment.objects.filter(loan=loan).order_by("sequence"))


def test_a_part_payment_pays_the_oldest_instalments_fee_then_interest_then_principal(loan, cashier):
    first = rows(loan)[0]
    assert first.fee == Decimal("10000.00") and first.interest == Decimal("15000.00")
    pay(loan, "20000", cashier)
    first = rows(loan)[0]
    assert (first.fee_paid, first.interest_paid, first.principal_paid) == (Decimal("10000"), Decimal("10000"), 0)
    assert first.status == "OPEN"


def test_a_larger_payment_settles_instalments_in_order_and_goes_on_to_the_next(loan, cashier):
    one, two, _three = rows(loan)
    pay(loan, one.amount + two.amount + Decimal("100"), cashier)
    one, two, three = rows(loan)
    assert (one.status, two.status, three.status) == ("PAID", "PAID", "OPEN")
    assert three.interest_paid == Decimal("100")


def test_paying_everything_and_more_closes_the_loan_and_keeps_the_rest_as_credit(loan, cashier):
    owed = sum(row.amount for row in rows(loan))
    repayment = pay(loan, owed + Decimal("5000"), cashier)
    loan = fresh(loan)
    assert loan.account_state == AccountState.CLOSED and loan.closed_at is not None
    assert loan.credit_balance == Decimal("5000") == repayment.credited
    entry = LedgerEntry.objects.get(payment=repayment.payment)
    assert (entry.kind, entry.amount) == ("PAYMENT_RECEIVED", -(owed + Decimal("5000")))
    with pytest.raises(Conflict):
        pay(loan, "1", cashier, reference="REC-2")


def test_a_loan_repayment_never_pays_premium_instalments(loan, cashier):
    repayment = pay(loan, "20000", cashier)
    assert repayment.payment not in unallocated_payments(repayment.payment.account)


def test_a_reference_recorded_already_a_bad_amount_and_a_read_only_role_are_refused(loan, cashier):
    pay(loan, "20000", cashier)
    with pytest.raises(ValidationError, match="recorded already"):
        pay(loan, "20000", cashier)
    with pytest.raises(ValidationError):
        pay(loan, "-5", cashier, reference="REC-3")
    with pytest.raises(PermissionDenied):
        pay(loan, "5", UserFactory(role=Role.INTERVENTORIA), reference="REC-4")
    assert Payment.objects.filter(direction="IN").count() == 1


def test_a_loan_not_disbursed_cannot_be_repaid(cashier):
    with pytest.raises(Conflict):
        pay(apply_loan(), "1000", cashier)


def test_arrears_are_aged_by_the_oldest_late_instalment(loan):
    first_due = rows(loan)[0].due_date
    assert repayments.loan_arrears_age(today=first_due) == 0
    assert fresh(loan).arrears_bucket == ArrearsBucket.CURRENT
    repayments.loan_arrears_age(today=first_due + timedelta(days=40))
    assert fresh(loan).arrears_bucket == ArrearsBucket.DAYS_31_60
    repayments.loan_arrears_age(today=first_due + timedelta(days=100))
    assert fresh(loan).arrears_bucket == ArrearsBucket.DAYS_90_PLUS


def test_paying_what_is_late_brings_the_loan_back_to_current(loan, cashier):
    first = rows(loan)[0]
    late_day = first.due_date + timedelta(days=10)
    repayments.loan_arrears_age(today=late_day)
    assert fresh(loan).arrears_bucket == ArrearsBucket.DAYS_1_30
    pay(loan, first.amount, cashier, as_of=late_day)
    assert fresh(loan).arrears_bucket == ArrearsBucket.CURRENT


def test_reminders_go_once_per_instalment_and_stage(loan, django_capture_on_commit_callbacks):
    first_due = rows(loan)[0].due_date
    with django_capture_on_commit_callbacks(execute=True):
        assert repayments.loan_reminders_send(today=first_due + timedelta(days=2)) == 1
        assert repayments.loan_reminders_send(today=first_due + timedelta(days=3)) == 0
        assert repayments.loan_reminders_send(today=first_due + timedelta(days=31)) == 1
    assert list(LoanReminder.objects.values_list("stage", flat=True)) == [1, 30]
    assert len(mail.outbox) == 2 and loan.number in mail.outbox[0].subject


def test_only_an_administrator_writes_off_a_running_loan_with_a_note(loan):
    with pytest.raises(PermissionDenied):
        repayments.loan_write_off(loan=loan, actor=UserFactory(role=Role.FINANCE), note="Incobrable")
    admin = UserFactory(role=Role.ADMIN)
    with pytest.raises(ValidationError):
        repayments.loan_write_off(loan=loan, actor=admin, note="")
    repayments.loan_write_off(loan=loan, actor=admin, note="Cliente ilocalizable")
    assert fresh(loan).account_state == AccountState.WRITTEN_OFF
    with pytest.raises(Conflict):
        repayments.loan_write_off(loan=loan, actor=admin, note="Otra vez")
