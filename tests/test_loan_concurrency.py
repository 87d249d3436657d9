"""Races on PostgreSQL with 20 real threads: starting a task, completing one, approving and confirming a
disbursement each leave exactly one winner, and every other thread is told the loan moved on (409)."""

import time

import pytest

from portal.accounts.models import Role
from portal.core.exceptions import Conflict
from portal.loans import services
from portal.loans.models import Loan, LoanTask, TaskKind
from portal.payments.models import Payment

from .factories import UserFactory, apply_loan
from .helpers import checked, fresh, kyc_done, pdf, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def one_winner(results, errors, started):
    settle = time.monotonic() - started
    assert len(results) == 1, errors
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, Conflict) for error in errors), [type(e) for e in errors]
    return settle


def test_twenty_people_starting_the_first_task_open_exactly_one():
    loan = apply_loan()
    agent = loan.customer.agent
    started = time.monotonic()
    results, errors = run_together(lambda _: services.loan_task_start(loan=loan, actor=agent), range(THREADS))
    one_winner(results, errors, started)
    assert LoanTask.objects.filter(loan=loan).count() == 1


def test_twenty_people_completing_the_kyc_complete_it_once_and_start_one_credit_check():
    loan = apply_loan()
    agent = loan.customer.agent
    task = services.loan_task_start(loan=loan, actor=agent)
    services.loan_document_add(loan=loan, upload=pdf(), actor=agent)
    started = time.monotonic()
    results, errors = run_together(
        lambda _: services.loan_task_complete(loan=loan, task=task, actor=agent, outcome="PASSED"), range(THREADS)
    )
    one_winner(results, errors, started)
    assert LoanTask.objects.filter(loan=loan, kind=TaskKind.CREDIT_CHECK).count() == 1
    assert fresh(loan).current_task.kind == TaskKind.CREDIT_CHECK


def test_twenty_administrators_approving_at_once_approve_once(settings):
    loan = apply_loan()
    kyc_done(loan, loan.customer.agent)
    checked(loan, settings)
    admins = [UserFactory(role=Role.ADMIN) for _ in range(THREADS)]
    started = time.monotonic()
    results, errors = run_together(lambda admin: services.loan_act(loan=loan, action="approve", actor=admin), admins)
    one_winner(results, errors, started)
    assert LoanTask.objects.filter(loan=loan, kind=TaskKind.DISBURSEMENT).count() == 1


def test_twenty_finance_users_confirming_one_transfer_pay_it_out_once(settings):
    loan = apply_loan()
    kyc_done(loan, loan.customer.agent)
    checked(loan, settings)
    services.loan_act(loan=loan, action="approve", actor=UserFactory(role=Role.ADMIN))
    services.loan_act(
        loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="Banco 1"
    )
    checkers = [UserFactory(role=Role.FINANCE) for _ in range(THREADS)]
    started = time.monotonic()
    results, errors = run_together(
        lambda user: services.loan_act(loan=loan, action="disbursement_confirm", actor=user), checkers
    )
    one_winner(results, errors, started)
    assert Payment.objects.filter(reference=loan.number, direction=Payment.Direction.OUT).count() == 1
    assert fresh(loan).status == Loan.Status.COMPLETED
