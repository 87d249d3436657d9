"""The demo payments: schedules for the demo book, some instalments paid on their dates, some overdue,
one policy lapsed, and running it again adds nothing."""

from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from portal.accounts.demo import seed_demo_users
from portal.payments.demo import seed_demo_payments
from portal.payments.models import Instalment, LedgerEntry, Payment
from portal.policies.demo import seed_demo_policies
from portal.policies.models import Policy


@pytest.fixture
def demo(db):
    seed_demo_users()
    seed_demo_policies()
    seed_demo_payments()


def test_the_demo_book_has_paid_overdue_and_future_instalments_and_a_lapsed_policy(demo):
    today = timezone.localdate()
    instalments = Instalment.objects.all()

    assert instalments.filter(status=Instalment.Status.PAID).exists()
    assert instalments.filter(status=Instalment.Status.OPEN, due_date__lt=today).exists()
    assert instalments.filter(status=Instalment.Status.OPEN, due_date__gt=today).exists()
    assert Policy.objects.filter(status=Policy.Status.LAPSED).count() == 1
    assert set(Policy.objects.values_list("payment_frequency", flat=True)) >= {"ANNUAL", "MONTHLY", "QUARTERLY"}
    assert Payment.objects.filter(received_on__lt=today).exists()


def test_every_demo_policy_is_scheduled_for_its_premium_less_what_its_versions_returned(demo):
    for policy in Policy.objects.select_related("current_version"):
        scheduled = Instalment.objects.filter(policy=policy).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        charged = sum(version.premium_change for version in policy.versions.all())
        refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, policy_version__policy=policy)
        returned_as_credit = -(refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0))
        if policy.status == Policy.Status.LAPSED:
            continue
        assert scheduled == charged + returned_as_credit, policy.number


def test_the_demo_payments_are_applied_exactly_to_what_they_paid(demo):
    assert not Instalment.objects.filter(amount_paid__gt=F("amount")).exists()
    allocated = sum(
        payment.allocations.aggregate(total=Sum("amount"))["total"] or Decimal(0) for payment in Payment.objects.all()
    )
    assert allocated == Instalment.objects.aggregate(total=Sum("amount_paid"))["total"]


def test_seeding_the_demo_payments_again_adds_nothing(demo):
    counts = (Payment.objects.count(), Instalment.objects.count(), LedgerEntry.objects.count())

    seed_demo_payments()

    assert (Payment.objects.count(), Instalment.objects.count(), LedgerEntry.objects.count()) == counts
