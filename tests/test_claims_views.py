"""The claims pages: the work queue (filters, role defaults, saved default, exports, query count),
filing a claim from a policy, the claim page and each of its actions on the HTMX and the full-page
path, stale revisions (409), and who may see or do what (scope by URL, read-only roles, four-eyes).

Claims are made through the real services. The factories' product covers COP 100,000,000 on
each of its two coverages (RC; PT with a 10 % deductible, minimum COP 1,000,000).
"""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import services
from portal.claims.models import Claim, ClaimTransition
from portal.claims.views import CHANGE_REASON, FILE_REASON

from .factories import (
    CustomerFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
    file_claim,
    grant_approval_limit,
    issue_policy,
)
from .helpers import HTMX, signed_in

CHANGED = "changed while you were looking at it; reload it."


def reloaded(claim):
    return Claim.objects.get(pk=claim.pk)


def queue(client, **params):
    return client.get(reverse("claims:claim_list"), {"sort": "-created_at", **params})


def act(client, claim, action, htmx=False, **data):
    data.setdefault("revision", reloaded(claim).revision)
    url = reverse("claims:claim_transition", args=[claim.pk, action])
    return client.post(url, data, headers=HTMX if htmx else {})


@pytest.fixture
def claim(policy, agent):
    return file_claim(policy=policy, actor=agent, claimed_amount="5000000")


@pytest.fixture
def reviewed(claim, agent):
    """A claim the agent filed and put under review: the supervisor may decide on it."""
    return services.claim_start_review(claim=claim, actor=agent)


@pytest.fixture
def approver(supervisor):
    return grant_approval_limit(supervisor, "20000000")


@pytest.fixture
def outsider_team(db):
    return TeamFactory()


@pytest.fixture
def outsider_supervisor(outsider_team):
    return outsider_team.supervisor


@pytest.fixture
def outsider_agent(outsider_team):
    return UserFactory(role=Role.AGENT, team=outsider_team)


# --- the work queue ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.AGENT, "status=OPEN&sort=-created_at"),
        (Role.SUPERVISOR, "status=UNDER_REVIEW&sort=created_at"),
        (Role.ADMIN, "status=UNDER_REVIEW&sort=created_at"),
        (Role.FINANCE, "status=APPROVED&sort=created_at"),
        (Role.INTERVENTORIA, "sort=-created_at"),
    ],
)
def test_the_work_queue_opens_with_the_default_filter_of_the_users_role(client, db, role, expected):
    response = signed_in(client, UserFactory(role=role)).get(reverse("claims:claim_list"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('claims:claim_list')}?{expected}"


def test_a_supervisor_sees_the_claims_under_review_oldest_first_by_default(client, approver, policy, agent):
    older, newer = (file_claim(policy=policy, actor=agent, claimed_amount="1000000") for _ in range(2))
    Claim.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=3))
    pending = file_claim(policy=policy, actor=agent, claimed_amount="1000000")
    for claim in (older, newer):
        services.claim_start_review(claim=claim, actor=agent)

    body = signed_in(client, approver).get(reverse("claims:claim_list"), follow=True).content.decode()

    assert body.index(older.number) < body.index(newer.number)
    assert pending.number not in body


def test_a_user_saves_the_filter_on_screen_as_their_default_and_can_forget_it(client, agent, claim):
    signed_in(client, agent)

    client.post(reverse("claims:queue_default_save"), {"query": "status=PENDING&sort=number&page=3"})
    saved = client.get(reverse("claims:claim_list"))
    client.post(reverse("claims:queue_default_save"), {"forget": "1"})
    forgotten = client.get(reverse("claims:claim_list"))

    assert saved["Location"].endswith("?sort=number&status=PENDING")
    assert forgotten["Location"].endswith("?status=OPEN&sort=-created_at")


def test_the_queue_knows_the_default_filter_however_the_form_sends_it(client, agent, claim):
    signed_in(client, agent)

    from_redirect = client.get(reverse("claims:claim_list"), follow=True).context
    from_form = client.get(
        reverse("claims:claim_list"), {"number": "", "sort": "-created_at", "status": "OPEN"}
    ).context
    other = queue(client, status="PENDING").context

    assert from_redirect["is_default"] and from_form["is_default"]
    assert not other["is_default"]


def test_an_invalid_filter_is_not_saved_as_a_default(client, agent):
    signed_in(client, agent)

    response = client.post(reverse("claims:queue_default_save"), {"query": "filed_after=31/31/2026"}, follow=True)

    assert "That filter cannot be saved" in response.content.decode()
    assert client.get(reverse("claims:claim_list"))["Location"].endswith("?status=OPEN&sort=-created_at")


def test_the_work_queue_shows_the_claims_in_the_users_book_only(
    client, agent, supervisor, claim, product, outsider_agent, outsider_supervisor
):
    theirs = file_claim(
        policy=issue_policy(customer=CustomerFactory(agent=outsider_agent), product=product), actor=outsider_agent
    )

    for user, sees_ours, sees_theirs in [
        (agent, True, False),
        (supervisor, True, False),
        (outsider_supervisor, False, True),
        (outsider_agent, False, True),
        (UserFactory(role=Role.FINANCE), True, True),
        (UserFactory(role=Role.INTERVENTORIA), True, True),
    ]:
        body = queue(signed_in(client, user)).content.decode()
        assert (claim.number in body, theirs.number in body) == (sees_ours, sees_theirs), user.role


def test_the_work_queue_answers_an_htmx_filter_with_only_the_results(client, agent, claim):
    response = signed_in(client, agent).get(reverse("claims:claim_list"), {"status": "PENDING"}, headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body and claim.number in body


@pytest.mark.parametrize(("role", "with_checkboxes"), [(Role.ADMIN, True), (Role.FINANCE, False)])
def test_each_queue_row_has_one_cell_per_column_with_or_without_the_bulk_checkboxes(
    client, make_user, reviewed, role, with_checkboxes
):
    body = queue(signed_in(client, make_user(role)), status="UNDER_REVIEW").content.decode()

    table = body[body.index('data-testid="claim-table"') :]
    header, rows = table.split("</thead>", 1)
    first_row = rows[rows.index('data-testid="claim-row"') : rows.index("</tr>")]
    columns = 14 if with_checkboxes else 13
    assert (len(re.findall(r"<td[\s>]", first_row)), len(re.findall(r"<th[\s>]", header))) == (columns, columns)
    assert ('data-testid="select-claim"' in first_row) is with_checkboxes
    assert reviewed.number in first_row and "Under review" in first_row


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"number": "sin-"}, True),
        ({"number": "SIN-1999"}, False),
        ({"policy": "auto-"}, True),
        ({"policy": "HOGAR-"}, False),
        ({"customer": "52 123"}, True),
        ({"customer": "lucía"}, True),
        ({"customer": "restrepo"}, False),
        ({"status": "PENDING"}, True),
        ({"status": "OPEN"}, True),
        ({"status": "APPROVED"}, False),
        ({"age": "0-7"}, True),
        ({"age": "8-30"}, False),
        ({"amount_min": "4000000", "amount_max": "6000000"}, True),
        ({"amount_min": "6000000"}, False),
        ({"loss_after": "today", "loss_before": "today"}, True),
        ({"loss_before": "yesterday"}, False),
        ({"filed_after": "today"}, True),
        ({"filed_after": "tomorrow"}, False),
    ],
)
def test_the_work_queue_filters_by_number_policy_customer_status_age_amount_and_dates(
    client, agent, claim, params, matches
):
    today = timezone.localdate()
    days = {"today": today, "yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
    query = {name: days[value].isoformat() if value in days else value for name, value in params.items()}

    body = queue(signed_in(client, agent), **query).content.decode()

    assert (claim.number in body) is matches


def test_the_work_queue_filters_by_product_assignee_and_agent(client, supervisor, team, agent, reviewed, product):
    teammate = UserFactory(role=Role.AGENT, team=team)
    other = file_claim(
        policy=issue_policy(customer=CustomerFactory(agent=teammate), product=ProductFactory(name="Hogar")),
        actor=teammate,
    )
    signed_in(client, supervisor)

    by_product = queue(client, product=product.pk).content.decode()
    by_assignee = queue(client, assignee=agent.pk).content.decode()
    by_agent = queue(client, agent=teammate.pk).content.decode()

    assert reviewed.number in by_product and other.number not in by_product
    assert reviewed.number in by_assignee and other.number not in by_assignee
    assert other.number in by_agent and reviewed.number not in by_agent


def test_the_assignee_and_agent_filters_offer_only_people_the_user_sees(client, agent, claim, outsider_agent):
    response = queue(signed_in(client, agent))

    fields = response.context["filter"].form.fields
    assert list(fields["agent"].queryset) == [agent]
    assert list(fields["assignee"].queryset) == [agent]


def test_bad_filter_input_is_reported_on_the_form_and_not_a_500(client, agent, claim):
    response = queue(signed_in(client, agent), loss_after="31/31/2026", amount_min="lots")

    assert response.status_code == 200
    assert response.context["filter"].form.errors


def queue_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert queue(client, status="PENDING").status_code == 200
    return len(queries)


def test_the_work_queue_makes_the_same_number_of_queries_for_5_and_50_claims(client, approver, team, product):
    signed_in(client, approver)

    def file_claims(count):
        for _ in range(count):
            teammate = UserFactory(role=Role.AGENT, team=team)
            file_claim(policy=issue_policy(customer=CustomerFactory(agent=teammate), product=product), actor=teammate)

    file_claims(5)
    with_five = queue_queries(client)
    file_claims(45)

    assert queue_queries(client) == with_five


def test_the_csv_export_holds_the_filtered_claims_with_formula_cells_neutralised(client, agent, product):
    shown = [
        file_claim(policy=issue_policy(customer=CustomerFactory(agent=agent, full_name=f"=CMD(x{n})"), product=product))
        for n in range(3)
    ]
    hidden = file_claim(policy=issue_policy(customer=CustomerFactory(agent=agent, full_name="Mateo Gil")))

    response = signed_in(client, agent).get(reverse("claims:claim_export", args=["csv"]), {"customer": "=cmd"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Claim number", "Status", "Customer"]
    assert sorted(row[0] for row in rows[1:]) == sorted(claim.number for claim in shown)
    assert hidden.number not in {row[0] for row in rows}
    assert all(row[2].startswith("'=CMD") for row in rows[1:])
    assert rows[1][1] == "Pending" and rows[1][9] == "5000000.00"


def test_the_xlsx_export_never_holds_another_books_claims(client, agent, claim, product, outsider_agent):
    theirs = file_claim(policy=issue_policy(customer=CustomerFactory(agent=outsider_agent), product=product))

    response = signed_in(client, agent).get(reverse("claims:claim_export", args=["xlsx"]))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [claim.number] and theirs.number not in numbers


def test_an_invalid_export_filter_or_format_exports_nothing(client, agent, claim):
    signed_in(client, agent)

    assert client.get(reverse("claims:claim_export", args=["pdf"])).status_code == 404
    assert client.get(reverse("claims:claim_export", args=["csv"]), {"loss_after": "nope"}).status_code == 302


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_get_no_bulk_controls_in_the_queue(client, claim, role):
    body = queue(signed_in(client, UserFactory(role=role))).content.decode()

    assert claim.number in body
    assert 'data-testid="bulk-form"' not in body and 'data-testid="select-claim"' not in body


def test_the_queue_offers_each_role_only_its_bulk_actions(client, agent, approver, claim):
    agent_actions = queue(signed_in(client, agent)).context["bulk_actions"]
    supervisor_actions = queue(signed_in(client, approver)).context["bulk_actions"]

    assert [action for action, _label in agent_actions] == ["start_review"]
    assert [action for action, _label in supervisor_actions] == ["start_review", "reject", "close"]


def test_a_customer_account_is_refused_the_claims_pages(client, client_user, claim):
    signed_in(client, client_user)

    for url in [reverse("claims:claim_list"), reverse("claims:claim_detail", args=[claim.pk])]:
        assert client.get(url).status_code == 403


# --- filing ------------------------------------------------------------------------------------------


def test_filing_from_a_policy_starts_with_its_number_and_the_coverages_in_force(client, agent, policy):
    response = signed_in(client, agent).get(reverse("claims:claim_file"), {"policy": policy.pk})

    form = response.context["form"]
    assert form["policy"].value() == policy.number
    assert [code for code, _label in form.fields["coverage_code"].choices] == ["", "RC", "PT"]
    assert "COP 100,000,000.00 of COP 100,000,000.00 left" in response.content.decode()


def test_the_policy_page_offers_to_file_a_claim_to_those_who_may(client, agent, policy, finance_user):
    url = reverse("policies:policy_detail", args=[policy.pk])

    assert 'data-testid="file-claim"' in signed_in(client, agent).get(url).content.decode()
    assert 'data-testid="file-claim"' not in signed_in(client, finance_user).get(url).content.decode()


def test_an_agent_files_a_claim_and_lands_on_its_page(client, agent, policy):
    response = signed_in(client, agent).post(
        reverse("claims:claim_file"),
        {
            "policy": policy.number.lower(),
            "loss_date": timezone.localdate().isoformat(),
            "coverage_code": "PT",
            "claimed_amount": "3500000",
            "description": "Robo del vehículo en la Calle 80",
        },
    )

    claim = Claim.objects.get(policy=policy)
    assert response.status_code == 302 and response["Location"] == reverse("claims:claim_detail", args=[claim.pk])
    assert (claim.status, claim.coverage_code, claim.claimed_amount) == ("PENDING", "PT", Decimal("3500000"))
    assert AuditEvent.objects.filter(action="claim.filed", target_id=str(claim.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"loss_date": "tomorrow"}, "loss_date", "The date of loss cannot be in the future."),
        ({"loss_date": "last_year"}, "loss_date", "gave no cover on"),
        ({"claimed_amount": "100000001"}, "claimed_amount", "Only COP 100,000,000.00 of this coverage remains"),
        ({"claimed_amount": "0"}, "claimed_amount", "Ensure this value is greater than or equal to 0.01"),
        ({"coverage_code": "XX"}, "coverage_code", "Select a valid choice"),
        ({"policy": "AUTO-1999-000001"}, "policy", "No policy with that number is in your book."),
        ({"description": ""}, "description", "This field is required."),
    ],
)
def test_a_claim_that_cannot_be_filed_is_refused_on_the_form_and_nothing_is_filed(
    client, agent, policy, changes, field, message
):
    today = timezone.localdate()
    days = {"tomorrow": today + timedelta(days=1), "last_year": today - timedelta(days=365)}
    data = {
        "policy": policy.number,
        "loss_date": today.isoformat(),
        "coverage_code": "RC",
        "claimed_amount": "1000000",
        "description": "Choque",
    }
    data.update({name: days[value].isoformat() if value in days else value for name, value in changes.items()})

    response = signed_in(client, agent).post(reverse("claims:claim_file"), data)

    assert response.status_code == 422
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Claim.objects.exists()


def test_a_policy_outside_the_users_book_cannot_be_claimed_on(client, outsider_agent, policy):
    response = signed_in(client, outsider_agent).get(reverse("claims:claim_file"), {"policy": policy.pk})

    assert response.context["form"]["policy"].value() in (None, "")
    assert policy.number not in response.content.decode()


def test_the_coverage_choice_follows_the_date_of_loss(client, agent, policy):
    signed_in(client, agent)
    url = reverse("claims:claim_file_coverages")
    today = timezone.localdate()

    in_force = client.post(url, {"policy": policy.number, "loss_date": today.isoformat()}, headers=HTMX)
    no_cover = client.post(
        url, {"policy": policy.number, "loss_date": (today - timedelta(days=30)).isoformat()}, headers=HTMX
    )

    assert "<html" not in in_force.content.decode()
    assert "Version 1 was in force on the date of loss" in in_force.content.decode()
    assert 'data-testid="no-cover"' not in in_force.content.decode()
    assert 'data-testid="no-cover"' in no_cover.content.decode()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_cannot_file_claims(client, policy, role):
    response = signed_in(client, UserFactory(role=role)).post(reverse("claims:claim_file"), {"policy": policy.number})

    assert response.status_code == 403
    assert str(FILE_REASON) in response.content.decode()


# --- the claim page ------------------------------------------------------------------------------------


def test_the_claim_page_shows_the_claim_its_cover_its_timeline_and_its_policy(client, agent, policy):
    claim = file_claim(policy=policy, actor=agent, coverage_code="PT", claimed_amount="20000000")

    body = signed_in(client, agent).get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()

    assert claim.number in body and policy.number in body and "Lucía Restrepo" in body
    assert "COP 20,000,000.00" in body
    assert "10 % of the loss, minimum COP 1,000,000.00" in body
    assert "(about COP 2,000,000.00 on the amount claimed)" in body
    assert 'data-testid="coverage-remaining">COP 100,000,000.00<' in body
    assert 'data-testid="timeline-file"' in body
    assert 'data-testid="action-start_review"' in body


def test_the_claim_page_shows_each_role_the_actions_it_may_take(client, agent, reviewed, approver, admin_user):
    def actions(user):
        return [
            t.action
            for t in signed_in(client, user).get(reverse("claims:claim_detail", args=[reviewed.pk])).context["actions"]
        ]

    assert actions(agent) == []
    assert actions(approver) == ["approve", "reject"]
    assert actions(admin_user) == ["approve", "reject"]
    assert actions(UserFactory(role=Role.FINANCE)) == []
    assert actions(UserFactory(role=Role.INTERVENTORIA)) == []


def test_a_claim_above_the_supervisors_limit_offers_no_approval_to_them(client, agent, policy, approver, admin_user):
    big = file_claim(policy=policy, actor=agent, claimed_amount="30000000")
    services.claim_start_review(claim=big, actor=agent)
    url = reverse("claims:claim_detail", args=[big.pk])

    supervisor_body = signed_in(client, approver).get(url).content.decode()
    admin_body = signed_in(client, admin_user).get(url).content.decode()

    assert 'data-testid="open-approve"' not in supervisor_body and 'data-testid="open-reject"' in supervisor_body
    assert 'data-testid="open-approve"' in admin_body


def test_the_claim_page_is_404_outside_the_users_book(client, claim, outsider_agent, outsider_supervisor):
    url = reverse("claims:claim_detail", args=[claim.pk])

    assert signed_in(client, outsider_agent).get(url).status_code == 404
    assert signed_in(client, outsider_supervisor).get(url).status_code == 404


def test_the_claim_page_answers_htmx_with_only_its_panel(client, agent, claim):
    response = signed_in(client, agent).get(reverse("claims:claim_detail", args=[claim.pk]), headers=HTMX)

    body = response.content.decode()
    assert "<html" not in body and 'id="claim-panel"' in body


def test_an_agent_starts_the_review_with_htmx_and_gets_the_fresh_panel(client, agent, claim):
    response = act(signed_in(client, agent), claim, "start_review", htmx=True)

    body = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#claim-panel" and response["HX-Reswap"] == "outerHTML"
    assert "<html" not in body and "Under review" in body and 'data-testid="timeline-start_review"' in body
    claim = reloaded(claim)
    assert (claim.status, claim.reviewed_by, claim.assignee) == ("UNDER_REVIEW", agent, agent)


def test_an_agent_starts_the_review_on_the_full_page_and_is_sent_back_with_a_message(client, agent, claim):
    response = act(signed_in(client, agent), claim, "start_review")

    assert response.status_code == 302 and response["Location"] == reverse("claims:claim_detail", args=[claim.pk])
    assert f"Claim {claim.number} put under review." in client.get(response["Location"]).content.decode()
    assert reloaded(claim).status == "UNDER_REVIEW"


def test_the_approval_form_comes_pre_filled_with_the_amount_claimed(client, approver, reviewed):
    url = reverse("claims:claim_transition", args=[reviewed.pk, "approve"])
    signed_in(client, approver)

    partial = client.get(url, headers=HTMX)
    page = client.get(url)

    assert "<html" not in partial.content.decode() and 'value="5000000.00"' in partial.content.decode()
    assert "<html" in page.content.decode() and 'data-testid="action-form-approve"' in page.content.decode()


@pytest.mark.parametrize("htmx", [True, False])
def test_a_supervisor_approves_a_claim_within_their_limit(client, approver, reviewed, htmx):
    response = act(
        signed_in(client, approver), reviewed, "approve", htmx, approved_amount="4500000", note="Peritaje ok"
    )

    claim = reloaded(reviewed)
    assert (claim.status, claim.approved_amount, claim.decided_by) == ("APPROVED", Decimal("4500000"), approver)
    transition = ClaimTransition.objects.get(claim=claim, action="approve")
    assert (transition.note, transition.amount, transition.actor) == ("Peritaje ok", Decimal("4500000"), approver)
    if htmx:
        assert response.status_code == 200 and "Approved" in response.content.decode()
        assert "approved for COP 4,500,000.00" in response.content.decode()
    else:
        assert response.status_code == 302


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"approved_amount": "4500000"}, "note", "This field is required."),
        ({"approved_amount": "6000000", "note": "x"}, "approved_amount", "You cannot approve more than was claimed."),
        ({"approved_amount": "abc", "note": "x"}, "approved_amount", "Enter a number."),
    ],
)
def test_a_bad_approval_is_refused_on_the_form_with_422(client, approver, reviewed, data, field, message):
    response = act(signed_in(client, approver), reviewed, "approve", True, **data)

    assert response.status_code == 422
    assert message in response.context["form"].errors[field]
    assert reloaded(reviewed).status == "UNDER_REVIEW"


def test_a_bad_approval_on_the_full_page_shows_the_page_with_the_form_and_its_errors(client, approver, reviewed):
    response = act(signed_in(client, approver), reviewed, "approve", approved_amount="4500000")

    body = response.content.decode()
    assert response.status_code == 422 and "<html" in body and 'data-testid="action-form-approve"' in body


@pytest.mark.parametrize("htmx", [True, False])
def test_a_supervisor_rejects_a_claim_with_a_reason_and_then_closes_it(client, approver, reviewed, reason, htmx):
    signed_in(client, approver)

    rejected = act(client, reviewed, "reject", htmx, rejection_reason=reason.pk, note="Fuera de cobertura")
    closed = act(client, reviewed, "close", htmx)

    assert rejected.status_code == closed.status_code == (200 if htmx else 302)
    claim = reloaded(reviewed)
    assert (claim.status, claim.rejection_reason) == ("CLOSED", reason)
    assert list(ClaimTransition.objects.filter(claim=claim).values_list("action", flat=True)) == [
        "file",
        "start_review",
        "reject",
        "close",
    ]


def test_the_reject_and_close_buttons_ask_for_confirmation(client, approver, reviewed, reason):
    signed_in(client, approver)

    form = client.get(reverse("claims:claim_transition", args=[reviewed.pk, "reject"]), headers=HTMX).content.decode()
    services.claim_reject(claim=reviewed, actor=approver, reason=reason, note="No")
    page = client.get(reverse("claims:claim_detail", args=[reviewed.pk])).content.decode()

    assert 'hx-confirm="Reject this claim? The customer will be told it is not covered."' in form
    assert 'hx-confirm="Close this claim? Only an administrator can reopen it."' in page


def test_a_rejection_without_a_reason_is_refused_on_the_form(client, approver, reviewed):
    response = act(signed_in(client, approver), reviewed, "reject", True, note="x")

    assert response.status_code == 422
    assert response.context["form"].errors["rejection_reason"]


def test_an_administrator_reopens_a_closed_claim_with_a_note(client, approver, admin_user, reviewed, reason):
    services.claim_reject(claim=reviewed, actor=approver, reason=reason, note="No")
    services.claim_close(claim=reviewed, actor=approver)
    signed_in(client, admin_user)

    without_note = act(client, reviewed, "reopen", True)
    reopened = act(client, reviewed, "reopen", True, note="Nueva evidencia")

    assert without_note.status_code == 422
    assert reopened.status_code == 200
    assert reloaded(reviewed).status == "UNDER_REVIEW"


@pytest.mark.parametrize("htmx", [True, False])
def test_a_stale_revision_changes_nothing_and_says_the_claim_changed(client, agent, approver, reviewed, htmx):
    seen = reloaded(reviewed).revision - 1

    response = act(signed_in(client, approver), reviewed, "approve", htmx, revision=seen, approved_amount="1", note="x")

    assert reloaded(reviewed).status == "UNDER_REVIEW"
    if htmx:
        assert response.status_code == 409
        assert response["HX-Retarget"] == "#claim-panel"
        assert CHANGED in response.content.decode() and 'id="claim-panel"' in response.content.decode()
    else:
        assert response.status_code == 302
        assert CHANGED in client.get(response["Location"]).content.decode()


def test_a_missing_revision_is_treated_as_a_stale_page(client, agent, claim):
    response = act(signed_in(client, agent), claim, "start_review", True, revision="")

    assert response.status_code == 409 and reloaded(claim).status == "PENDING"


def test_a_move_the_status_no_longer_allows_answers_409_with_the_fresh_panel(client, approver, claim):
    response = act(signed_in(client, approver), claim, "close", True)

    assert response.status_code == 409
    assert "is pending now, so it cannot be closed" in response.content.decode()


def test_the_filer_may_not_decide_and_the_reviewer_may_not_approve(client, approver, policy, admin_user):
    filed_by_supervisor = file_claim(policy=policy, actor=approver, claimed_amount="1000000")
    services.claim_start_review(claim=filed_by_supervisor, actor=admin_user)
    reviewed_by_supervisor = file_claim(policy=policy, claimed_amount="1000000")
    services.claim_start_review(claim=reviewed_by_supervisor, actor=approver)
    signed_in(client, approver)

    as_filer = act(client, filed_by_supervisor, "approve", True, approved_amount="1000000", note="x")
    as_reviewer = act(client, reviewed_by_supervisor, "approve", True, approved_amount="1000000", note="x")

    assert as_filer.status_code == as_reviewer.status_code == 403
    assert "You filed this claim" in as_filer.content.decode()
    assert "You reviewed this claim" in as_reviewer.content.decode()
    assert Claim.objects.filter(status="APPROVED").count() == 0


def test_an_agent_may_not_approve(client, agent, reviewed):
    response = act(signed_in(client, agent), reviewed, "approve", approved_amount="1000", note="x")

    assert response.status_code == 403
    assert "Your role cannot use" in response.content.decode()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_get_403_on_every_claim_action(client, reviewed, role):
    signed_in(client, UserFactory(role=role))

    for action in ["start_review", "approve", "reject", "close", "reopen"]:
        response = act(client, reviewed, action, True, approved_amount="1", note="x")
        assert response.status_code == 403
        assert str(CHANGE_REASON) in response.content.decode()
    assert reloaded(reviewed).status == "UNDER_REVIEW"


def test_an_action_on_a_claim_outside_the_book_is_404(client, claim, outsider_supervisor, outsider_agent):
    for user in (outsider_supervisor, outsider_agent):
        assert act(signed_in(client, user), claim, "start_review").status_code == 404
    assert reloaded(claim).status == "PENDING"


def test_an_unknown_or_payment_action_is_404(client, admin_user, claim):
    signed_in(client, admin_user)

    assert act(client, claim, "explode").status_code == 404
    assert act(client, claim, "pay").status_code == 404


# --- the claims on a policy's and a customer's page ------------------------------------------------------


def test_the_policy_and_customer_pages_load_their_claims(client, agent, claim, policy, customer):
    signed_in(client, agent)

    on_policy = client.get(reverse("claims:policy_claims", args=[policy.pk]), headers=HTMX).content.decode()
    on_customer = client.get(reverse("claims:customer_claims", args=[customer.pk]), headers=HTMX).content.decode()

    assert claim.number in on_policy and claim.number in on_customer
    assert "<html" not in on_policy


def test_the_claims_of_a_policy_without_htmx_open_the_filtered_work_queue(client, agent, policy):
    response = signed_in(client, agent).get(reverse("claims:policy_claims", args=[policy.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('claims:claim_list')}?policy={policy.number}&sort=-created_at"


def test_the_claims_of_a_customer_open_the_work_queue_by_key_not_by_id_number(client, agent, claim, customer):
    response = signed_in(client, agent).get(reverse("claims:customer_claims", args=[customer.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('claims:claim_list')}?customer_pk={customer.pk}&sort=-created_at"
    assert customer.id_number not in response["Location"]
    queue = client.get(response["Location"]).content.decode()
    assert claim.number in queue


def test_the_claims_of_another_books_policy_or_customer_are_404(client, outsider_agent, policy, customer):
    signed_in(client, outsider_agent)

    assert client.get(reverse("claims:policy_claims", args=[policy.pk]), headers=HTMX).status_code == 404
    assert client.get(reverse("claims:customer_claims", args=[customer.pk]), headers=HTMX).status_code == 404


# --- the dashboard ------------------------------------------------------------------------------------


def test_the_supervisor_dashboard_shows_claims_by_status_ageing_and_approved_this_month(
    client, agent, approver, reviewed, policy
):
    file_claim(policy=policy, actor=agent, claimed_amount="1000000")
    services.claim_approve(claim=reviewed, actor=approver, amount="4000000", note="ok")

    body = signed_in(client, approver).get(reverse("dashboard:dashboard")).content.decode()

    assert 'data-testid="claims-card"' in body
    assert 'id="claims-data"' in body
    assert "COP 4,000,000.00" in body
    assert "?status=OPEN&amp;age=0-7&amp;sort=created_at" in body


def test_the_claims_card_says_what_to_do_when_there_are_none(client, agent):
    body = signed_in(client, agent).get(reverse("dashboard:dashboard")).content.decode()

    assert "No claims yet. When a customer reports a loss, open the policy and file a claim" in body


def test_an_approved_claim_offers_finance_to_prepare_its_payout(client, approver, reviewed, finance_user):
    url = reverse("claims:claim_detail", args=[reviewed.pk])
    before = signed_in(client, finance_user).get(url).content.decode()
    services.claim_approve(claim=reviewed, actor=approver, amount="5000000", note="ok")

    for_finance = client.get(url).content.decode()
    for_supervisor = signed_in(client, approver).get(url).content.decode()

    link = reverse("payments:payout_prepare", args=[reviewed.pk])
    assert link not in before
    assert f'href="{link}"' in for_finance
    assert link not in for_supervisor


def test_the_claim_pages_speak_spanish_with_colombian_money(client, agent, policy):
    claim = file_claim(policy=policy, actor=agent, claimed_amount="1234567.5")
    signed_in(client, agent)
    client.cookies["django_language"] = "es-co"  # as the language switch leaves it

    queue_body = client.get(reverse("claims:claim_list"), {"status": "OPEN"}).content.decode()
    page_body = client.get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()

    assert '<html lang="es-co">' in queue_body
    assert "COP 1.234.567,50" in queue_body and "COP 1.234.567,50" in page_body
