"""The ledger in the Django admin: administrators can read every payments table; nobody can change
it there, because every change goes through the audited payments services."""

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.payments.models import Instalment, LedgerEntry
from portal.payments.services import payment_receive

from .factories import UserFactory, issue_policy

pytestmark = pytest.mark.django_db

MODELS = ["ledgeraccount", "instalment", "payment", "ledgerentry", "claimpayout", "receipt"]


@pytest.fixture
def paid_policy():
    policy = issue_policy()
    instalment = Instalment.objects.filter(policy=policy).order_by("sequence").first()
    payment_receive(
        customer=policy.customer,
        amount=instalment.amount,
        currency=instalment.currency,
        method="PSE",
        reference="ADMIN-TEST-1",
        actor=None,
    )
    return policy


@pytest.mark.parametrize("model", MODELS)
def test_admin_reads_every_payments_table_in_the_django_admin(admin_client, paid_policy, model):
    response = admin_client.get(reverse(f"admin:payments_{model}_changelist"))

    assert response.status_code == 200


def test_the_ledger_lists_the_policys_entries_in_the_django_admin(admin_client, paid_policy):
    response = admin_client.get(reverse("admin:payments_ledgerentry_changelist"))

    assert response.context["cl"].result_count == LedgerEntry.objects.count() > 0


@pytest.mark.parametrize("model", MODELS)
def test_nobody_adds_or_deletes_payments_records_in_the_django_admin(admin_client, paid_policy, model):
    assert admin_client.get(reverse(f"admin:payments_{model}_add")).status_code == 403


@pytest.mark.parametrize("role", [Role.FINANCE, Role.AGENT, Role.INTERVENTORIA])
def test_only_administrators_reach_the_payments_admin(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("admin:payments_payment_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
