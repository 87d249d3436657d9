"""The customer pages through Django's test client: who may open what (by role and by book), the
list with its filters, sorting, paging, exports and HTMX partial, the form (422 and nothing written
on bad input), the live duplicate hint (never naming a customer outside the user's book) and the
customer's page with their policies and quotes."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from portal.accounts.models import IdType, Role
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.views import ADD_REASON, CHANGE_REASON, VIEW_REASON
from portal.policies.services import quote_create

from .factories import CustomerFactory, ProductFactory, TeamFactory, UserFactory, issue_policy
from .helpers import HTMX

STAFF_ONLY = "The portal is for Amparo staff. Customers use the Amparo mobile app."


# --- people and books -------------------------------------------------------------------------------


@pytest.fixture
def other_team(db):
    return TeamFactory()


@pytest.fixture
def other_supervisor(other_team):
    return other_team.supervisor


@pytest.fixture
def outsider_agent(other_team):
    return UserFactory(role=Role.AGENT, team=other_team, full_name="Octavio Fuera")


@pytest.fixture
def own_customer(agent):
    return CustomerFactory(agent=agent, full_name="Lucía Propia", id_number="1001", email_primary="lucia@correo.test")


@pytest.fixture
def foreign_customer(outsider_agent):
    return CustomerFactory(
        agent=outsider_agent, full_name="Fernando Ajeno", id_number="2002", email_primary="fernando@correo.test"
    )


def body_of(response):
    return response.content.decode()


# --- access: role and book ---------------------------------------------------------------------------

# Who may open each page of `own_customer` (in `agent`'s book, on `supervisor`'s team).
ACCESS = {
    "customer_list": {
        "agent": 200,
        "supervisor": 200,
        "outsider_agent": 200,
        "other_supervisor": 200,
        "finance_user": 200,
        "auditor": 200,
        "admin_user": 200,
    },
    "customer_create": {
        "agent": 200,
        "supervisor": 200,
        "outsider_agent": 200,
        "other_supervisor": 200,
        "finance_user": 403,
        "auditor": 403,
        "admin_user": 200,
    },
    "customer_detail": {
        "agent": 200,
        "supervisor": 200,
        "outsider_agent": 404,
        "other_supervisor": 404,
        "finance_user": 200,
        "auditor": 200,
        "admin_user": 200,
    },
    "customer_edit": {
        "agent": 200,
        "supervisor": 200,
        "outsider_agent": 404,
        "other_supervisor": 404,
        "finance_user": 403,
        "auditor": 403,
        "admin_user": 200,
    },
}
REASONS = {"customer_create": ADD_REASON, "customer_edit": CHANGE_REASON}
ON_A_CUSTOMER = {"customer_detail", "customer_edit"}


def page_url(name, customer):
    return reverse(f"customers:{name}", args=[customer.pk] if name in ON_A_CUSTOMER else [])


@pytest.mark.parametrize(
    ("page", "viewer", "status"),
    [(page, viewer, status) for page, by_viewer in ACCESS.items() for viewer, status in by_viewer.items()],
)
def test_each_role_opens_only_the_customer_pages_of_its_role_and_book(
    client, request, own_customer, outsider_agent, other_supervisor, page, viewer, status
):
    client.force_login(request.getfixturevalue(viewer))

    response = client.get(page_url(page, own_customer))

    assert response.status_code == status
    if status == 403:
        assert str(REASONS[page]) in body_of(response)


@pytest.mark.parametrize("page", list(ACCESS))
def test_clients_are_refused_by_the_portal(client, client_user, own_customer, page):
    client.force_login(client_user)

    response = client.get(page_url(page, own_customer))

    assert response.status_code == 403
    assert STAFF_ONLY in body_of(response)


@pytest.mark.parametrize("page", list(ACCESS))
def test_anonymous_visitors_are_sent_to_sign_in(client, own_customer, page):
    response = client.get(page_url(page, own_customer))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_staff_user_without_the_customer_permission_is_told_who_may_see_customers(client, make_user):
    stray = make_user(Role.AGENT)
    stray.groups.clear()
    client.force_login(stray)

    response = client.get(reverse("customers:customer_list"))

    assert response.status_code == 403
    assert str(VIEW_REASON) in body_of(response)


def test_an_agent_cannot_open_another_teams_customer_by_url(client, agent, foreign_customer):
    client.force_login(agent)

    for name in ("customer_detail", "customer_edit"):
        assert client.get(page_url(name, foreign_customer)).status_code == 404


def test_an_agent_cannot_change_another_teams_customer_by_posting_to_it(client, agent, foreign_customer):
    client.force_login(agent)

    response = client.post(page_url("customer_edit", foreign_customer), form_data(foreign_customer, city="Pasto"))

    assert response.status_code == 404
    foreign_customer.refresh_from_db()
    assert foreign_customer.city != "Pasto"


# --- the list ---------------------------------------------------------------------------------------


def listed_names(response):
    return [row.record.full_name for row in response.context["table"].page.object_list]


def test_an_agent_lists_only_their_own_customers(client, agent, own_customer, foreign_customer):
    client.force_login(agent)

    response = client.get(reverse("customers:customer_list"))

    assert listed_names(response) == ["Lucía Propia"]
    assert "Fernando Ajeno" not in body_of(response)


def test_a_supervisor_lists_the_customers_of_their_teams_agents(
    client, supervisor, team, own_customer, foreign_customer
):
    teammates_customer = CustomerFactory(agent=UserFactory(role=Role.AGENT, team=team), full_name="Teresa Equipo")
    client.force_login(supervisor)

    names = listed_names(client.get(reverse("customers:customer_list")))

    assert names == sorted([own_customer.full_name, teammates_customer.full_name])


@pytest.mark.parametrize("viewer", ["finance_user", "auditor", "admin_user"])
def test_oversight_roles_list_every_customer(client, request, own_customer, foreign_customer, viewer):
    client.force_login(request.getfixturevalue(viewer))

    names = listed_names(client.get(reverse("customers:customer_list")))

    assert names == ["Fernando Ajeno", "Lucía Propia"]


def test_the_list_shows_each_customers_columns_and_policy_count(client, agent, own_customer):
    issue_policy(customer=own_customer, actor=agent)
    issue_policy(customer=own_customer, actor=agent)
    client.force_login(agent)

    body = body_of(client.get(reverse("customers:customer_list")))

    for heading in ("Name", "ID", "Email", "Phone", "City", "Agent", "Policies", "Created"):
        assert f">{heading}</a>" in body, heading
    assert "CC 1001" in body
    assert "lucia@correo.test" in body
    assert agent.full_name in body
    assert reverse("customers:customer_detail", args=[own_customer.pk]) in body
    row = client.get(reverse("customers:customer_list")).context["table"].page.object_list[0]
    assert row.get_cell("policy_count") == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "lucía"}, ["Lucía Propia"]),
        ({"q": "10 01"}, ["Lucía Propia"]),
        ({"q": "PABLO@correo"}, ["Pablo Segundo"]),
        ({"q": "segundo.alt"}, ["Pablo Segundo"]),
        ({"id_type": IdType.PA}, ["Pablo Segundo"]),
        ({"city": "medel"}, ["Pablo Segundo"]),
        ({"created_from": "2026-03-01"}, ["Pablo Segundo"]),
        ({"created_to": "2026-02-28"}, ["Lucía Propia"]),
        ({"created_from": "2026-01-15", "created_to": "2026-01-15"}, ["Lucía Propia"]),
        ({"q": "nobody"}, []),
    ],
)
def test_the_list_filters_by_text_id_type_city_and_creation_date(client, supervisor, own_customer, query, expected):
    Customer.objects.filter(pk=own_customer.pk).update(created_at=timezone.make_aware(datetime(2026, 1, 15)))
    CustomerFactory(
        agent=own_customer.agent,
        full_name="Pablo Segundo",
        id_type=IdType.PA,
        id_number="X77",
        email_primary="pablo@correo.test",
        email_secondary="segundo.alt@correo.test",
        city="Medellín",
        created_at=timezone.make_aware(datetime(2026, 3, 10)),
    )
    client.force_login(supervisor)

    assert listed_names(client.get(reverse("customers:customer_list"), query)) == expected


def test_the_agent_filter_offers_only_agents_whose_book_the_user_sees(
    client, supervisor, agent, own_customer, outsider_agent, foreign_customer
):
    client.force_login(supervisor)

    response = client.get(reverse("customers:customer_list"))

    choices = list(response.context["filter"].form.fields["agent"].queryset)
    assert choices == [agent]
    assert outsider_agent.full_name not in body_of(response)


def test_filtering_by_an_agent_outside_the_book_is_refused_and_lists_nothing_more(
    client, supervisor, own_customer, outsider_agent, foreign_customer
):
    client.force_login(supervisor)

    response = client.get(reverse("customers:customer_list"), {"agent": outsider_agent.pk})

    assert response.status_code == 200
    assert "agent" in response.context["filter"].form.errors
    assert "Fernando Ajeno" not in body_of(response)


def test_the_list_filters_by_agent(client, admin_user, own_customer, foreign_customer, outsider_agent):
    client.force_login(admin_user)

    assert listed_names(client.get(reverse("customers:customer_list"), {"agent": outsider_agent.pk})) == [
        "Fernando Ajeno"
    ]


def test_the_list_sorts_by_policy_count_and_by_agent(client, admin_user, agent, own_customer, foreign_customer):
    agent.full_name = "Alba Agente"
    agent.save(update_fields=["full_name"])
    issue_policy(customer=foreign_customer, actor=admin_user)
    client.force_login(admin_user)
    url = reverse("customers:customer_list")

    assert listed_names(client.get(url, {"sort": "-policy_count"})) == ["Fernando Ajeno", "Lucía Propia"]
    assert listed_names(client.get(url, {"sort": "policy_count"})) == ["Lucía Propia", "Fernando Ajeno"]
    assert listed_names(client.get(url, {"sort": "agent"})) == ["Lucía Propia", "Fernando Ajeno"]
    assert listed_names(client.get(url, {"sort": "-agent"})) == ["Fernando Ajeno", "Lucía Propia"]


def test_the_list_pages_by_25(client, agent):
    CustomerFactory.create_batch(30, agent=agent)
    client.force_login(agent)
    url = reverse("customers:customer_list")

    first = client.get(url)
    second = client.get(url, {"page": 2})

    assert len(listed_names(first)) == 25
    assert len(listed_names(second)) == 5
    assert "30 customers" in body_of(first)


def test_the_list_answers_an_htmx_filter_with_only_the_results_partial(client, agent, own_customer):
    CustomerFactory(agent=agent, full_name="Zoe Otra")
    client.force_login(agent)
    url = reverse("customers:customer_list")

    partial = body_of(client.get(url, {"q": "zoe"}, headers={**HTMX, "HX-Target": "results"}))
    full = body_of(client.get(url, {"q": "zoe"}))

    assert "<html" not in partial
    assert 'data-testid="filter-form"' not in partial
    assert "Zoe Otra" in partial
    assert "Lucía Propia" not in partial
    assert "<html" in full
    assert 'data-testid="filter-form"' in full
    assert "Zoe Otra" in full


def test_the_export_links_carry_the_filters_and_follow_an_htmx_filter(client, agent, own_customer):
    client.force_login(agent)

    partial = body_of(client.get(reverse("customers:customer_list"), {"city": "Bog", "page": 1}, headers=HTMX))

    assert "?city=Bog&amp;export=csv" in partial
    assert "?city=Bog&amp;export=xlsx" in partial


def test_an_empty_book_says_how_to_add_the_first_customer(client, agent):
    client.force_login(agent)

    body = body_of(client.get(reverse("customers:customer_list")))

    assert "No customers yet — add the first one." in body
    assert 'data-testid="new-customer"' in body


def test_a_filter_that_matches_nothing_says_so(client, agent, own_customer):
    client.force_login(agent)

    body = body_of(client.get(reverse("customers:customer_list"), {"q": "nobody"}))

    assert "No customers match these filters." in body


@pytest.mark.parametrize("viewer", ["finance_user", "auditor"])
def test_read_only_roles_get_no_new_customer_button(client, request, own_customer, viewer):
    client.force_login(request.getfixturevalue(viewer))

    body = body_of(client.get(reverse("customers:customer_list")))

    assert 'data-testid="new-customer"' not in body
    assert reverse("customers:customer_create") not in body


def test_the_list_makes_the_same_number_of_queries_for_5_and_50_customers(client, agent):
    client.force_login(agent)
    url = reverse("customers:customer_list")

    def queries_for(count):
        CustomerFactory.create_batch(count - Customer.objects.count(), agent=agent)
        issue_policy(customer=Customer.objects.order_by("-pk").first(), actor=agent)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"sort": "-policy_count"}).status_code == 200
        return len(queries)

    assert queries_for(5) == queries_for(50)


# --- exports ----------------------------------------------------------------------------------------

EXPORT_HEADER = [
    "Name",
    "ID type",
    "ID number",
    "Primary email",
    "Secondary email",
    "Phone",
    "Address",
    "City",
    "Birth date",
    "Agent",
    "Team",
    "Policies",
    "Created",
]


@pytest.fixture
def export_book(agent, own_customer):
    """Lucía (Bogotá, one policy), 29 more in Bogotá and one in Cali whose name a spreadsheet would run."""
    issue_policy(customer=own_customer, actor=agent)
    CustomerFactory.create_batch(29, agent=agent, city="Bogotá")
    return CustomerFactory(agent=agent, full_name="=HYPERLINK(1)", city="Cali", id_number="3003")


def test_the_csv_export_holds_every_filtered_row_not_just_the_page(client, agent, export_book, foreign_customer):
    client.force_login(agent)

    response = client.get(reverse("customers:customer_list"), {"city": "bogot", "export": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="amparo-customers.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == EXPORT_HEADER
    assert len(rows) == 1 + 30
    lucia = next(row for row in rows if row[0] == "Lucía Propia")
    assert lucia[1:5] == ["CC", "1001", "lucia@correo.test", ""]
    assert lucia[9:12] == [agent.full_name, agent.team.name, "1"]
    assert lucia[12].startswith(timezone.localdate().isoformat())
    assert "Fernando Ajeno" not in {row[0] for row in rows}


def test_the_xlsx_export_holds_the_filtered_rows_with_formulas_neutralised(client, agent, export_book):
    client.force_login(agent)

    response = client.get(reverse("customers:customer_list"), {"city": "cali", "export": "xlsx"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == EXPORT_HEADER
    assert len(rows) == 2
    assert rows[1][:3] == ["'=HYPERLINK(1)", "CC", "3003"]
    assert rows[1][11] == 0
    assert [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"] == []


def test_an_export_with_a_bad_filter_shows_the_page_instead(client, agent, own_customer):
    client.force_login(agent)

    response = client.get(reverse("customers:customer_list"), {"created_from": "not-a-date", "export": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "created_from" in response.context["filter"].form.errors


# --- the form ---------------------------------------------------------------------------------------


def form_data(customer=None, **overrides):
    data = {
        "full_name": "Ana María Rojas",
        "id_type": IdType.CC,
        "id_number": "1020304050",
        "email_primary": "ana.rojas@correo.test",
        "email_secondary": "",
        "phone": "+57 300 111 2233",
        "address": "Carrera 7 # 71-21",
        "city": "Bogotá",
        "birth_date": "1985-04-12",
        "agent": "",
    }
    if customer is not None:
        data.update(
            {name: getattr(customer, name) or "" for name in data if name not in {"agent", "birth_date"}},
            agent=customer.agent_id,
            birth_date=customer.birth_date.isoformat() if customer.birth_date else "",
        )
    data.update(overrides)
    return data


def test_an_agent_registers_a_customer_in_their_own_book(client, agent):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data())

    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_detail", args=[customer.pk])
    assert (customer.full_name, customer.agent, customer.created_by) == ("Ana María Rojas", agent, agent)
    assert customer.birth_date == date(1985, 4, 12)
    assert AuditEvent.objects.filter(action="customer.created", target_id=str(customer.pk)).count() == 1
    follow = client.get(response["Location"])
    assert "Customer Ana María Rojas registered." in body_of(follow)


def test_an_agents_form_shows_the_agent_fixed_to_themselves(client, agent, team):
    teammate = UserFactory(role=Role.AGENT, team=team)
    client.force_login(agent)

    form = client.get(reverse("customers:customer_create")).context["form"]
    assert form.fields["agent"].disabled
    assert list(form.fields["agent"].queryset) == [agent]

    client.post(reverse("customers:customer_create"), form_data(agent=teammate.pk))
    assert Customer.objects.get().agent == agent


def test_a_supervisor_chooses_among_the_agents_of_their_team(client, supervisor, agent, outsider_agent):
    client.force_login(supervisor)

    form = client.get(reverse("customers:customer_create")).context["form"]

    assert not form.fields["agent"].disabled
    assert list(form.fields["agent"].queryset) == [agent]


def test_a_supervisor_cannot_register_a_customer_for_another_teams_agent(client, supervisor, outsider_agent):
    client.force_login(supervisor)

    response = client.post(reverse("customers:customer_create"), form_data(agent=outsider_agent.pk))

    assert response.status_code == 422
    assert response.context["form"].errors["agent"]
    assert not Customer.objects.exists()


def test_a_supervisor_registers_a_customer_for_their_agent(client, supervisor, agent):
    client.force_login(supervisor)

    response = client.post(reverse("customers:customer_create"), form_data(agent=agent.pk))

    assert response.status_code == 302
    assert Customer.objects.get().agent == agent


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": "   "}, "full_name", "This field is required."),
        ({"id_number": ""}, "id_number", "This field is required."),
        ({"email_primary": "not-an-email"}, "email_primary", "Enter a valid email address."),
        ({"birth_date": "31/02/1990"}, "birth_date", "Enter a valid date."),
        ({"birth_date": "2999-01-01"}, "birth_date", "The birth date cannot be in the future."),
        ({"id_type": "XX"}, "id_type", "Select a valid choice."),
    ],
)
def test_bad_input_answers_422_with_the_message_and_writes_nothing(client, agent, overrides, field, message):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data(**overrides))

    assert response.status_code == 422
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.filter(action="customer.created").exists()


def test_a_duplicate_id_number_is_refused_on_submit_with_a_field_error(client, agent, own_customer):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data(id_number=" 10 01 "))

    assert response.status_code == 422
    assert "Lucía Propia" in response.context["form"].errors["id_number"][0]
    assert Customer.objects.count() == 1


def test_a_duplicate_in_another_book_is_refused_on_submit(client, agent, foreign_customer):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data(email_primary="FERNANDO@correo.test"))

    assert response.status_code == 422
    assert response.context["form"].errors["email_primary"] == [
        "This email is already registered with another agent — ask your supervisor."
    ]
    assert foreign_customer.full_name not in body_of(response)
    assert Customer.objects.count() == 1


def test_an_htmx_submit_with_errors_answers_only_the_form_partial_with_422(client, agent):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data(full_name=""), headers=HTMX)

    body = body_of(response)
    assert response.status_code == 422
    assert "<html" not in body
    assert 'id="customer-form"' in body
    assert "This field is required." in body
    assert not Customer.objects.exists()


def test_an_htmx_submit_that_succeeds_redirects_the_browser_to_the_customer(client, agent):
    client.force_login(agent)

    response = client.post(reverse("customers:customer_create"), form_data(), headers=HTMX)

    customer = Customer.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("customers:customer_detail", args=[customer.pk])


def test_the_full_form_page_wires_the_live_duplicate_hint(client, agent):
    client.force_login(agent)

    body = body_of(client.get(reverse("customers:customer_create")))

    assert "<html" in body
    assert 'id="duplicate-hint"' in body
    assert body.count(f'hx-post="{reverse("customers:duplicate_check")}"') == 3
    assert 'type="date"' in body


def test_editing_a_customer_saves_the_change_and_audits_it(client, agent, own_customer):
    client.force_login(agent)

    response = client.post(page_url("customer_edit", own_customer), form_data(own_customer, city="Cali"))

    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.city == "Cali"
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.metadata == {"city": {"from": "Bogotá", "to": "Cali"}}


def test_the_edit_form_starts_from_the_customers_current_values(client, agent, own_customer):
    client.force_login(agent)

    body = body_of(client.get(page_url("customer_edit", own_customer)))

    assert 'value="Lucía Propia"' in body
    assert f'value="{own_customer.birth_date.isoformat()}"' in body
    hint_request = client.get(page_url("customer_edit", own_customer)).context["form"].fields["id_number"].widget.attrs
    assert f'exclude: "{own_customer.pk}"' in hint_request["hx-vals"]


def test_saving_an_unchanged_customer_writes_no_audit_event(client, agent, own_customer):
    client.force_login(agent)

    response = client.post(page_url("customer_edit", own_customer), form_data(own_customer))

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_a_supervisor_moves_a_customer_to_another_agent_of_the_team(client, supervisor, team, own_customer):
    teammate = UserFactory(role=Role.AGENT, team=team)
    client.force_login(supervisor)

    response = client.post(page_url("customer_edit", own_customer), form_data(own_customer, agent=teammate.pk))

    assert response.status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.agent == teammate


def test_an_edit_that_takes_another_customers_email_answers_422_and_changes_nothing(
    client, agent, own_customer, foreign_customer
):
    client.force_login(agent)

    response = client.post(
        page_url("customer_edit", own_customer),
        form_data(own_customer, email_primary="fernando@correo.test", city="Cali"),
        headers=HTMX,
    )

    assert response.status_code == 422
    assert 'id="customer-form"' in body_of(response)
    own_customer.refresh_from_db()
    assert (own_customer.email_primary, own_customer.city) == ("lucia@correo.test", "Bogotá")


@pytest.mark.parametrize("viewer", ["finance_user", "auditor"])
def test_read_only_roles_cannot_post_a_customer(client, request, own_customer, viewer):
    client.force_login(request.getfixturevalue(viewer))

    created = client.post(reverse("customers:customer_create"), form_data(agent=own_customer.agent_id))
    changed = client.post(page_url("customer_edit", own_customer), form_data(own_customer, city="Cali"))

    assert (created.status_code, changed.status_code) == (403, 403)
    assert Customer.objects.count() == 1
    own_customer.refresh_from_db()
    assert own_customer.city == "Bogotá"


# --- the live duplicate hint -----------------------------------------------------------------------


def duplicate_hint(client, **params):
    response = client.post(reverse("customers:duplicate_check"), params, headers=HTMX)
    return response.status_code, body_of(response)


def test_the_hint_names_a_duplicate_in_the_users_book_with_a_link(client, agent, own_customer):
    client.force_login(agent)

    status, body = duplicate_hint(client, id_type="CC", id_number="1001", email="")

    assert status == 200
    assert "<html" not in body
    assert f"Already a customer: Lucía Propia (agent {agent.full_name})" in body
    assert reverse("customers:customer_detail", args=[own_customer.pk]) in body


def test_the_hint_finds_an_email_duplicate_whatever_its_case(client, supervisor, own_customer):
    client.force_login(supervisor)

    _status, body = duplicate_hint(client, id_type="CC", id_number="999", email=" LUCIA@Correo.test ")

    assert "Already a customer: Lucía Propia" in body


def test_the_hint_never_names_a_duplicate_outside_the_users_book(client, agent, foreign_customer, outsider_agent):
    client.force_login(agent)

    _status, by_id = duplicate_hint(client, id_type="CC", id_number="2002", email="")
    _status, by_email = duplicate_hint(client, id_type="CC", id_number="", email="fernando@correo.test")

    assert "This ID number is already registered with another agent — ask your supervisor." in by_id
    assert "This email is already registered with another agent — ask your supervisor." in by_email
    for body in (by_id, by_email):
        assert "Fernando" not in body
        assert outsider_agent.full_name not in body
        assert reverse("customers:customer_detail", args=[foreign_customer.pk]) not in body


def test_the_hint_is_empty_when_nobody_holds_the_id_or_email(client, agent, own_customer):
    client.force_login(agent)

    status, body = duplicate_hint(client, id_type="CE", id_number="1001", email="nueva@correo.test")

    assert status == 200
    assert 'data-testid="duplicate-hint"' not in body


def test_the_hint_leaves_out_the_customer_being_edited(client, agent, own_customer):
    client.force_login(agent)

    _status, body = duplicate_hint(
        client, id_type="CC", id_number="1001", email="lucia@correo.test", exclude=own_customer.pk
    )

    assert 'data-testid="duplicate-hint"' not in body


def test_the_hint_for_editing_another_teams_customer_is_not_found(client, agent, foreign_customer):
    client.force_login(agent)

    status, _body = duplicate_hint(client, id_type="CC", id_number="2002", exclude=foreign_customer.pk)

    assert status == 404


def test_the_hint_ignores_malformed_input(client, agent, own_customer):
    client.force_login(agent)

    status, body = duplicate_hint(client, id_type="??", id_number="1001", exclude="abc")

    assert status == 200
    assert 'data-testid="duplicate-hint"' not in body


def test_clients_cannot_probe_the_duplicate_hint(client, client_user, own_customer):
    client.force_login(client_user)

    status, body = duplicate_hint(client, id_type="CC", id_number="1001")

    assert status == 403
    assert own_customer.full_name not in body


# --- the customer's page ----------------------------------------------------------------------------


def test_the_customer_page_shows_the_profile(client, supervisor, agent, team, own_customer):
    own_customer.birth_date = timezone.localdate().replace(year=timezone.localdate().year - 40) - timedelta(days=1)
    own_customer.address = "Calle 100 # 10-20"
    own_customer.user = UserFactory(role=Role.CLIENT)
    own_customer.save()
    client.force_login(supervisor)

    body = body_of(client.get(page_url("customer_detail", own_customer)))

    for text in ("Lucía Propia", "Cédula de ciudadanía 1001", "lucia@correo.test", "Calle 100 # 10-20", "Bogotá"):
        assert text in body, text
    assert "(40 years)" in body
    assert f"{agent.full_name} · {team.name}" in body
    assert '<span class="badge text-bg-success" data-testid="app-account">Yes</span>' in body
    assert f"Registered by {agent.full_name}" in body


def test_the_customer_page_lists_policies_and_quotes_with_links(client, agent, own_customer):
    policy = issue_policy(customer=own_customer, actor=agent)
    open_quote = quote_create(
        actor=agent,
        customer=own_customer,
        product=ProductFactory(),
        start_date=timezone.localdate() + timedelta(days=10),
        sum_insured=Decimal("80000000"),
        coverage_codes=["RC"],
    )
    client.force_login(agent)

    body = body_of(client.get(page_url("customer_detail", own_customer)))

    assert reverse("policies:policy_detail", args=[policy.pk]) in body
    assert policy.number in body
    assert policy.product.name in body
    assert reverse("policies:quote_detail", args=[open_quote.pk]) in body
    assert reverse("policies:quote_detail", args=[policy.quote.pk]) in body
    assert "Active" in body and "Quoted" in body and "Issued" in body
    assert f"COP {policy.current_version.premium:,.2f}" in body
    assert f"COP {open_quote.premium:,.2f}" in body


def test_the_customer_page_offers_edit_and_new_quote_to_agents(client, agent, own_customer):
    client.force_login(agent)

    body = body_of(client.get(page_url("customer_detail", own_customer)))

    assert page_url("customer_edit", own_customer) in body
    assert f"{reverse('policies:quote_create')}?customer={own_customer.pk}" in body


@pytest.mark.parametrize("viewer", ["finance_user", "auditor"])
def test_the_customer_page_is_read_only_for_finance_and_interventoria(client, request, own_customer, viewer):
    client.force_login(request.getfixturevalue(viewer))

    body = body_of(client.get(page_url("customer_detail", own_customer)))

    assert "Lucía Propia" in body
    assert 'data-testid="edit-customer"' not in body
    assert 'data-testid="new-quote"' not in body


def test_a_customer_without_policies_or_quotes_says_what_to_do(client, agent, own_customer):
    client.force_login(agent)

    body = body_of(client.get(page_url("customer_detail", own_customer)))

    assert "No policies yet." in body
    assert "No quotes yet." in body
    assert 'data-testid="app-account">No</span>' in body


def test_the_customer_page_makes_the_same_number_of_queries_for_1_and_4_policies(client, agent, own_customer):
    client.force_login(agent)
    url = page_url("customer_detail", own_customer)

    def queries_with(policies):
        while own_customer.policies.count() < policies:
            issue_policy(customer=own_customer, actor=agent)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(4)


def test_links_carry_ids_without_thousands_separators(client, agent):
    customer = CustomerFactory(pk=12345, agent=agent)
    client.force_login(agent)

    body = body_of(client.get(reverse("customers:customer_detail", args=[customer.pk])))

    assert "?customer=12345" in body


def test_an_xlsx_of_customers_too_large_for_the_request_is_refused_with_the_filters_kept(client, agent, monkeypatch):
    monkeypatch.setattr("portal.core.exports.XLSX_MAX_ROWS", 1)
    CustomerFactory(agent=agent, city="Cali")
    CustomerFactory(agent=agent, city="Cali")
    client.force_login(agent)

    response = client.get(reverse("customers:customer_list"), {"city": "Cali", "export": "xlsx"})

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_list") + "?city=Cali"


def test_the_duplicate_hint_takes_no_id_numbers_in_the_url(client, agent):
    client.force_login(agent)

    response = client.get(reverse("customers:duplicate_check"), {"id_type": "CC", "id_number": "1001"}, headers=HTMX)

    assert response.status_code == 405


def test_the_hint_finds_a_hidden_duplicate_by_id_even_typed_with_spaces(client, agent, foreign_customer):
    client.force_login(agent)

    status, body = duplicate_hint(client, id_type="CC", id_number=" 2 002 ", email="")

    assert status == 200
    assert "ID number is already registered with another agent" in body


@pytest.mark.parametrize(
    ("role", "offered"),
    [(Role.AGENT, True), (Role.SUPERVISOR, True), (Role.FINANCE, True), (Role.INTERVENTORIA, False)],
)
def test_the_customer_page_offers_an_online_payment_to_those_who_may_start_one(
    client, make_user, agent, supervisor, role, offered
):
    customer = CustomerFactory(agent=agent)
    viewer = {Role.AGENT: agent, Role.SUPERVISOR: supervisor}.get(role) or make_user(role)
    client.force_login(viewer)

    body = body_of(client.get(reverse("customers:customer_detail", args=[customer.pk])))

    assert customer.full_name in body
    assert ('data-testid="online-payment"' in body) is offered
    if offered:
        assert f"{reverse('gateways:payment_start')}?customer={customer.pk}" in body
