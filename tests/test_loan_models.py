"""PostgreSQL keeps the loan task rules itself: raw SQL that tries to open a second task on a loan, or
to leave `current_task` pointing at a finished task (or another loan's), is refused."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.loans.models import Loan, LoanProduct, LoanTask

from .factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def product():
    return LoanProduct.objects.create(
        code="PL",
        name="Préstamo sobre póliza",
        currency="COP",
        min_amount=Decimal("1000000"),
        max_amount=Decimal("50000000"),
        min_tenure_months=1,
        max_tenure_months=60,
        annual_rate_pct=Decimal("18"),
    )


def new_loan(product, number="PRE-1"):
    customer = CustomerFactory()
    return Loan.objects.create(
        number=number,
        product=product,
        customer=customer,
        currency="COP",
        principal=Decimal("5000000"),
        tenure_months=12,
        annual_rate_pct=Decimal("18"),
        fee_amount=Decimal("0"),
        instalment_amount=Decimal("458399.96"),
        applied_by=customer.agent,
    )


def started(loan, kind=LoanTask.Kind.KYC):
    task = LoanTask.objects.create(loan=loan, kind=kind)
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.IN_PROGRESS, current_task=task)
    return task


def checked_now(sql, params):
    """Run `sql` with the deferred checks made immediate, in a savepoint the refusal rolls back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


def test_a_second_open_task_on_one_loan_is_refused_by_the_partial_unique_index(product):
    loan = new_loan(product)
    started(loan)
    with pytest.raises(IntegrityError, match="loan_task_one_open_per_loan"):
        checked_now(
            "INSERT INTO loans_loantask (loan_id, kind, started_at, outcome, note, reasons, bureau_reference,"
            " check_error, payee_account) VALUES (%s, 'CREDIT_CHECK', now(), '', '', '[]', '', '', '')",
            [loan.pk],
        )


def test_finished_tasks_do_not_count_against_the_one_open_task(product):
    loan = new_loan(product)
    kyc = started(loan)
    with transaction.atomic():
        LoanTask.objects.filter(pk=kyc.pk).update(outcome="PASSED", completed_at=timezone.now())
        check = LoanTask.objects.create(loan=loan, kind=LoanTask.Kind.CREDIT_CHECK)
        Loan.objects.filter(pk=loan.pk).update(current_task=check)
    assert LoanTask.objects.filter(loan=loan, completed_at__isnull=True).count() == 1


def test_finishing_the_current_task_without_moving_the_pointer_is_refused(product):
    loan = new_loan(product)
    task = started(loan)
    with pytest.raises(IntegrityError, match="current_task must be an open task"):
        checked_now("UPDATE loans_loantask SET outcome = 'PASSED', completed_at = now() WHERE id = %s", [task.pk])
    task.refresh_from_db()
    assert task.completed_at is None


def test_pointing_a_loan_at_a_finished_task_is_refused(product):
    loan = new_loan(product)
    kyc = started(loan)
    with transaction.atomic():
        LoanTask.objects.filter(pk=kyc.pk).update(outcome="PASSED", completed_at=timezone.now())
        check = LoanTask.objects.create(loan=loan, kind=LoanTask.Kind.CREDIT_CHECK)
        Loan.objects.filter(pk=loan.pk).update(current_task=check)
    with pytest.raises(IntegrityError, match="current_task must be an open task"):
        checked_now("UPDATE loans_loan SET current_task_id = %s WHERE id = %s", [kyc.pk, loan.pk])


def test_pointing_a_loan_at_another_loans_open_task_is_refused(product):
    loan, other = new_loan(product), new_loan(product, number="PRE-2")
    started(loan)
    others_task = LoanTask.objects.create(loan=other, kind=LoanTask.Kind.KYC)
    with pytest.raises(IntegrityError, match="current_task must be an open task"):
        checked_now("UPDATE loans_loan SET current_task_id = %s WHERE id = %s", [others_task.pk, loan.pk])


def test_a_loan_in_progress_without_a_current_task_is_refused(product):
    loan = new_loan(product)
    with pytest.raises(IntegrityError, match="loan_current_task_while_in_progress"):
        checked_now("UPDATE loans_loan SET status = 'IN_PROGRESS' WHERE id = %s", [loan.pk])


def test_a_disbursed_loan_must_have_an_account_and_an_undisbursed_one_none(product):
    loan = new_loan(product)
    with pytest.raises(IntegrityError, match="loan_account_only_when_disbursed"):
        checked_now("UPDATE loans_loan SET account_state = 'ACTIVE' WHERE id = %s", [loan.pk])


def test_tenure_outside_one_to_360_months_is_refused_for_products(product):
    with pytest.raises(IntegrityError, match="loan_product_tenure_bounds"):
        checked_now("UPDATE loans_loanproduct SET max_tenure_months = 361 WHERE id = %s", [product.pk])
