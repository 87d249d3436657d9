"""Quote rules: create, present, accept, decline, expire and issue; a frozen price; audit in the same transaction."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from portal.audit.models import AuditEvent
from portal.core.dates import add_months
from portal.core.models import NumberSequence
from portal.policies.models import Coverage, Policy, PolicyVersion, Quote
from portal.policies.services import (
    policy_issue,
    quote_accept,
    quote_create,
    quote_decline,
    quote_present,
    quotes_expire_overdue,
)

from .factories import CustomerFactory, ProductFactory

# The factory product: RC (mandatory, 12 per mille) + PT (20 per mille), loading 20 %, IVA 19 %.
PREMIUM_100M_RC_PT = Decimal("4569600.00")
PREMIUM_100M_RC_PT_WITH_PT_AT_40 = Decimal("7425600.00")


@pytest.fixture
def make_quote(agent, customer, product, today):
    def make(**overrides):
        values = {
            "actor": agent,
            "customer": customer,
            "product": product,
            "start_date": today + timedelta(days=7),
            "sum_insured": "100000000",
            "coverage_codes": ["PT"],
        }
        values.update(overrides)
        return quote_create(**values)

    return make


def quote_actions(quote):
    return list(
        AuditEvent.objects.filter(target_type="policies.quote", target_id=str(quote.pk))
        .order_by("occurred_at", "id")
        .values_list("action", flat=True)
    )


def same_day_next_year(day):
    return day.replace(year=day.year + 1)


def not_29_february(day):
    return day + timedelta(days=1) if (day.month, day.day) == (2, 29) else day


# --- quote_create ---------------------------------------------------------------------------------------------


def test_a_presented_quote_is_quoted_with_its_price_and_valid_for_the_products_validity_days(
    make_quote, agent, customer, product, today
):
    quote = make_quote()

    quote.refresh_from_db()
    assert quote.status == Quote.Status.QUOTED
    assert quote.valid_until == today + timedelta(days=30)
    assert (quote.customer, quote.product, quote.created_by) == (customer, product, agent)
    assert quote.coverage_codes == ["RC", "PT"]
    assert quote.sum_insured == Decimal("100000000.00")
    assert quote.currency == "COP"
    assert quote.premium == PREMIUM_100M_RC_PT
    assert Decimal(quote.breakdown["total"]) == quote.premium
    assert [line["code"] for line in quote.breakdown["coverages"]] == ["RC", "PT"]


def test_the_validity_follows_the_product(make_quote, product, today):
    product.quote_validity_days = 5
    product.save()

    assert make_quote().valid_until == today + timedelta(days=5)


def test_a_quote_saved_without_presenting_it_is_a_draft_with_no_validity(make_quote):
    quote = make_quote(present=False)

    quote.refresh_from_db()
    assert quote.status == Quote.Status.DRAFT
    assert quote.valid_until is None
    assert quote.premium == PREMIUM_100M_RC_PT
    assert quote_actions(quote) == ["quote.created"]


def test_quote_numbers_are_cot_year_and_a_six_digit_sequence(make_quote, today):
    first, second = make_quote(), make_quote(present=False)

    assert re.fullmatch(rf"COT-{today.year}-\d{{6}}", first.number)
    assert first.number == f"COT-{today.year}-000001"
    assert second.number == f"COT-{today.year}-000002"


def test_quote_numbers_start_again_each_year(make_quote, today):
    make_quote()
    new_year = date(today.year + 1, 1, 2)

    quote = make_quote(start_date=new_year + timedelta(days=7), as_of=new_year)

    assert quote.number == f"COT-{today.year + 1}-000001"
    assert quote.valid_until == new_year + timedelta(days=30)


def test_the_cover_ends_the_same_day_a_term_later(make_quote, today):
    start = not_29_february(today + timedelta(days=10))

    quote = make_quote(start_date=start)

    assert quote.end_date == same_day_next_year(start)


def test_a_one_month_cover_from_31_january_ends_on_the_last_day_of_february(make_quote, today):
    monthly = ProductFactory(code="MES", term_months=1)
    start = date(today.year, 1, 31)
    if start < today:
        start = date(today.year + 1, 1, 31)
    february_days = 29 if start.year % 4 == 0 and (start.year % 100 != 0 or start.year % 400 == 0) else 28

    quote = make_quote(product=monthly, start_date=start)

    assert quote.end_date == date(start.year, 2, february_days)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        pytest.param(date(2027, 1, 31), 1, date(2027, 2, 28), id="31 January + 1 in a common year"),
        pytest.param(date(2028, 1, 31), 1, date(2028, 2, 29), id="31 January + 1 in a leap year"),
        pytest.param(date(2028, 2, 29), 12, date(2029, 2, 28), id="29 February + 12"),
        pytest.param(date(2026, 5, 31), 1, date(2026, 6, 30), id="31 May + 1"),
        pytest.param(date(2026, 8, 31), 6, date(2027, 2, 28), id="31 August + 6 crosses the year"),
        pytest.param(date(2026, 12, 15), 1, date(2027, 1, 15), id="December + 1 crosses the year"),
        pytest.param(date(2026, 12, 31), 12, date(2027, 12, 31), id="31 December + 12"),
        pytest.param(date(2026, 1, 15), 24, date(2028, 1, 15), id="two years"),
    ],
)
def test_add_months_keeps_the_day_or_falls_back_to_the_months_last_day(day, months, expected):
    assert add_months(day, months) == expected


@pytest.fixture
def life_product(db):
    return ProductFactory(code="VIDA", line="LIFE", requires_age=True, min_age=18, max_age=70)


def test_the_insured_age_is_the_customers_age_on_the_start_date(make_quote, agent, life_product, today):
    start = not_29_february(today + timedelta(days=10))
    turns_40_on_start = CustomerFactory(agent=agent, birth_date=start.replace(year=start.year - 40))

    quote = make_quote(customer=turns_40_on_start, product=life_product, start_date=start)

    assert turns_40_on_start.age_on(today) == 39
    assert quote.insured_age == 40


def test_a_declared_insured_age_is_used_as_declared(make_quote, life_product):
    assert make_quote(product=life_product, insured_age=35).insured_age == 35


def test_a_product_not_rated_by_age_keeps_no_age(make_quote):
    assert make_quote(insured_age=35).insured_age is None


def test_an_age_rated_quote_for_a_customer_without_birth_date_asks_for_the_age(make_quote, agent, life_product):
    undated = CustomerFactory(agent=agent, birth_date=None)

    with pytest.raises(ValidationError) as refused:
        make_quote(customer=undated, product=life_product)

    assert "insured_age" in refused.value.message_dict
    assert not Quote.objects.exists()


# --- the frozen price -------------------------------------------------------------------------------------------


def raise_pt_rate_to_40(product):
    Coverage.objects.filter(product=product, code="PT").update(rate_per_mille=Decimal("40"))


def test_acceptance_and_issuance_keep_the_price_the_quote_showed(make_quote, agent, product):
    quote = make_quote()
    shown = dict(quote.breakdown)
    raise_pt_rate_to_40(product)

    accepted = quote_accept(quote=quote, actor=agent)
    policy = policy_issue(quote=accepted, actor=agent)

    accepted.refresh_from_db()
    assert accepted.premium == PREMIUM_100M_RC_PT
    assert accepted.breakdown == shown
    version = policy.current_version
    assert version.premium == version.premium_change == PREMIUM_100M_RC_PT
    assert version.breakdown == shown
    assert [line["rate_per_mille"] for line in version.coverages] == ["12.0000", "20.0000"]
    assert make_quote().premium == PREMIUM_100M_RC_PT_WITH_PT_AT_40


def test_presenting_a_draft_prices_it_again_with_todays_rates(make_quote, agent, product):
    draft = make_quote(present=False)
    raise_pt_rate_to_40(product)

    presented = quote_present(quote=draft, actor=agent)

    presented.refresh_from_db()
    assert presented.status == Quote.Status.QUOTED
    assert presented.premium == PREMIUM_100M_RC_PT_WITH_PT_AT_40
    assert presented.breakdown["coverages"][1]["premium"] == "4000000.00"


def test_a_draft_of_a_product_taken_off_sale_cannot_be_presented(make_quote, agent, product):
    draft = make_quote(present=False)
    product.is_active = False
    product.save()

    with pytest.raises(ValidationError) as refused:
        quote_present(quote=draft, actor=agent)

    assert "product" in refused.value.message_dict
    draft.refresh_from_db()
    assert draft.status == Quote.Status.DRAFT
    assert quote_actions(draft) == ["quote.created"]


def test_a_draft_whose_start_date_has_passed_cannot_be_presented(make_quote, agent):
    draft = make_quote(present=False)

    with pytest.raises(ValidationError) as refused:
        quote_present(quote=draft, actor=agent, as_of=draft.start_date + timedelta(days=1))

    assert "start_date" in refused.value.message_dict
    draft.refresh_from_db()
    assert draft.status == Quote.Status.DRAFT
    assert quote_actions(draft) == ["quote.created"]


# --- transitions from the wrong state ------------------------------------------------------------------------


@pytest.fixture
def quote_in(make_quote, agent):
    def make(status):
        if status == Quote.Status.DRAFT:
            return make_quote(present=False)
        quote = make_quote()
        if status == Quote.Status.ACCEPTED:
            quote = quote_accept(quote=quote, actor=agent)
        elif status == Quote.Status.DECLINED:
            quote = quote_decline(quote=quote, actor=agent, reason="Too expensive")
        elif status == Quote.Status.ISSUED:
            policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
        elif status == Quote.Status.EXPIRED:
            quotes_expire_overdue(today=quote.valid_until + timedelta(days=1))
        quote.refresh_from_db()
        assert quote.status == status
        return quote

    return make


ACTIONS = {
    "present": lambda quote, actor: quote_present(quote=quote, actor=actor),
    "accept": lambda quote, actor: quote_accept(quote=quote, actor=actor),
    "decline": lambda quote, actor: quote_decline(quote=quote, actor=actor, reason="Customer changed their mind"),
    "issue": lambda quote, actor: policy_issue(quote=quote, actor=actor),
}

WRONG_STATES = [
    ("present", Quote.Status.QUOTED),
    ("present", Quote.Status.ACCEPTED),
    ("present", Quote.Status.DECLINED),
    ("present", Quote.Status.ISSUED),
    ("present", Quote.Status.EXPIRED),
    ("accept", Quote.Status.DRAFT),
    ("accept", Quote.Status.ACCEPTED),
    ("accept", Quote.Status.DECLINED),
    ("accept", Quote.Status.ISSUED),
    ("accept", Quote.Status.EXPIRED),
    ("decline", Quote.Status.DECLINED),
    ("decline", Quote.Status.ISSUED),
    ("decline", Quote.Status.EXPIRED),
    ("issue", Quote.Status.DRAFT),
    ("issue", Quote.Status.QUOTED),
    ("issue", Quote.Status.DECLINED),
    ("issue", Quote.Status.ISSUED),
    ("issue", Quote.Status.EXPIRED),
]


@pytest.mark.parametrize(("action", "status"), WRONG_STATES, ids=[f"{a} a {s.lower()} quote" for a, s in WRONG_STATES])
def test_a_transition_from_the_wrong_state_is_refused_with_a_message_and_changes_nothing(
    quote_in, agent, action, status
):
    quote = quote_in(status)
    before = Quote.objects.filter(pk=quote.pk).values().get()
    events, policies = AuditEvent.objects.count(), Policy.objects.count()

    with pytest.raises(ValidationError) as refused:
        ACTIONS[action](quote, agent)

    assert f"is «{status.label}», so" in refused.value.messages[0]
    assert Quote.objects.filter(pk=quote.pk).values().get() == before
    assert (AuditEvent.objects.count(), Policy.objects.count()) == (events, policies)


@pytest.mark.parametrize("status", [Quote.Status.DRAFT, Quote.Status.QUOTED, Quote.Status.ACCEPTED])
def test_an_open_quote_can_be_declined_with_a_reason(quote_in, agent, status):
    quote = quote_in(status)

    declined = quote_decline(quote=quote, actor=agent, reason="  Found a cheaper insurer  ")

    declined.refresh_from_db()
    assert declined.status == Quote.Status.DECLINED
    assert declined.decline_reason == "Found a cheaper insurer"
    assert declined.decided_at is not None
    event = AuditEvent.objects.get(action="quote.declined")
    assert event.metadata == {"reason": "Found a cheaper insurer"}


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_declining_without_a_reason_is_refused_and_changes_nothing(quote_in, agent, reason):
    quote = quote_in(Quote.Status.QUOTED)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        quote_decline(quote=quote, actor=agent, reason=reason)

    assert "reason" in refused.value.message_dict
    quote.refresh_from_db()
    assert quote.status == Quote.Status.QUOTED
    assert AuditEvent.objects.count() == events


# --- validity ---------------------------------------------------------------------------------------------------


def test_accepting_after_the_validity_date_expires_the_quote_instead(make_quote, agent):
    quote = make_quote()

    result = quote_accept(quote=quote, actor=agent, as_of=quote.valid_until + timedelta(days=1))

    result.refresh_from_db()
    assert result.status == Quote.Status.EXPIRED
    assert result.decided_at is not None
    assert quote_actions(quote) == ["quote.created", "quote.presented", "quote.expired"]


def test_a_quote_can_still_be_accepted_on_its_last_valid_day(make_quote, agent):
    quote = make_quote()

    assert quote_accept(quote=quote, actor=agent, as_of=quote.valid_until).status == Quote.Status.ACCEPTED


def test_quotes_expire_overdue_expires_quoted_and_accepted_quotes_past_their_validity(quote_in, agent):
    quoted, accepted = quote_in(Quote.Status.QUOTED), quote_in(Quote.Status.ACCEPTED)
    draft, declined, issued = (quote_in(s) for s in (Quote.Status.DRAFT, Quote.Status.DECLINED, Quote.Status.ISSUED))
    last_valid_day = quoted.valid_until

    assert quotes_expire_overdue(today=last_valid_day) == 0
    assert quotes_expire_overdue(today=last_valid_day + timedelta(days=1)) == 2
    assert quotes_expire_overdue(today=last_valid_day + timedelta(days=1)) == 0

    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {
        quoted.pk: Quote.Status.EXPIRED,
        accepted.pk: Quote.Status.EXPIRED,
        draft.pk: Quote.Status.DRAFT,
        declined.pk: Quote.Status.DECLINED,
        issued.pk: Quote.Status.ISSUED,
    }
    events = AuditEvent.objects.filter(action="quote.expired")
    assert sorted(events.values_list("target_id", flat=True)) == sorted([str(quoted.pk), str(accepted.pk)])
    assert {(event.actor_id, event.actor_label) for event in events} == {(None, "scheduler")}


def test_issuing_an_accepted_quote_past_its_validity_is_refused_writes_no_policy_and_expires_the_quote(quote_in, agent):
    quote = quote_in(Quote.Status.ACCEPTED)
    day_after = quote.valid_until + timedelta(days=1)

    with pytest.raises(ValidationError) as refused:
        policy_issue(quote=quote, actor=agent, as_of=day_after)

    assert refused.value.messages == [f"This quote expired on {date_format(quote.valid_until)}; make a new quote."]
    assert not Policy.objects.exists()
    assert not PolicyVersion.objects.exists()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.EXPIRED
    assert quote_actions(quote)[-1] == "quote.expired"


def test_an_accepted_quote_can_still_be_issued_on_its_last_valid_day(make_quote, agent, today):
    quote = quote_accept(quote=make_quote(start_date=today + timedelta(days=60)), actor=agent)

    policy = policy_issue(quote=quote, actor=agent, as_of=quote.valid_until)

    assert policy.current_version.premium == quote.premium


def test_issuing_a_quote_whose_start_date_has_passed_is_refused_and_writes_no_policy(quote_in, agent):
    quote = quote_in(Quote.Status.ACCEPTED)

    with pytest.raises(ValidationError) as refused:
        policy_issue(quote=quote, actor=agent, as_of=quote.start_date + timedelta(days=1))

    assert "start date" in refused.value.messages[0]
    assert not Policy.objects.exists()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED


# --- bad input: a clear message and nothing written -----------------------------------------------------------


BAD_QUOTES = [
    pytest.param({"start_date": -1}, "start_date", id="start date yesterday"),
    pytest.param({"start_date": 366}, "start_date", id="start date more than a year ahead"),
    pytest.param({"start_date": None}, "start_date", id="no start date"),
    pytest.param({"product": "off sale"}, "product", id="product off sale"),
    pytest.param({"product": None}, "product", id="no product"),
    pytest.param({"product": "AUTO"}, "product", id="a product code instead of a product"),
    pytest.param({"customer": None}, "customer", id="no customer"),
    pytest.param({"sum_insured": "-100000000"}, "sum_insured", id="negative sum insured"),
    pytest.param({"sum_insured": "0"}, "sum_insured", id="zero sum insured"),
    pytest.param({"sum_insured": "cien millones"}, "sum_insured", id="non-numeric sum insured"),
    pytest.param({"sum_insured": "NaN"}, "sum_insured", id="NaN sum insured"),
    pytest.param({"coverage_codes": ["PT", "GRUA"]}, "coverage_codes", id="unknown coverage"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_QUOTES)
def test_bad_quote_input_is_refused_on_its_field_and_writes_nothing(make_quote, today, bad, field):
    if "start_date" in bad and bad["start_date"] is not None:
        bad = {"start_date": today + timedelta(days=bad["start_date"])}
    if bad.get("product") == "off sale":
        bad = {"product": ProductFactory(code="RETIRADO", is_active=False)}

    with pytest.raises(ValidationError) as refused:
        make_quote(**bad)

    assert field in refused.value.message_dict
    assert refused.value.message_dict[field][0].strip()
    assert not Quote.objects.exists()
    assert not AuditEvent.objects.filter(target_type="policies.quote").exists()
    assert not NumberSequence.objects.filter(key="quote").exists()


@pytest.mark.parametrize("days_ahead", [0, 365], ids=["starting today", "starting exactly a year ahead"])
def test_a_start_date_from_today_to_a_year_ahead_is_accepted(make_quote, today, days_ahead):
    quote = make_quote(start_date=today + timedelta(days=days_ahead))

    assert quote.start_date == today + timedelta(days=days_ahead)


# --- audit events: written with the change, never for a refusal -----------------------------------------------


@contextmanager
def audit_unavailable():
    failing = mock.Mock(side_effect=RuntimeError("audit unavailable"))
    with (
        mock.patch("portal.policies.services.quotes.audit_record", failing),
        mock.patch("portal.policies.services.issuance.audit_record", failing),
    ):
        yield


def test_each_step_of_a_quote_writes_its_audit_event_by_its_actor(make_quote, agent):
    quote = make_quote()
    quote = quote_accept(quote=quote, actor=agent)
    policy = policy_issue(quote=quote, actor=agent)

    assert quote_actions(quote) == ["quote.created", "quote.presented", "quote.accepted"]
    issued = AuditEvent.objects.get(action="policy.issued")
    assert (issued.target_type, issued.target_id) == ("policies.policy", str(policy.pk))
    assert issued.metadata["quote"] == quote.number
    assert issued.metadata["premium"] == str(PREMIUM_100M_RC_PT)
    assert set(AuditEvent.objects.values_list("actor", flat=True)) == {agent.pk}


def test_a_quote_is_not_written_when_its_audit_event_cannot_be(make_quote):
    with audit_unavailable(), pytest.raises(RuntimeError):
        make_quote()

    assert not Quote.objects.exists()


def test_an_acceptance_is_not_kept_when_its_audit_event_cannot_be(make_quote, agent):
    quote = make_quote()

    with audit_unavailable(), pytest.raises(RuntimeError):
        quote_accept(quote=quote, actor=agent)

    quote.refresh_from_db()
    assert quote.status == Quote.Status.QUOTED


def test_an_issuance_is_not_kept_when_its_audit_event_cannot_be(quote_in, agent):
    quote = quote_in(Quote.Status.ACCEPTED)

    with audit_unavailable(), pytest.raises(RuntimeError):
        policy_issue(quote=quote, actor=agent)

    assert not Policy.objects.exists()
    assert not PolicyVersion.objects.exists()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED


def test_presenting_a_draft_after_the_product_term_changed_prices_and_dates_the_new_term(agent, customer):
    product = ProductFactory(code="TERM", term_months=12)
    draft = quote_create(
        actor=agent,
        customer=customer,
        product=product,
        start_date=timezone.localdate(),
        sum_insured="100000000",
        coverage_codes=["PT"],
        present=False,
    )
    product.term_months = 6
    product.save(update_fields=["term_months"])

    quote = quote_present(quote=draft, actor=agent)

    assert quote.end_date == add_months(quote.start_date, 6)
    assert quote.premium < draft.premium
