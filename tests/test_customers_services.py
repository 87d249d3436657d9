"""Customer rules in the services: who may put a customer in which book, duplicates (company-wide,
case and space insensitive), bad input refused with nothing written, and audited changes."""

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from portal.accounts.models import IdType, Role
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.services import customer_create, customer_update

from .factories import CustomerFactory, TeamFactory, UserFactory


def profile(**overrides):
    values = {
        "full_name": "Ana María Rojas",
        "id_type": IdType.CC,
        "id_number": "1020304050",
        "email_primary": "ana.rojas@correo.test",
        "phone": "+57 300 111 2233",
        "city": "Bogotá",
        "birth_date": date(1985, 4, 12),
    }
    values.update(overrides)
    return values


def refused(call):
    """Run `call`, which must be refused; return the errors by field."""
    with pytest.raises(ValidationError) as refusal:
        call()
    return refusal.value.message_dict


@pytest.fixture
def other_team_agent(db):
    return UserFactory(role=Role.AGENT, team=TeamFactory())


def test_agent_registers_a_customer_in_their_own_book_and_it_is_audited(agent):
    customer = customer_create(actor=agent, agent=agent, **profile(full_name="  Ana   María Rojas "))

    assert customer.agent == agent
    assert customer.created_by == agent
    assert customer.full_name == "Ana María Rojas"
    event = AuditEvent.objects.get(action="customer.created")
    assert (event.actor, event.target_id, event.metadata) == (agent, str(customer.pk), {"agent": agent.email_primary})


def test_id_number_and_email_are_stored_normalised(agent):
    customer = customer_create(
        actor=agent,
        agent=agent,
        **profile(id_type=IdType.PA, id_number=" ab 12 34 ", email_primary=" Ana@Correo.TEST "),
    )

    assert (customer.id_number, customer.email_primary) == ("AB1234", "ana@correo.test")


@pytest.mark.parametrize("typed", ["ab1234", "AB 1234", " a b 1 2 3 4 "])
def test_a_duplicate_id_number_is_refused_whatever_its_case_and_spaces(agent, typed):
    existing = CustomerFactory(agent=agent, id_type=IdType.PA, id_number="AB1234")

    errors = refused(
        lambda: customer_create(
            actor=agent, agent=agent, **profile(id_type=IdType.PA, id_number=typed, email_primary="otra@correo.test")
        )
    )

    assert existing.full_name in errors["id_number"][0]
    assert Customer.objects.count() == 1
    assert not AuditEvent.objects.filter(action="customer.created").exists()


def test_the_same_id_number_under_another_id_type_is_a_different_person(agent):
    CustomerFactory(agent=agent, id_type=IdType.CC, id_number="1020304050")

    customer = customer_create(actor=agent, agent=agent, **profile(id_type=IdType.CE))

    assert customer.id_type == IdType.CE


def test_a_duplicate_email_is_refused_whatever_its_case(agent):
    existing = CustomerFactory(agent=agent, email_primary="ana.rojas@correo.test")

    errors = refused(
        lambda: customer_create(actor=agent, agent=agent, **profile(email_primary=" ANA.Rojas@Correo.Test "))
    )

    assert errors["email_primary"] == [f"ana.rojas@correo.test is already the email of customer {existing.full_name}."]
    assert Customer.objects.count() == 1


def test_duplicates_are_refused_across_books(agent, other_team_agent):
    CustomerFactory(agent=other_team_agent, id_number="1020304050")

    errors = refused(lambda: customer_create(actor=agent, agent=agent, **profile()))

    assert "id_number" in errors
    assert Customer.objects.filter(agent=agent).count() == 0


def test_a_future_birth_date_is_refused(agent):
    tomorrow = timezone.localdate() + timedelta(days=1)

    errors = refused(lambda: customer_create(actor=agent, agent=agent, **profile(birth_date=tomorrow)))

    assert errors == {"birth_date": ["The birth date cannot be in the future."]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_name_is_refused(agent, name):
    errors = refused(lambda: customer_create(actor=agent, agent=agent, **profile(full_name=name)))

    assert errors == {"full_name": ["Enter the customer's full name."]}
    assert not Customer.objects.exists()


def test_a_blank_id_number_is_refused(agent):
    errors = refused(lambda: customer_create(actor=agent, agent=agent, **profile(id_number="  ")))

    assert errors == {"id_number": ["Enter the customer's ID number."]}


def test_every_problem_is_reported_at_once(agent):
    errors = refused(
        lambda: customer_create(
            actor=agent, agent=agent, **profile(full_name="", birth_date=timezone.localdate() + timedelta(days=3))
        )
    )

    assert set(errors) == {"full_name", "birth_date"}


def test_an_agent_cannot_put_a_customer_in_another_agents_book(agent, team):
    teammate = UserFactory(role=Role.AGENT, team=team)

    errors = refused(lambda: customer_create(actor=agent, agent=teammate, **profile()))

    assert errors == {"agent": ["Choose an active agent from your own book or team."]}
    assert not Customer.objects.exists()


def test_a_supervisor_assigns_customers_to_the_agents_of_their_team(supervisor, agent):
    customer = customer_create(actor=supervisor, agent=agent, **profile())

    assert (customer.agent, customer.created_by) == (agent, supervisor)


def test_a_supervisor_cannot_assign_a_customer_to_an_agent_of_another_team(supervisor, other_team_agent):
    errors = refused(lambda: customer_create(actor=supervisor, agent=other_team_agent, **profile()))

    assert "agent" in errors
    assert not Customer.objects.exists()


def test_a_customer_cannot_be_assigned_to_a_suspended_agent(admin_user, team):
    suspended = UserFactory(role=Role.AGENT, team=team, status="SUSPENDED")

    errors = refused(lambda: customer_create(actor=admin_user, agent=suspended, **profile()))

    assert "agent" in errors


def test_an_admin_may_assign_a_customer_to_any_agent(admin_user, other_team_agent):
    customer = customer_create(actor=admin_user, agent=other_team_agent, **profile())

    assert customer.agent == other_team_agent


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
def test_read_only_roles_cannot_register_customers(make_user, agent, role):
    errors = refused(lambda: customer_create(actor=make_user(role), agent=agent, **profile()))

    assert "agent" in errors
    assert not Customer.objects.exists()


def test_an_update_that_changes_nothing_writes_no_audit_event(agent):
    customer = CustomerFactory(agent=agent, phone="+57 300 111 2233")

    customer_update(customer=customer, actor=agent, phone=" +57  300 111 2233 ", agent=agent)

    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_an_update_records_each_changed_field_from_and_to(agent):
    customer = CustomerFactory(agent=agent, phone="+57 300 111 2233", city="Bogotá")

    customer_update(customer=customer, actor=agent, phone="+57 310 999 0000", city="Bogotá")

    customer.refresh_from_db()
    assert customer.phone == "+57 310 999 0000"
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.metadata == {"phone": {"from": "+57 300 111 2233", "to": "+57 310 999 0000"}}


def test_changing_the_agent_is_audited_with_from_and_to(supervisor, agent, team):
    teammate = UserFactory(role=Role.AGENT, team=team)
    customer = CustomerFactory(agent=agent)

    customer_update(customer=customer, actor=supervisor, agent=teammate)

    customer.refresh_from_db()
    assert customer.agent == teammate
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.actor == supervisor
    assert event.metadata == {"agent": {"from": agent.email_primary, "to": teammate.email_primary}}


def test_a_supervisor_cannot_move_a_customer_to_another_teams_agent(supervisor, agent, other_team_agent):
    customer = CustomerFactory(agent=agent)

    errors = refused(lambda: customer_update(customer=customer, actor=supervisor, agent=other_team_agent))

    assert "agent" in errors
    customer.refresh_from_db()
    assert customer.agent == agent
    assert not AuditEvent.objects.filter(action="customer.updated").exists()


def test_an_update_cannot_take_another_customers_email(agent):
    CustomerFactory(agent=agent, email_primary="taken@correo.test")
    customer = CustomerFactory(agent=agent, email_primary="mine@correo.test")

    errors = refused(lambda: customer_update(customer=customer, actor=agent, email_primary="TAKEN@correo.test"))

    assert "email_primary" in errors
    customer.refresh_from_db()
    assert customer.email_primary == "mine@correo.test"


def test_a_customer_keeps_their_own_id_number_and_email_on_update(agent):
    customer = CustomerFactory(agent=agent, id_number="1020304050", email_primary="mine@correo.test")

    customer_update(
        customer=customer, actor=agent, id_number="10 2030 4050", email_primary="MINE@correo.test", city="Cali"
    )

    customer.refresh_from_db()
    assert (customer.id_number, customer.email_primary, customer.city) == ("1020304050", "mine@correo.test", "Cali")


@pytest.mark.postgres
def test_two_agents_registering_the_same_id_number_at_once_make_exactly_one_customer(transactional_db, team):
    agents = [UserFactory(role=Role.AGENT, team=team) for _ in range(2)]
    start = threading.Barrier(len(agents))
    outcomes = []

    def register(agent, email):
        try:
            start.wait()
            customer_create(actor=agent, agent=agent, **profile(email_primary=email))
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=register, args=(agent, f"race{index}@correo.test"))
        for index, agent in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("created") == 1
    assert [type(outcome) for outcome in outcomes if outcome != "created"] == [ValidationError]
    assert Customer.objects.filter(id_number="1020304050").count() == 1
    assert AuditEvent.objects.filter(action="customer.created").count() == 1


def test_a_customer_is_linked_to_one_client_app_account_and_the_link_is_audited(agent, client_user, admin_user):
    from portal.audit.models import AuditEvent
    from portal.customers.services import customer_link_app_account

    customer = CustomerFactory(agent=agent)
    customer_link_app_account(customer=customer, user=client_user, actor=admin_user)

    customer.refresh_from_db()
    assert customer.user == client_user
    assert AuditEvent.objects.get(action="customer.app_account_linked").metadata == {
        "account": client_user.email_primary
    }
    with pytest.raises(ValidationError):
        customer_link_app_account(customer=CustomerFactory(agent=agent), user=client_user, actor=admin_user)
    with pytest.raises(ValidationError):
        customer_link_app_account(customer=customer, user=agent, actor=admin_user)
