"""The policy pages: the list with its filters and exports, the policy page with its actions
(endorse, cancel, suspend, reinstate, renew) and their live previews, the side-by-side version
comparison and the PDF of each version, for each role and scope.

Policies are made through the real services. The factories' product prices COP 100,000,000 with
both coverages at COP 4,569,600 a year; at COP 200,000,000 (a 0.9 band) it is COP 8,225,280.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.core.money import format_money
from portal.policies import services
from portal.policies.models import Policy, PolicyVersion
from portal.policies.views import CHANGE_POLICY_REASON, VIEW_POLICY_REASON

from .factories import CustomerFactory, ProductFactory, UserFactory, issue_policy
from .helpers import HTMX, signed_in

STAFF_ONLY = "The portal is for Amparo staff. Customers use the Amparo mobile app."


def reloaded(policy):
    return Policy.objects.select_related("current_version").get(pk=policy.pk)


def seen_state(policy):
    policy = reloaded(policy)
    return f"{policy.status}:{policy.current_version.number}"


def endorse_inputs(policy, **changes):
    data = {
        "effective_date": timezone.localdate().isoformat(),
        "sum_insured": "200000000",
        "coverage_codes": ["PT"],
        "reason": "New car, higher value",
        "seen_state": seen_state(policy),
    }
    data.update(changes)
    return data


# --- the policy list --------------------------------------------------------------------------------


def test_the_policy_list_shows_the_book_of_the_user_only(client, agent, policy, product, outsider):
    theirs = issue_policy(customer=CustomerFactory(agent=outsider, created_by=outsider), product=product)

    body = signed_in(client, agent).get(reverse("policies:policy_list")).content.decode()

    assert policy.number in body and "Lucía Restrepo" in body and "52123456" in body
    assert theirs.number not in body


def test_a_supervisor_sees_the_policies_of_the_agents_on_their_team(client, supervisor, policy):
    body = signed_in(client, supervisor).get(reverse("policies:policy_list")).content.decode()

    assert policy.number in body


def test_the_policy_list_answers_an_htmx_filter_with_only_the_results_partial(client, agent, policy, customer):
    other = issue_policy(
        customer=CustomerFactory(agent=agent, created_by=agent, full_name="Mateo Gil"), product=ProductFactory()
    )

    response = signed_in(client, agent).get(reverse("policies:policy_list"), {"customer": "lucía"}, headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body
    assert policy.number in body and other.number not in body


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"number": "AUTO-"}, True),
        ({"number": "HOME-"}, False),
        ({"id_number": "5212345"}, True),
        ({"id_number": "999"}, False),
        ({"status": "ACTIVE"}, True),
        ({"status": "CANCELLED"}, False),
        ({"starts_after": "today", "starts_before": "today"}, True),
        ({"starts_after": "tomorrow"}, False),
        ({"ends_after": "next_year", "ends_before": "next_year"}, True),
        ({"ends_before": "today"}, False),
    ],
)
def test_the_policy_list_filters_by_number_id_status_and_cover_dates(client, agent, policy, params, matches):
    today = timezone.localdate()
    days = {
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "next_year": reloaded(policy).current_version.end_date,
    }
    query = {name: days[value].isoformat() if value in days else value for name, value in params.items()}

    body = signed_in(client, agent).get(reverse("policies:policy_list"), query).content.decode()

    assert (policy.number in body) is matches


def test_the_policy_list_filters_by_product_and_agent(client, supervisor, team, policy, product):
    teammate = UserFactory(role=Role.AGENT, team=team)
    other = issue_policy(
        customer=CustomerFactory(agent=teammate, created_by=teammate), product=ProductFactory(name="Hogar")
    )
    signed_in(client, supervisor)

    by_product = client.get(reverse("policies:policy_list"), {"product": product.pk}).content.decode()
    by_agent = client.get(reverse("policies:policy_list"), {"agent": teammate.pk}).content.decode()

    assert policy.number in by_product and other.number not in by_product
    assert other.number in by_agent and policy.number not in by_agent


def test_the_agent_filter_offers_only_the_agents_whose_books_the_user_sees(client, supervisor, agent, policy):
    outsider = UserFactory(role=Role.AGENT, full_name="Otro Agente")
    CustomerFactory(agent=outsider, created_by=outsider)

    response = signed_in(client, supervisor).get(reverse("policies:policy_list"))

    agents = list(response.context["filter"].form.fields["agent"].queryset)
    assert agents == [agent]


def test_the_policy_list_sorts_by_a_column(client, agent, customer, product):
    first = issue_policy(customer=customer, product=product)
    second = issue_policy(customer=customer, product=product)
    signed_in(client, agent)

    ascending = client.get(reverse("policies:policy_list"), {"sort": "number"}).content.decode()
    descending = client.get(reverse("policies:policy_list"), {"sort": "-number"}).content.decode()

    assert ascending.index(first.number) < ascending.index(second.number)
    assert descending.index(second.number) < descending.index(first.number)


def test_the_empty_policy_list_says_what_to_do(client, agent):
    body = signed_in(client, agent).get(reverse("policies:policy_list")).content.decode()

    assert "No policies yet. Policies appear here when a quote is accepted and issued" in body


def test_a_filter_that_matches_nothing_says_so(client, agent, policy):
    body = signed_in(client, agent).get(reverse("policies:policy_list"), {"number": "NOPE"}).content.decode()

    assert "No policy matches these filters." in body


def test_bad_filter_input_is_reported_on_the_form_and_not_a_500(client, agent, policy):
    response = signed_in(client, agent).get(reverse("policies:policy_list"), {"starts_after": "31/31/2026"})

    assert response.status_code == 200
    assert response.context["filter"].form.errors


def list_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_policy_list_makes_the_same_number_of_queries_for_5_and_50_policies(client, admin_user, product):
    signed_in(client, admin_user)
    url = reverse("policies:policy_list")
    for _ in range(5):
        issue_policy(customer=CustomerFactory(), product=product)
    with_five = list_queries(client, url)
    for _ in range(45):
        issue_policy(customer=CustomerFactory(), product=product)

    assert list_queries(client, url) == with_five


def test_the_csv_export_holds_every_filtered_policy_with_formula_cells_neutralised(client, agent, product):
    shown = [
        issue_policy(
            customer=CustomerFactory(agent=agent, created_by=agent, full_name=f"=HYPERLINK(x{n})"), product=product
        )
        for n in range(30)
    ]
    hidden = issue_policy(
        customer=CustomerFactory(agent=agent, created_by=agent, full_name="Mateo Gil"), product=product
    )

    response = signed_in(client, agent).get(reverse("policies:policy_export", args=["csv"]), {"customer": "hyperlink"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Policy number", "Customer", "ID type"]
    assert sorted(row[0] for row in rows[1:]) == sorted(p.number for p in shown)
    assert hidden.number not in {row[0] for row in rows}
    assert all(row[1].startswith("'=HYPERLINK") for row in rows[1:])
    assert rows[1][6] == "Active"
    assert rows[1][10] == "4569600.00"


def test_the_xlsx_export_holds_the_filtered_policies_only(client, agent, policy, product):
    other = issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=ProductFactory(name="Hogar"))

    response = signed_in(client, agent).get(reverse("policies:policy_export", args=["xlsx"]), {"product": product.pk})

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [policy.number]
    assert other.number not in numbers


def test_the_export_never_holds_another_teams_policies(client, agent, policy, product, outsider):
    theirs = issue_policy(customer=CustomerFactory(agent=outsider, created_by=outsider), product=product)

    response = signed_in(client, agent).get(reverse("policies:policy_export", args=["csv"]))

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert policy.number in body and theirs.number not in body


def test_an_unknown_export_format_is_404(client, agent):
    assert signed_in(client, agent).get(reverse("policies:policy_export", args=["pdf"])).status_code == 404


def test_a_customer_account_is_refused_the_policy_pages(client, client_user, policy):
    signed_in(client, client_user)

    for url in [reverse("policies:policy_list"), reverse("policies:policy_detail", args=[policy.pk])]:
        response = client.get(url)
        assert response.status_code == 403
        assert STAFF_ONLY in response.content.decode()


# --- the policy page --------------------------------------------------------------------------------


def test_the_policy_page_shows_the_header_the_coverages_and_the_version_history(client, agent, policy):
    response = signed_in(client, agent).get(reverse("policies:policy_detail", args=[policy.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Policy {policy.number}" in body
    assert 'text-bg-success" data-testid="status-badge">Active<' in body
    assert "Lucía Restrepo" in body and "Auto Total" in body
    assert "COP 100,000,000.00" in body and "COP 4,569,600.00" in body
    assert "Responsabilidad civil" in body and "10 % of the loss, minimum COP 1,000,000.00" in body
    assert 'data-testid="version-1"' in body and "New business" in body
    assert reverse("policies:version_pdf", args=[policy.pk, 1]) in body


def test_the_policy_page_answers_htmx_with_the_policy_partial(client, agent, policy):
    response = signed_in(client, agent).get(reverse("policies:policy_detail", args=[policy.pk]), headers=HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="policy-panel"')
    assert "<html" not in body


def test_the_policy_page_links_the_policy_it_renews_and_the_one_that_renewed_it(client, agent, customer, product):
    today = timezone.localdate()
    old = issue_policy(customer=customer, product=product, as_of=today - timedelta(days=340))
    renewal = services.policy_renew(policy=old, actor=agent)
    signed_in(client, agent)

    old_page = client.get(reverse("policies:policy_detail", args=[old.pk])).content.decode()
    new_page = client.get(reverse("policies:policy_detail", args=[renewal.pk])).content.decode()

    assert 'data-testid="renewed-by"' in old_page and renewal.number in old_page
    assert 'data-testid="renews"' in new_page and old.number in new_page


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin_user"])
def test_the_book_and_the_admin_see_the_action_buttons(client, request, policy, who):
    body = (
        signed_in(client, request.getfixturevalue(who))
        .get(reverse("policies:policy_detail", args=[policy.pk]))
        .content.decode()
    )

    for action in ["endorse", "cancel", "suspend"]:
        assert f'data-testid="open-{action}"' in body
    assert 'data-testid="open-reinstate"' not in body
    assert 'data-testid="open-renew"' not in body  # it ends in a year: outside the renewal window


@pytest.mark.parametrize("who", ["finance_user", "auditor"])
def test_read_only_roles_see_the_policy_without_any_action(client, request, policy, who):
    response = signed_in(client, request.getfixturevalue(who)).get(reverse("policies:policy_detail", args=[policy.pk]))

    assert response.status_code == 200
    assert 'data-testid="policy-actions"' not in response.content.decode()


ACTIONS = ["policy_endorse", "policy_cancel", "policy_suspend", "policy_reinstate"]


@pytest.mark.parametrize("who", ["finance_user", "auditor"])
@pytest.mark.parametrize("name", [*ACTIONS, "policy_endorse_preview", "policy_cancel_preview"])
def test_read_only_roles_are_refused_every_policy_action_with_the_reason(client, request, policy, who, name):
    signed_in(client, request.getfixturevalue(who))

    response = client.post(reverse(f"policies:{name}", args=[policy.pk]), {"reason": "x"}, headers=HTMX)

    assert response.status_code == 403
    assert str(CHANGE_POLICY_REASON) in response.content.decode()
    assert reloaded(policy).current_version.number == 1
    assert reloaded(policy).status == Policy.Status.ACTIVE


def test_an_agent_of_another_team_gets_404_for_the_policy_and_every_action(client, policy, outsider):
    signed_in(client, outsider)

    assert client.get(reverse("policies:policy_detail", args=[policy.pk])).status_code == 404
    for name in [*ACTIONS, "policy_renew", "version_compare"]:
        assert client.get(reverse(f"policies:{name}", args=[policy.pk])).status_code == 404
    response = client.post(reverse("policies:policy_suspend", args=[policy.pk]), {"reason": "x"}, headers=HTMX)
    assert response.status_code == 404
    assert reloaded(policy).status == Policy.Status.ACTIVE


def test_the_policy_pages_ask_for_the_view_permission(client, make_user, policy):
    signed_in(client, make_user(Role.AGENT))
    Group.objects.get(name=Role.AGENT).permissions.clear()

    response = client.get(reverse("policies:policy_list"))

    assert response.status_code == 403
    assert str(VIEW_POLICY_REASON) in response.content.decode()


# --- endorse ------------------------------------------------------------------------------------------


def test_the_endorse_button_opens_the_form_partial_over_htmx_and_the_full_page_without(client, agent, policy):
    signed_in(client, agent)
    url = reverse("policies:policy_endorse", args=[policy.pk])

    partial = client.get(url, headers=HTMX).content.decode()
    page = client.get(url).content.decode()

    assert partial.lstrip().startswith('<div id="action-form"')
    assert 'value="100000000.00"' in partial
    assert f'hx-post="{reverse("policies:policy_endorse_preview", args=[policy.pk])}"' in partial
    assert "<html" in page and 'data-testid="endorse-form"' in page


def test_the_endorsement_preview_shows_the_new_premium_and_the_pro_rata_charge(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse_preview", args=[policy.pk]), endorse_inputs(policy), headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert '<strong data-testid="new-premium">COP 8,225,280.00</strong>' in body
    assert "COP 3,655,680.00 to charge for the rest of the term" in body
    assert reloaded(policy).current_version.number == 1


def test_the_endorsement_preview_shows_the_money_returned_when_cover_goes_down(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse_preview", args=[policy.pk]),
        endorse_inputs(policy, sum_insured="100000000", coverage_codes=[]),
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "COP 2,856,000.00 to return for the rest of the term" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sum_insured": "100000000"}, "Nothing changes: change the sum insured, the coverages or the insured"),
        ({"sum_insured": "-1"}, "The sum insured must be more than zero."),
        ({"coverage_codes": ["PT", "FLOOD"]}, "Auto Total has no coverage FLOOD."),
        ({"effective_date": "2020-01-01"}, "The date must fall within the cover period"),
        ({"effective_date": "not a date"}, "Enter a valid date."),
    ],
)
def test_the_endorsement_preview_answers_422_with_the_reason_it_would_be_refused(
    client, agent, policy, changes, message
):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse_preview", args=[policy.pk]),
        endorse_inputs(policy, **changes),
        headers=HTMX,
    )

    assert response.status_code == 422
    assert message in response.content.decode().replace("&#x27;", "'")


def test_endorsing_records_a_new_version_and_swaps_the_whole_policy_panel(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse", args=[policy.pk]), endorse_inputs(policy), headers=HTMX
    )

    body = response.content.decode()
    current = reloaded(policy).current_version
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#policy-panel" and response["HX-Reswap"] == "outerHTML"
    assert body.lstrip().startswith('<div id="policy-panel"')
    assert current.number == 2 and current.kind == PolicyVersion.Kind.ENDORSEMENT
    assert current.sum_insured == Decimal("200000000.00")
    assert current.premium_change == Decimal("3655680.00")
    assert current.created_by == agent
    assert "Endorsement recorded as version 2: COP 3,655,680.00 charged." in body
    assert 'data-testid="version-2"' in body


def test_a_supervisor_endorses_a_policy_of_their_agent_with_a_plain_post(client, supervisor, policy):
    response = signed_in(client, supervisor).post(
        reverse("policies:policy_endorse", args=[policy.pk]), endorse_inputs(policy)
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("policies:policy_detail", args=[policy.pk])
    assert reloaded(policy).current_version.created_by == supervisor


def test_an_endorsement_without_a_reason_stays_in_the_form_with_422_and_writes_nothing(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse", args=[policy.pk]), endorse_inputs(policy, reason=""), headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 422
    assert body.lstrip().startswith('<div id="action-form"')
    assert "Say why: it is kept with the version." in body
    assert reloaded(policy).current_version.number == 1
    assert not AuditEvent.objects.filter(action="policy.endorsed").exists()


def test_an_endorsement_refused_on_a_plain_post_shows_the_full_page_with_the_form_and_422(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse", args=[policy.pk]), endorse_inputs(policy, sum_insured="100000000")
    )

    body = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 422
    assert "<html" in body and 'data-testid="endorse-form"' in body
    assert "Nothing changes" in body
    assert reloaded(policy).current_version.number == 1


def test_endorsing_a_policy_changed_meanwhile_answers_409_with_the_fresh_panel_and_writes_nothing(
    client, agent, supervisor, policy
):
    stale = seen_state(policy)
    services.policy_endorse(
        policy=policy,
        actor=supervisor,
        effective_date=timezone.localdate(),
        reason="Supervisor's change",
        sum_insured=Decimal("150000000"),
    )

    response = signed_in(client, agent).post(
        reverse("policies:policy_endorse", args=[policy.pk]), endorse_inputs(policy, seen_state=stale), headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#policy-panel"
    assert "changed while you were looking at it: it is now active, at version 2" in body
    assert reloaded(policy).current_version.number == 2


def test_endorsing_a_cancelled_policy_is_a_conflict_even_without_the_seen_state(client, agent, policy):
    services.policy_cancel(policy=policy, actor=agent, effective_date=timezone.localdate(), reason="Sold the car")
    data = endorse_inputs(policy)
    del data["seen_state"]

    response = signed_in(client, agent).post(reverse("policies:policy_endorse", args=[policy.pk]), data, headers=HTMX)

    assert response.status_code == 409
    assert "so it cannot be endorsed" in response.content.decode()
    assert reloaded(policy).current_version.number == 2


def test_a_stale_plain_post_flashes_the_conflict_and_redirects_to_the_policy(client, agent, supervisor, policy):
    stale = seen_state(policy)
    services.policy_suspend(policy=policy, actor=supervisor, reason="Unpaid")

    response = signed_in(client, agent).post(
        reverse("policies:policy_cancel", args=[policy.pk]),
        {"effective_date": timezone.localdate().isoformat(), "reason": "Sold", "seen_state": stale},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("policies:policy_detail", args=[policy.pk]), 302)]
    assert "it is now suspended" in response.content.decode()
    assert reloaded(policy).current_version.number == 1


# --- cancel, suspend, reinstate ---------------------------------------------------------------------------


def test_the_cancellation_preview_shows_the_refund_for_the_date_chosen(client, agent, policy):
    today = timezone.localdate()
    signed_in(client, agent)
    url = reverse("policies:policy_cancel_preview", args=[policy.pk])

    at_start = client.post(url, {"effective_date": today.isoformat()}, headers=HTMX)
    midway = client.post(url, {"effective_date": (today + timedelta(days=73)).isoformat()}, headers=HTMX)

    assert at_start.status_code == 200
    assert "COP 4,569,600.00 returned to the customer" in at_start.content.decode()
    term_days = (reloaded(policy).current_version.end_date - today).days
    earned = (Decimal("4569600.00") * 73 / term_days).quantize(Decimal("0.01"))
    refund = format_money(Decimal("4569600.00") - earned, "COP")
    assert f"{refund} returned to the customer" in midway.content.decode()
    assert reloaded(policy).current_version.number == 1


def test_the_cancellation_preview_without_a_date_answers_422_asking_for_it(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_cancel_preview", args=[policy.pk]), {"effective_date": ""}, headers=HTMX
    )

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_the_cancel_form_previews_the_refund_at_once_and_asks_for_confirmation_before_it_submits(client, agent, policy):
    body = (
        signed_in(client, agent).get(reverse("policies:policy_cancel", args=[policy.pk]), headers=HTMX).content.decode()
    )

    assert f'hx-confirm="Cancel policy {policy.number}?' in body
    assert 'hx-trigger="load, change, input changed delay:400ms"' in body  # the refund for today shows at once


def test_cancelling_records_a_cancellation_version_with_the_refund(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_cancel", args=[policy.pk]),
        {
            "effective_date": timezone.localdate().isoformat(),
            "reason": "Sold the car",
            "seen_state": seen_state(policy),
        },
        headers=HTMX,
    )

    policy = reloaded(policy)
    assert response.status_code == 200
    assert policy.status == Policy.Status.CANCELLED
    assert policy.current_version.kind == PolicyVersion.Kind.CANCELLATION
    assert policy.current_version.premium_change == Decimal("-4569600.00")
    assert "COP 4,569,600.00 returned." in response.content.decode()


def test_cancelling_without_a_reason_answers_422_and_writes_nothing(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("policies:policy_cancel", args=[policy.pk]),
        {"effective_date": timezone.localdate().isoformat(), "reason": "", "seen_state": seen_state(policy)},
        headers=HTMX,
    )

    assert response.status_code == 422
    assert "Say why: it is kept with the version." in response.content.decode()
    assert reloaded(policy).status == Policy.Status.ACTIVE


def test_suspending_asks_for_confirmation_and_puts_cover_on_hold(client, agent, policy):
    signed_in(client, agent)
    form = client.get(reverse("policies:policy_suspend", args=[policy.pk]), headers=HTMX).content.decode()

    response = client.post(
        reverse("policies:policy_suspend", args=[policy.pk]),
        {"reason": "Premium unpaid", "seen_state": seen_state(policy)},
        headers=HTMX,
    )

    assert f'hx-confirm="Suspend policy {policy.number}?' in form
    assert response.status_code == 200
    assert reloaded(policy).status == Policy.Status.SUSPENDED
    assert 'data-testid="open-reinstate"' in response.content.decode()


def test_reinstating_a_suspended_policy_puts_it_back_in_force(client, supervisor, policy):
    services.policy_suspend(policy=policy, actor=policy.customer.agent, reason="Unpaid")

    response = signed_in(client, supervisor).post(
        reverse("policies:policy_reinstate", args=[policy.pk]),
        {"reason": "Paid in full", "seen_state": seen_state(policy)},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert reloaded(policy).status == Policy.Status.ACTIVE


def test_reinstating_an_active_policy_is_a_conflict(client, admin_user, policy):
    response = signed_in(client, admin_user).post(
        reverse("policies:policy_reinstate", args=[policy.pk]), {"reason": "Why not"}, headers=HTMX
    )

    assert response.status_code == 409
    assert "so there is nothing to reinstate" in response.content.decode()


# --- renew from the policy page ------------------------------------------------------------------------


def test_renewing_from_the_policy_page_redirects_to_the_new_linked_policy(client, agent, customer, product):
    old = issue_policy(customer=customer, product=product, as_of=timezone.localdate() - timedelta(days=340))
    signed_in(client, agent)
    page = client.get(reverse("policies:policy_detail", args=[old.pk])).content.decode()
    form = client.get(reverse("policies:policy_renew", args=[old.pk]), headers=HTMX).content.decode()

    response = client.post(
        reverse("policies:policy_renew", args=[old.pk]), {"seen_state": seen_state(old)}, headers=HTMX
    )

    renewal = Policy.objects.get(renewal_of=old)
    assert 'data-testid="open-renew"' in page
    assert f'hx-confirm="Renew {old.number} for another term' in form
    assert response["HX-Redirect"] == reverse("policies:policy_detail", args=[renewal.pk])
    assert renewal.current_version.kind == PolicyVersion.Kind.RENEWAL


def test_renewing_a_policy_renewed_meanwhile_is_a_conflict(client, agent, supervisor, customer, product):
    old = issue_policy(customer=customer, product=product, as_of=timezone.localdate() - timedelta(days=340))
    services.policy_renew(policy=old, actor=supervisor)

    response = signed_in(client, agent).post(reverse("policies:policy_renew", args=[old.pk]), headers=HTMX)

    assert response.status_code == 409
    assert "has already been renewed" in response.content.decode()
    assert Policy.objects.filter(renewal_of=old).count() == 1


@pytest.mark.parametrize("who", ["finance_user", "auditor"])
def test_read_only_roles_cannot_renew(client, request, policy, who):
    response = signed_in(client, request.getfixturevalue(who)).post(
        reverse("policies:policy_renew", args=[policy.pk]), headers=HTMX
    )

    assert response.status_code == 403


# --- versions -------------------------------------------------------------------------------------------


@pytest.fixture
def endorsed(policy, agent):
    """Version 2 doubles the sum insured and drops the optional PT coverage."""
    return services.policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=timezone.localdate(),
        reason="Fleet grew",
        sum_insured=Decimal("200000000"),
        coverage_codes=[],
    )


def test_the_comparison_defaults_to_the_previous_and_the_current_version(client, agent, endorsed):
    response = signed_in(client, agent).get(reverse("policies:version_compare", args=[endorsed.pk]))

    assert response.status_code == 200
    assert (response.context["a"].number, response.context["b"].number) == (1, 2)


def test_the_comparison_highlights_the_terms_and_coverages_that_changed(client, agent, endorsed):
    response = signed_in(client, agent).get(reverse("policies:version_compare", args=[endorsed.pk]), {"a": 1, "b": 2})

    rows = {str(row["label"]): row for row in response.context["rows"]}
    assert rows["Sum insured"]["changed"]
    assert (rows["Sum insured"]["a"], rows["Sum insured"]["b"]) == ("COP 100,000,000.00", "COP 200,000,000.00")
    assert rows["Kind"]["changed"] and rows["Reason"]["changed"]
    assert not rows["Cover starts"]["changed"] and not rows["Cover ends"]["changed"]
    coverages = {row["name"]: row["change"] for row in response.context["coverage_rows"]}
    assert coverages == {"Responsabilidad civil": "changed", "Pérdida total": "removed"}
    body = response.content.decode()
    assert 'class="table-warning" data-changed="true"' in body
    assert '<span class="badge text-bg-danger">removed</span>' in body


def test_a_coverage_added_by_an_endorsement_shows_as_added(client, agent, endorsed):
    services.policy_endorse(
        policy=endorsed,
        actor=agent,
        effective_date=timezone.localdate(),
        reason="Back to full cover",
        coverage_codes=["PT"],
    )

    response = signed_in(client, agent).get(reverse("policies:version_compare", args=[endorsed.pk]), {"a": 2, "b": 3})

    coverages = {row["name"]: row["change"] for row in response.context["coverage_rows"]}
    assert coverages["Pérdida total"] == "added"
    assert not {str(row["label"]): row for row in response.context["rows"]}["Sum insured"]["changed"]


def test_the_comparison_answers_htmx_with_only_the_comparison_partial(client, agent, endorsed):
    response = signed_in(client, agent).get(
        reverse("policies:version_compare", args=[endorsed.pk]), {"a": 2, "b": 1}, headers=HTMX
    )

    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="comparison"' in body


@pytest.mark.parametrize("params", [{"a": 7}, {"b": 3}, {"a": "one"}, {"b": "-1"}])
def test_an_unknown_version_in_the_comparison_is_404(client, agent, endorsed, params):
    response = signed_in(client, agent).get(reverse("policies:version_compare", args=[endorsed.pk]), params)

    assert response.status_code == 404


def test_the_pdf_of_a_version_downloads_as_an_attachment(client, agent, endorsed):
    response = signed_in(client, agent).get(reverse("policies:version_pdf", args=[endorsed.pk, 2]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{endorsed.number}-v2.pdf"'
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("who", ["supervisor", "finance_user", "auditor", "admin_user"])
def test_the_supervisor_and_the_read_only_roles_download_the_pdf(client, request, policy, who):
    response = signed_in(client, request.getfixturevalue(who)).get(reverse("policies:version_pdf", args=[policy.pk, 1]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_the_pdf_of_another_teams_policy_or_an_unknown_version_is_404(client, agent, policy, outsider):
    signed_in(client, agent)
    assert client.get(reverse("policies:version_pdf", args=[policy.pk, 9])).status_code == 404

    signed_in(client, outsider)
    assert client.get(reverse("policies:version_pdf", args=[policy.pk, 1])).status_code == 404


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin_user"])
def test_the_owner_the_team_supervisor_and_the_admin_may_suspend(client, request, policy, who):
    user = request.getfixturevalue(who)

    response = signed_in(client, user).post(
        reverse("policies:policy_suspend", args=[policy.pk]),
        {"reason": "Premium unpaid", "seen_state": seen_state(policy)},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert reloaded(policy).status == Policy.Status.SUSPENDED
    assert AuditEvent.objects.get(action="policy.suspended").actor == user


def test_every_policy_page_renders_in_spanish_with_colombian_money(client, agent, endorsed):
    signed_in(client, agent)
    client.cookies["django_language"] = "es-co"  # as the language switch leaves it
    urls = [
        reverse("policies:policy_list"),
        reverse("policies:policy_detail", args=[endorsed.pk]),
        reverse("policies:policy_endorse", args=[endorsed.pk]),
        reverse("policies:policy_cancel", args=[endorsed.pk]),
        reverse("policies:version_compare", args=[endorsed.pk]),
        reverse("policies:renewal_queue"),
        reverse("policies:quote_list"),
        reverse("policies:quote_detail", args=[endorsed.quote_id]),
    ]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="es-co">' in response.content.decode(), url
    detail = client.get(reverse("policies:policy_detail", args=[endorsed.pk])).content.decode()
    assert "COP 200.000.000,00" in detail


def test_in_spanish_policy_and_quote_statuses_agree_with_their_feminine_nouns(client, agent, policy):
    client.cookies["django_language"] = "es-co"  # as the language switch leaves it
    signed_in(client, agent)

    policy_page = client.get(reverse("policies:policy_detail", args=[policy.pk])).content.decode()
    quote_page = client.get(reverse("policies:quote_detail", args=[policy.quote.pk])).content.decode()

    assert ">Activa<" in policy_page
    assert ">Expedida<" in quote_page


@pytest.mark.parametrize(
    "path",
    [
        "/quotes/new/?customer=%C2%B2",
        "/policies/?page=400000000000000000",
        "/policies/?page=abc",
    ],
)
def test_odd_query_values_get_a_page_not_a_server_error(client, agent, policy, path):
    response = signed_in(client, agent).get(path)
    assert response.status_code == 200


def test_a_version_number_in_other_scripts_digits_is_not_found(client, agent, policy):
    response = signed_in(client, agent).get(reverse("policies:version_compare", args=[policy.pk]), {"b": "²"})
    assert response.status_code == 404


def test_pricing_with_a_superscript_product_id_is_a_form_error(client, agent, customer):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), {"customer": customer.pk, "product": "²", "sum_insured": "1000"}, headers=HTMX
    )
    assert response.status_code in (200, 422)


def test_an_xlsx_export_too_large_to_build_in_the_request_says_so_and_csv_still_works(
    client, agent, customer, product, policy, monkeypatch
):
    monkeypatch.setattr("portal.core.exports.XLSX_MAX_ROWS", 1)
    issue_policy(customer=customer, product=product)
    signed_in(client, agent)

    refused = client.get(reverse("policies:policy_export", args=["xlsx"]), {"status": "ACTIVE"}, follow=True)
    csv_response = client.get(reverse("policies:policy_export", args=["csv"]))

    assert refused.redirect_chain[0][0] == reverse("policies:policy_list") + "?status=ACTIVE"
    assert "An XLSX download holds at most 1 rows" in refused.content.decode()
    assert csv_response.status_code == 200
    assert len(b"".join(csv_response.streaming_content).decode("utf-8-sig").strip().splitlines()) == 3
