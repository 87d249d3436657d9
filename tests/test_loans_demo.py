"""Demo loans: one in every state, moved through the real services; seeding twice adds nothing."""

import pytest

from portal.accounts.demo import seed_demo_users
from portal.claims.demo import seed_demo_claims
from portal.loans.demo import seed_demo_loans
from portal.loans.models import AccountState, Loan, LoanTask, TaskKind
from portal.payments.demo import pay_out_claim
from portal.policies.demo import seed_demo_policies

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_loans(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path
    seed_demo_users()
    seed_demo_policies()
    seed_demo_claims(pay_out=pay_out_claim)
    seed_demo_loans()


def test_the_demo_has_a_loan_in_every_status_and_every_task_waiting(demo_loans):
    assert set(Loan.objects.values_list("status", flat=True)) == set(Loan.Status.values)
    waiting = set(Loan.objects.filter(status="IN_PROGRESS").values_list("current_task__kind", flat=True))
    assert waiting == set(TaskKind.values)
    assert set(Loan.objects.filter(status="COMPLETED").values_list("account_state", flat=True)) == set(
        AccountState.values
    )
    disbursed = Loan.objects.get(account_state=AccountState.ACTIVE)
    assert disbursed.instalments.count() == disbursed.tenure_months
    refused_check = LoanTask.objects.get(kind=TaskKind.CREDIT_CHECK, completed_at__isnull=True)
    assert refused_check.score < refused_check.loan.product.min_credit_score


def test_seeding_the_demo_loans_twice_adds_nothing(demo_loans):
    count = Loan.objects.count()
    seed_demo_loans()
    assert Loan.objects.count() == count
