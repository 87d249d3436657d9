"""What the core changes comes back: status changes it made are followed through the policy services
(audited as done by the core), statement lines are kept per customer and shown with their book, and
each page is stored together with its cursor."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.integrations.models import PullCursor, StatementLine
from portal.integrations.pulls import policy_changes_pull, statements_pull
from portal.integrations.selectors import core_statement_lines_visible_to
from portal.outbox.models import OutboxMessage
from portal.payments.models import Instalment
from portal.policies.models import Policy
from portal.policies.services import policy_issue, quote_accept, quote_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory


def monthly_policy():
    customer = CustomerFactory()
    quote = quote_create(
        actor=customer.agent,
        customer=customer,
        product=ProductFactory(),
        start_date=timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=["RC", "PT"],
        payment_frequency="MONTHLY",
    )
    return policy_issue(quote=quote_accept(quote=quote, actor=customer.agent), actor=customer.agent)


@pytest.fixture
def known_policies(db, core, drain):
    """Policies the core has acknowledged, paid monthly (so instalments are still due)."""

    def make(count=1):
        policies = [monthly_policy() for _ in range(count)]
        drain()
        return [Policy.objects.get(pk=policy.pk) for policy in policies]

    return make


def test_a_suspension_made_in_the_core_is_followed_and_audited_as_done_by_it(core, known_policies):
    (policy,) = known_policies()
    core.change_status(policy.number, "SUSPENDED")

    figures = policy_changes_pull()

    policy.refresh_from_db()
    assert policy.status == "SUSPENDED"
    assert figures["applied"] == 1
    event = AuditEvent.objects.get(action="policy.status_changed_by_core")
    assert (event.actor, event.actor_label, event.metadata["from"], event.metadata["to"]) == (
        None,
        "CASSE",
        "ACTIVE",
        "SUSPENDED",
    )
    # The change came from the core: nothing is sent back to it.
    assert not OutboxMessage.objects.filter(state="PENDING").exists()


def test_a_cancellation_made_in_the_core_ends_cover_and_cancels_the_instalments_due_later(core, known_policies):
    (policy,) = known_policies()
    core.change_status(policy.number, "CANCELLED")

    policy_changes_pull()

    policy.refresh_from_db()
    assert policy.status == "CANCELLED"
    later = Instalment.objects.filter(policy=policy, due_date__gt=policy.current_version.start_date)
    assert later.exists()
    assert set(later.values_list("status", flat=True)) == {"CANCELLED"}


def test_a_status_amparo_does_not_take_from_the_core_is_left_for_the_reconciliation(core, known_policies):
    (policy,) = known_policies()
    core.change_status(policy.number, "EXPIRED")

    figures = policy_changes_pull()

    policy.refresh_from_db()
    assert policy.status == "ACTIVE"
    assert figures["applied"] == 0
    assert not AuditEvent.objects.filter(action="policy.status_changed_by_core").exists()


def test_the_cursor_is_kept_with_each_page_so_a_failed_pull_resumes_after_the_last_page_kept(core, known_policies):
    policies = known_policies(5)
    core.page_size = 2
    for policy in policies:
        core.change_status(policy.number, "SUSPENDED")
    core.fail_next(1)  # the first page of changes fails

    assert policy_changes_pull()["pages"] == 0
    assert not Policy.objects.filter(status="SUSPENDED").exists()

    first = policy_changes_pull(max_pages=1)
    position = PullCursor.objects.get(feed="policies").position
    assert (first["pages"], first["applied"], position["cursor"]) == (1, 2, "2")
    rest = policy_changes_pull()

    assert rest["applied"] == 3
    assert Policy.objects.filter(status="SUSPENDED").count() == 5
    assert AuditEvent.objects.filter(action="policy.status_changed_by_core").count() == 5
    assert policy_changes_pull()["applied"] == 0


def test_statement_lines_are_kept_per_customer_once_however_often_they_are_pulled(core, known_policies):
    first, second = known_policies(2)
    customer = first.customer
    core.add_statement_line(customer.id_type, customer.id_number, amount="1500000.00", policy_number=first.number)
    core.add_statement_line(customer.id_type, customer.id_number, amount="-1500000.00", description="Recaudo")

    assert statements_pull() == {"customers": 2, "lines": 2}
    core.add_statement_line(customer.id_type, customer.id_number, amount="20000.00", description="Intereses")
    statements_pull()
    statements_pull()

    lines = StatementLine.objects.filter(customer=customer).order_by("line_id")
    assert [line.amount for line in lines] == [Decimal("1500000.00"), Decimal("-1500000.00"), Decimal("20000.00")]
    assert lines[0].policy_number == first.number
    assert not StatementLine.objects.filter(customer=second.customer).exists()


def test_the_cores_statement_is_shown_on_the_customer_page_of_those_who_see_the_customer(client, core, known_policies):
    (policy,) = known_policies()
    customer = policy.customer
    core.add_statement_line(customer.id_type, customer.id_number, amount="987654.00", description="Prima facturada")
    statements_pull()

    client.force_login(customer.agent)
    page = client.get(reverse("customers:customer_detail", args=[customer.pk]))

    assert page.status_code == 200
    assert 'data-testid="core-statement"' in page.content.decode()
    assert "Prima facturada" in page.content.decode()
    assert core_statement_lines_visible_to(customer.agent).count() == 1
    assert core_statement_lines_visible_to(UserFactory(role=Role.AGENT)).count() == 0
    assert core_statement_lines_visible_to(UserFactory(role=Role.INTERVENTORIA)).count() == 1


def test_a_customer_in_the_app_sees_only_their_own_statement_lines(core, known_policies, client_user):
    first, second = known_policies(2)
    for policy in (first, second):
        core.add_statement_line(policy.customer.id_type, policy.customer.id_number, amount="100.00")
    statements_pull()
    first.customer.user = client_user
    first.customer.save(update_fields=["user"])

    assert list(core_statement_lines_visible_to(client_user).values_list("customer", flat=True)) == [first.customer.pk]


def test_with_sync_off_nothing_is_pulled(sync_off, db):
    assert policy_changes_pull() == {"pages": 0, "items": 0, "applied": 0}
    assert statements_pull() == {"customers": 0, "lines": 0}
