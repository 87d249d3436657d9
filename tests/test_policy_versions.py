"""Policy versions: version 1 at issuance, one new version per change, and old versions that never change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError

from portal.policies.models import Policy, PolicyVersion
from portal.policies.selectors import version_in_force_on
from portal.policies.services import (
    policy_cancel,
    policy_endorse,
    policy_issue,
    policy_reinstate,
    policy_renew,
    quote_accept,
    quote_create,
)

from .factories import ProductFactory


def issue_policy(*, actor, customer, product, start_date, sum_insured="100000000", coverage_codes=("PT",)):
    quote = quote_create(
        actor=actor,
        customer=customer,
        product=product,
        start_date=start_date,
        sum_insured=sum_insured,
        coverage_codes=list(coverage_codes),
    )
    return policy_issue(quote=quote_accept(quote=quote, actor=actor), actor=actor)


@pytest.fixture
def policy(agent, customer, today):
    return issue_policy(actor=agent, customer=customer, product=ProductFactory(code="AUTO"), start_date=today)


def every_field(version):
    """All stored values of a version, read back from the database."""
    stored = PolicyVersion.objects.get(pk=version.pk)
    return {field.attname: getattr(stored, field.attname) for field in PolicyVersion._meta.concrete_fields}


# --- version 1 ------------------------------------------------------------------------------------------------


def test_issuance_writes_version_one_of_kind_new_business_from_the_quote(policy, agent, today):
    quote = policy.quote
    version = policy.current_version

    assert list(PolicyVersion.objects.filter(policy=policy)) == [version]
    assert (version.number, version.kind) == (1, PolicyVersion.Kind.NEW_BUSINESS)
    assert version.effective_date == version.start_date == quote.start_date == today
    assert version.end_date == quote.end_date
    assert (version.sum_insured, version.currency, version.insured_age) == (Decimal("100000000.00"), "COP", None)
    assert version.premium == version.premium_change == quote.premium
    assert version.breakdown == quote.breakdown
    assert version.coverages == quote.breakdown["coverages"]
    assert version.created_by == agent
    assert version.reason == ""


def test_a_renewal_is_a_new_policy_whose_version_one_is_of_kind_renewal(agent, customer, today):
    monthly = ProductFactory(code="MES", term_months=1)
    renewed = issue_policy(actor=agent, customer=customer, product=monthly, start_date=today)

    renewal = policy_renew(policy=renewed, actor=agent)

    version = renewal.current_version
    assert (version.number, version.kind) == (1, PolicyVersion.Kind.RENEWAL)
    assert version.start_date == renewed.current_version.end_date
    assert version.reason == ""
    assert PolicyVersion.objects.filter(policy=renewed).count() == 1


# --- each change appends version n + 1 ------------------------------------------------------------------------


def test_every_change_appends_the_next_version_and_the_policy_points_at_it(policy, agent, today):
    changes = [
        (
            PolicyVersion.Kind.ENDORSEMENT,
            lambda: policy_endorse(
                policy=policy,
                actor=agent,
                effective_date=today + timedelta(days=10),
                reason="Higher value",
                sum_insured="150000000",
            ),
        ),
        (
            PolicyVersion.Kind.CANCELLATION,
            lambda: policy_cancel(
                policy=policy, actor=agent, effective_date=today + timedelta(days=40), reason="Sold the car"
            ),
        ),
        (
            PolicyVersion.Kind.REINSTATEMENT,
            lambda: policy_reinstate(policy=policy, actor=agent, reason="Sale fell through"),
        ),
        (
            PolicyVersion.Kind.ENDORSEMENT,
            lambda: policy_endorse(
                policy=policy,
                actor=agent,
                effective_date=today + timedelta(days=60),
                reason="Drops total loss",
                coverage_codes=[],
            ),
        ),
    ]
    for number, (kind, change) in enumerate(changes, start=2):
        change()

        policy.refresh_from_db()
        assert (policy.current_version.number, policy.current_version.kind) == (number, kind)
        assert list(PolicyVersion.objects.filter(policy=policy).values_list("number", flat=True)) == list(
            range(1, number + 1)
        )


def test_old_versions_never_change_however_many_changes_follow(policy, agent, today):
    history = [every_field(policy.current_version)]

    policy_endorse(
        policy=policy, actor=agent, effective_date=today + timedelta(days=5), reason="More", sum_insured="200000000"
    )
    history.append(every_field(Policy.objects.get(pk=policy.pk).current_version))
    policy_endorse(
        policy=policy, actor=agent, effective_date=today + timedelta(days=9), reason="Less", coverage_codes=[]
    )
    history.append(every_field(Policy.objects.get(pk=policy.pk).current_version))
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=20), reason="Moving abroad")
    history.append(every_field(Policy.objects.get(pk=policy.pk).current_version))
    policy_reinstate(policy=policy, actor=agent, reason="Staying after all")

    stored = [every_field(version) for version in PolicyVersion.objects.filter(policy=policy).order_by("number")]
    assert stored[: len(history)] == history
    assert stored[0]["sum_insured"] == Decimal("100000000.00")
    assert [line["code"] for line in stored[0]["coverages"]] == ["RC", "PT"]
    assert len(stored) == 5


# --- the model refuses changes ----------------------------------------------------------------------------------


def test_saving_an_existing_version_is_refused(policy):
    version = policy.current_version
    version.sum_insured = Decimal("1")

    with pytest.raises(TypeError, match="immutable"):
        version.save()

    assert every_field(version)["sum_insured"] == Decimal("100000000.00")


def test_deleting_a_version_is_refused(policy):
    with pytest.raises(TypeError, match="immutable"):
        policy.current_version.delete()

    assert PolicyVersion.objects.filter(policy=policy).count() == 1


def test_versions_cannot_be_updated_or_deleted_in_bulk(policy):
    versions = PolicyVersion.objects.filter(policy=policy)

    with pytest.raises(TypeError, match="immutable"):
        versions.update(premium=Decimal("0"))
    with pytest.raises(TypeError, match="immutable"):
        PolicyVersion.objects.all().delete()
    with pytest.raises(TypeError, match="immutable"):
        policy.versions.update(reason="rewritten")
    with pytest.raises(TypeError, match="immutable"):
        policy.versions.all().delete()
    version = policy.current_version
    version.premium = Decimal("0")
    with pytest.raises(TypeError, match="immutable"), transaction.atomic():
        PolicyVersion.objects.bulk_update([version], ["premium"])

    assert every_field(version)["premium"] == policy.quote.premium
    assert versions.count() == 1


def test_a_policy_with_versions_cannot_be_deleted(policy):
    with pytest.raises(ProtectedError):
        Policy.objects.filter(pk=policy.pk).delete()

    assert PolicyVersion.objects.filter(policy=policy).count() == 1


def test_two_versions_of_a_policy_cannot_share_a_number(policy, agent):
    current = policy.current_version
    duplicate = {
        field: getattr(current, field)
        for field in ("kind", "effective_date", "start_date", "end_date", "sum_insured", "currency", "premium")
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.create(
            policy=policy, number=1, premium_change=Decimal("0"), created_by=agent, **duplicate
        )

    assert PolicyVersion.objects.filter(policy=policy).count() == 1


# --- the database refuses changes (PostgreSQL trigger) ---------------------------------------------------------


@pytest.mark.postgres
def test_database_refuses_a_raw_update_of_a_policy_version(policy):
    version = policy.current_version
    before = every_field(version)

    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE policies_policyversion SET premium = 0 WHERE id = %s", [version.pk])

    assert every_field(version) == before


@pytest.mark.postgres
def test_database_refuses_a_raw_delete_of_a_policy_version(policy):
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM policies_policyversion WHERE id = %s", [policy.current_version_id])

    assert PolicyVersion.objects.filter(pk=policy.current_version_id).exists()


@pytest.mark.postgres
def test_database_refuses_an_unfiltered_raw_update_of_the_versions_table(policy):
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE policies_policyversion SET reason = 'rewritten'")

    assert PolicyVersion.objects.get(pk=policy.current_version_id).reason == ""


# --- the version in force on a day ------------------------------------------------------------------------------


def test_the_version_in_force_on_a_day_follows_the_effective_dates(policy, agent, today):
    policy_endorse(
        policy=policy, actor=agent, effective_date=today + timedelta(days=30), reason="More", sum_insured="200000000"
    )
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=90), reason="Sold the car")
    versions = {v.number: v for v in PolicyVersion.objects.filter(policy=policy)}

    assert version_in_force_on(policy, today - timedelta(days=1)) is None
    assert version_in_force_on(policy, today) == versions[1]
    assert version_in_force_on(policy, today + timedelta(days=29)) == versions[1]
    assert version_in_force_on(policy, today + timedelta(days=30)) == versions[2]
    assert version_in_force_on(policy, today + timedelta(days=89)) == versions[2]
    assert version_in_force_on(policy, today + timedelta(days=90)) is None


def test_after_a_reinstatement_the_restored_terms_are_in_force_again(policy, agent, today):
    policy_cancel(policy=policy, actor=agent, effective_date=today + timedelta(days=40), reason="Sold the car")
    policy_reinstate(policy=policy, actor=agent, reason="Sale fell through")

    in_force = version_in_force_on(policy, today + timedelta(days=40))

    assert (in_force.number, in_force.kind) == (3, PolicyVersion.Kind.REINSTATEMENT)
    assert version_in_force_on(policy, policy.current_version.end_date) is None
