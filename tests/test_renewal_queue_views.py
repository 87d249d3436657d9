"""The renewal queue: policies of the user's book whose cover ends within the chosen window
(7, 30, 60 or 90 days; 30 by default), with the reminders sent and a Renew button for those who
may renew."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.policies import services
from portal.policies.models import Policy, PolicyVersion, RenewalReminder

from .factories import CustomerFactory, UserFactory, issue_policy
from .helpers import HTMX, signed_in


@pytest.fixture
def ending(agent, product):
    """Four policies of `agent`'s book, ending in about 5, 25, 45 and 80 days (one-year terms sold earlier)."""
    today = timezone.localdate()
    policies = {}
    for days_left in (5, 25, 45, 80):
        customer = CustomerFactory(agent=agent, created_by=agent, full_name=f"Cliente {days_left}")
        policies[days_left] = issue_policy(
            customer=customer, product=product, as_of=today - timedelta(days=365 - days_left)
        )
    return policies


def days_left(policy):
    return (policy.current_version.end_date - timezone.localdate()).days


def test_the_queue_shows_the_policies_ending_in_the_next_30_days_by_default(client, agent, ending):
    response = signed_in(client, agent).get(reverse("policies:renewal_queue"))

    body = response.content.decode()
    assert response.status_code == 200
    assert ending[5].number in body and ending[25].number in body
    assert ending[45].number not in body and ending[80].number not in body
    assert f"{days_left(ending[5])} days" in body
    assert "COP 4,569,600.00" in body
    assert f'data-testid="renew-{ending[5].pk}"' in body


@pytest.mark.parametrize(("days", "shown"), [(7, {5}), (30, {5, 25}), (60, {5, 25, 45}), (90, {5, 25, 45, 80})])
def test_the_window_chosen_decides_which_policies_are_listed(client, agent, ending, days, shown):
    body = signed_in(client, agent).get(reverse("policies:renewal_queue"), {"days": days}).content.decode()

    assert {left for left, policy in ending.items() if policy.number in body} == shown


def test_changing_the_window_over_htmx_answers_only_the_results_partial(client, agent, ending):
    response = signed_in(client, agent).get(reverse("policies:renewal_queue"), {"days": 60}, headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="renewal-window"' not in body
    assert ending[45].number in body


def test_a_window_that_is_not_offered_is_refused_with_a_message_and_the_default_is_shown(client, agent, ending):
    response = signed_in(client, agent).get(reverse("policies:renewal_queue"), {"days": "45"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice. 45 is not one of the available choices." in body
    assert ending[25].number in body and ending[45].number not in body


def test_the_queue_counts_the_reminders_already_sent(client, agent, ending):
    services.renewal_reminder_record(policy=ending[25], stage=RenewalReminder.Stage.DAYS_30)

    response = signed_in(client, agent).get(reverse("policies:renewal_queue"))

    rows = {row.record.pk: row.get_cell_value("reminders_sent") for row in response.context["table"].rows}
    assert rows[ending[25].pk] == 1
    assert rows[ending[5].pk] == 0


def test_the_queue_holds_only_the_users_book(client, ending, product):
    outsider = UserFactory(role=Role.AGENT)

    body = signed_in(client, outsider).get(reverse("policies:renewal_queue"), {"days": 90}).content.decode()

    assert not any(policy.number in body for policy in ending.values())
    assert "No policy in your book ends in the next 90 days." in body


def test_a_supervisor_sees_the_queue_of_their_team(client, supervisor, ending):
    body = signed_in(client, supervisor).get(reverse("policies:renewal_queue")).content.decode()

    assert ending[5].number in body


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_see_the_queue_without_renew_buttons(client, make_user, ending, role):
    body = signed_in(client, make_user(role)).get(reverse("policies:renewal_queue")).content.decode()

    assert ending[5].number in body
    assert 'data-testid="renew-' not in body


def test_the_renew_button_asks_for_confirmation(client, agent, ending):
    body = signed_in(client, agent).get(reverse("policies:renewal_queue")).content.decode()

    assert f'hx-confirm="Renew {ending[5].number} for another term at today' in body


def test_renewing_from_the_queue_opens_the_new_policy_and_takes_it_off_the_queue(client, agent, ending):
    old = ending[25]
    signed_in(client, agent)

    response = client.post(
        reverse("policies:policy_renew", args=[old.pk]), {"from_queue": "1", "days": "30"}, headers=HTMX
    )

    renewal = Policy.objects.get(renewal_of=old)
    assert response["HX-Redirect"] == reverse("policies:policy_detail", args=[renewal.pk])
    assert renewal.current_version.kind == PolicyVersion.Kind.RENEWAL
    assert renewal.current_version.start_date == old.current_version.end_date
    queue = client.get(reverse("policies:renewal_queue")).context["table"]
    assert old.pk not in {row.record.pk for row in queue.rows}


def test_renewing_from_the_queue_with_a_plain_post_redirects_to_the_new_policy(client, supervisor, ending):
    response = signed_in(client, supervisor).post(
        reverse("policies:policy_renew", args=[ending[5].pk]), {"from_queue": "1", "days": "30"}
    )

    assert response["Location"] == reverse("policies:policy_detail", args=[Policy.objects.get(renewal_of=ending[5]).pk])


def test_renewing_from_the_queue_a_policy_renewed_meanwhile_answers_409_with_the_refreshed_queue(
    client, agent, supervisor, ending
):
    services.policy_renew(policy=ending[5], actor=supervisor)

    response = signed_in(client, agent).post(
        reverse("policies:policy_renew", args=[ending[5].pk]), {"from_queue": "1", "days": "30"}, headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert f"Policy {ending[5].number} has already been renewed." in body
    assert ending[25].number in body
    assert Policy.objects.filter(renewal_of=ending[5]).count() == 1


def test_renewing_from_the_queue_a_product_no_longer_on_sale_answers_422_and_renews_nothing(
    client, agent, ending, product
):
    product.is_active = False
    product.save()

    response = signed_in(client, agent).post(
        reverse("policies:policy_renew", args=[ending[5].pk]), {"from_queue": "1", "days": "30"}, headers=HTMX
    )

    assert response.status_code == 422
    assert "Auto Total is no longer on sale" in response.content.decode()
    assert not Policy.objects.filter(renewal_of=ending[5]).exists()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_are_refused_renewing_from_the_queue(client, make_user, ending, role):
    response = signed_in(client, make_user(role)).post(
        reverse("policies:policy_renew", args=[ending[5].pk]), {"from_queue": "1"}, headers=HTMX
    )

    assert response.status_code == 403
    assert not Policy.objects.filter(renewal_of=ending[5]).exists()


def test_a_customer_account_is_refused_the_queue(client, client_user):
    assert signed_in(client, client_user).get(reverse("policies:renewal_queue")).status_code == 403
