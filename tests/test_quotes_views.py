"""The quote pages: the new-quote form that re-prices as inputs change, the quote list, and the
quote page with its actions (present, accept, decline, issue) for each role and scope.

The factories' product prices RC at 12 ‰ and PT at 20 ‰ of the sum insured, adds 20 % expense
loading and 19 % IVA: for COP 100,000,000 with both coverages that is 3,200,000 risk premium,
640,000 loading, 729,600 IVA, 4,569,600 in total.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.policies import services
from portal.policies.models import Coverage, Policy, Quote, RatingRule
from portal.policies.views import ADD_QUOTE_REASON, CHANGE_QUOTE_REASON

from .factories import CustomerFactory, ProductFactory, make_quote
from .helpers import HTMX, signed_in

STAFF_ONLY = "The portal is for Amparo staff. Customers use the Amparo mobile app."
FULL_COVER_TOTAL = "COP 4,569,600.00"


@pytest.fixture
def life_product(db):
    """Rated by age: one mandatory coverage and a factor for the 41-60 band."""
    life = ProductFactory(
        name="Vida Plus",
        line="LIFE",
        requires_age=True,
        min_age=18,
        max_age=70,
        min_sum_insured=Decimal("10000000"),
        max_sum_insured=Decimal("900000000"),
        standard_cover=False,
    )
    Coverage.objects.create(
        product=life, code="DEATH", name="Muerte", limit_pct=100, rate_per_mille=Decimal("3"), is_mandatory=True
    )
    RatingRule.objects.create(
        product=life, factor="AGE", low=Decimal("41"), high=Decimal("60"), multiplier=Decimal("1.5"), label="Edad 41-60"
    )
    return life


def quote_inputs(customer, product, **changes):
    data = {
        "customer": customer.pk,
        "product": product.pk,
        "start_date": timezone.localdate().isoformat(),
        "sum_insured": "100000000",
        "coverage_codes": ["PT"],
        "inputs_for": f"{product.pk}:{customer.pk}",
    }
    data.update(changes)
    return data


def status_of(quote):
    quote.refresh_from_db()
    return quote.status


# --- the new-quote form -------------------------------------------------------------------------------


def test_the_new_quote_form_preselects_the_customer_asked_for_and_starts_cover_today(client, agent, customer, product):
    response = signed_in(client, agent).get(reverse("policies:quote_create"), {"customer": customer.pk})

    assert response.status_code == 200
    form = response.context["form"]
    assert form["customer"].value() == customer.pk
    assert form["start_date"].value() == timezone.localdate()
    body = response.content.decode()
    assert 'hx-post="/quotes/price/"' in body
    assert 'hx-trigger="change, input changed delay:400ms"' in body
    assert 'data-testid="price-hint"' in body


def test_a_customer_outside_the_book_is_not_preselected(client, agent, product, outsider):
    stranger = CustomerFactory(agent=outsider, created_by=outsider)

    response = signed_in(client, agent).get(reverse("policies:quote_create"), {"customer": stranger.pk})

    assert response.context["form"]["customer"].value() is None
    assert stranger.full_name not in response.content.decode()


def test_the_price_partial_shows_the_breakdown_with_the_right_total(client, agent, customer, product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, product), headers=HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="breakdown"' in body
    assert "Responsabilidad civil" in body and "Pérdida total" in body
    assert "COP 3,200,000.00" in body  # risk premium
    assert "Expense loading (20 %)" in body and "COP 640,000.00" in body
    assert "IVA (19 %)" in body and "COP 729,600.00" in body
    assert FULL_COVER_TOTAL in body
    assert "hx-swap-oob" not in body  # same product and customer: the coverage inputs stay as they are
    assert Quote.objects.count() == 0


def test_the_mandatory_coverage_is_priced_even_though_its_checkbox_is_not_posted(client, agent, customer, product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, product, coverage_codes=[]), headers=HTMX
    )

    body = response.content.decode()
    assert 'data-testid="total-premium">COP 1,713,600.00<' in body
    assert "<td>Responsabilidad civil</td>" in body and "<td>Pérdida total</td>" not in body


def test_the_price_partial_shows_the_factor_applied_with_its_label_and_multiplier(client, agent, customer, product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, product, sum_insured="300000000"), headers=HTMX
    )

    body = response.content.decode()
    assert "Factor: Suma asegurada alta" in body
    assert "\N{MULTIPLICATION SIGN} 0.9" in body
    assert "COP 12,337,920.00" in body


def test_the_price_partial_says_when_the_minimum_premium_applies(client, agent, customer, product):
    product.min_premium = Decimal("5000000")
    product.save()

    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, product), headers=HTMX
    )

    body = response.content.decode()
    assert 'data-testid="minimum-applied"' in body
    assert "COP 7,140,000.00" in body  # 5,000,000 net + 20 % loading + 19 % IVA


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sum_insured": "-5"}, "The sum insured must be more than zero."),
        ({"sum_insured": "5000"}, "For Auto Total the sum insured goes from COP 10,000,000.00 to COP 500,000,000.00."),
        ({"sum_insured": "lots"}, "Enter a number."),
        ({"coverage_codes": ["PT", "FLOOD"]}, "Auto Total has no coverage FLOOD."),
    ],
)
def test_invalid_pricing_inputs_answer_422_with_the_message_and_write_nothing(
    client, agent, customer, product, changes, message
):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, product, **changes), headers=HTMX
    )

    assert response.status_code == 422
    assert 'data-testid="price-errors"' in response.content.decode()
    assert message in response.content.decode()
    assert Quote.objects.count() == 0


def test_a_product_rated_by_age_without_an_age_answers_422_asking_for_it(client, agent, life_product):
    unborn = CustomerFactory(agent=agent, created_by=agent, birth_date=None)

    response = signed_in(client, agent).post(
        reverse("policies:quote_price"),
        quote_inputs(unborn, life_product, coverage_codes=[], insured_age=""),
        headers=HTMX,
    )

    assert response.status_code == 422
    assert "This product is rated by age: enter the insured&#x27;s age or birth date." in response.content.decode()


def test_an_age_outside_the_product_range_answers_422(client, agent, customer, life_product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"), quote_inputs(customer, life_product, insured_age="80"), headers=HTMX
    )

    assert response.status_code == 422
    assert "Vida Plus insures people aged 18 to 70." in response.content.decode()


def test_before_a_product_and_sum_insured_are_given_the_preview_only_explains(client, agent, customer, product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_price"),
        {**quote_inputs(customer, product), "product": "", "sum_insured": ""},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert 'data-testid="price-hint"' in response.content.decode()


def test_changing_the_product_swaps_in_its_coverages_all_chosen_and_prices_them(client, agent, customer, product):
    other = ProductFactory(name="Hogar Seguro", line="HOME")

    response = signed_in(client, agent).post(
        reverse("policies:quote_price"),
        quote_inputs(customer, other, coverage_codes=[], inputs_for=f"{product.pk}:{customer.pk}"),
        headers=HTMX,
    )

    body = response.content.decode()
    assert '<div id="product-inputs" hx-swap-oob="true">' in body
    assert f'value="{other.pk}:{customer.pk}"' in body
    assert 'value="PT" id="coverage-PT" checked' in body
    assert FULL_COVER_TOTAL in body


def test_the_age_is_prefilled_from_the_customer_birth_date_when_a_product_rated_by_age_is_chosen(
    client, agent, life_product
):
    today = timezone.localdate()
    customer = CustomerFactory(agent=agent, created_by=agent, birth_date=today.replace(year=today.year - 45))

    response = signed_in(client, agent).post(
        reverse("policies:quote_price"),
        quote_inputs(customer, life_product, coverage_codes=[], insured_age="", inputs_for=""),
        headers=HTMX,
    )

    assert response.status_code == 200
    assert 'name="insured_age" value="45"' in response.content.decode()
    assert "Factor: Edad 41-60" in response.content.decode()


def test_the_age_field_is_only_shown_for_products_rated_by_age(client, agent, customer, product, life_product):
    signed_in(client, agent)

    for chosen, shown in [(product, False), (life_product, True)]:
        response = client.post(
            reverse("policies:quote_price"),
            quote_inputs(customer, chosen, inputs_for=f":{customer.pk}"),
            headers=HTMX,
        )
        assert ('name="insured_age"' in response.content.decode()) is shown


def test_saving_and_presenting_creates_a_quoted_quote_with_the_frozen_price(client, agent, customer, product):
    data = quote_inputs(customer, product, save="present")

    response = signed_in(client, agent).post(reverse("policies:quote_create"), data)

    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:quote_detail", args=[quote.pk])
    assert quote.status == Quote.Status.QUOTED
    assert quote.premium == Decimal("4569600.00")
    assert quote.valid_until == timezone.localdate() + timedelta(days=30)
    assert quote.created_by == agent


def test_saving_a_draft_keeps_the_quote_a_draft(client, agent, customer, product):
    signed_in(client, agent).post(reverse("policies:quote_create"), quote_inputs(customer, product, save="draft"))

    assert Quote.objects.get().status == Quote.Status.DRAFT


def test_a_quote_for_a_customer_outside_the_book_is_refused_with_a_form_error(client, agent, product, outsider):
    stranger = CustomerFactory(agent=outsider, created_by=outsider)

    response = signed_in(client, agent).post(reverse("policies:quote_create"), quote_inputs(stranger, product))

    assert response.status_code == 422
    assert "Select a valid choice" in str(response.context["form"].errors["customer"])
    assert Quote.objects.count() == 0


def test_a_start_date_in_the_past_is_refused_on_the_field_and_writes_nothing(client, agent, customer, product):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    response = signed_in(client, agent).post(
        reverse("policies:quote_create"), quote_inputs(customer, product, start_date=yesterday)
    )

    assert response.status_code == 422
    assert response.context["form"].errors["start_date"] == [
        "Cover cannot start in the past; the earliest start is today."
    ]
    assert Quote.objects.count() == 0
    assert not AuditEvent.objects.filter(action="quote.created").exists()


def test_an_unpriceable_quote_is_refused_with_the_rating_message(client, agent, customer, product):
    response = signed_in(client, agent).post(
        reverse("policies:quote_create"), quote_inputs(customer, product, sum_insured="0")
    )

    assert response.status_code == 422
    assert response.context["form"].errors["sum_insured"] == ["The sum insured must be more than zero."]
    assert Quote.objects.count() == 0


def test_a_supervisor_quotes_for_a_customer_of_an_agent_on_their_team(client, supervisor, customer, product):
    response = signed_in(client, supervisor).post(reverse("policies:quote_create"), quote_inputs(customer, product))

    assert response.status_code == 302
    assert Quote.objects.get().created_by == supervisor


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_cannot_open_the_quote_form_or_price(client, make_user, customer, product, role):
    signed_in(client, make_user(role))

    page = client.get(reverse("policies:quote_create"))
    preview = client.post(reverse("policies:quote_price"), quote_inputs(customer, product), headers=HTMX)

    assert page.status_code == 403 and str(ADD_QUOTE_REASON) in page.content.decode()
    assert preview.status_code == 403


def test_a_customer_account_is_refused_the_quote_pages(client, client_user):
    response = signed_in(client, client_user).get(reverse("policies:quote_list"))

    assert response.status_code == 403
    assert STAFF_ONLY in response.content.decode()


def test_the_price_preview_answers_only_to_post(client, agent):
    assert signed_in(client, agent).get(reverse("policies:quote_price")).status_code == 405


# --- the quote list -------------------------------------------------------------------------------------


def test_the_quote_list_shows_the_quotes_of_the_book_only(client, agent, customer, product, outsider):
    mine = make_quote(customer=customer, product=product)
    theirs = make_quote(customer=CustomerFactory(agent=outsider, created_by=outsider), product=product)

    response = signed_in(client, agent).get(reverse("policies:quote_list"))

    body = response.content.decode()
    assert mine.number in body
    assert theirs.number not in body


def test_the_quote_list_filters_by_customer_name_or_id_and_answers_htmx_with_the_results(
    client, agent, customer, product
):
    lucia = make_quote(customer=customer, product=product)
    other = make_quote(customer=CustomerFactory(agent=agent, created_by=agent, full_name="Mateo Gil"), product=product)
    signed_in(client, agent)

    by_name = client.get(reverse("policies:quote_list"), {"customer": "lucía"}, headers=HTMX)
    by_id = client.get(reverse("policies:quote_list"), {"customer": other.customer.id_number})

    assert "<html" not in by_name.content.decode()
    assert lucia.number in by_name.content.decode() and other.number not in by_name.content.decode()
    assert other.number in by_id.content.decode() and lucia.number not in by_id.content.decode()


def test_the_quote_list_filters_by_status_and_validity(client, agent, customer, product):
    draft = make_quote(customer=customer, product=product, present=False)
    quoted = make_quote(customer=customer, product=product)
    signed_in(client, agent)
    day = quoted.valid_until.isoformat()

    by_status = client.get(reverse("policies:quote_list"), {"status": "DRAFT"}).content.decode()
    by_validity = client.get(
        reverse("policies:quote_list"), {"valid_until_after": day, "valid_until_before": day}
    ).content.decode()

    assert draft.number in by_status and quoted.number not in by_status
    assert quoted.number in by_validity and draft.number not in by_validity


def test_the_quote_list_makes_the_same_number_of_queries_for_5_and_30_quotes(client, admin_user, product):
    signed_in(client, admin_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("policies:quote_list")).status_code == 200
        return len(captured)

    for _ in range(5):
        make_quote(customer=CustomerFactory(), product=product)
    with_five = queries()
    for _ in range(25):
        make_quote(customer=CustomerFactory(), product=product)

    assert queries() == with_five


def test_the_empty_quote_list_says_what_to_do(client, agent):
    response = signed_in(client, agent).get(reverse("policies:quote_list"))

    assert "No quotes yet. Open a customer and choose “New quote”" in response.content.decode()


# --- the quote page and its actions ------------------------------------------------------------------


def test_the_quote_page_shows_the_inputs_the_frozen_breakdown_and_the_days_left(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).get(reverse("policies:quote_detail", args=[quote.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert quote.number in body and "Lucía Restrepo" in body and "COP 100,000,000.00" in body
    assert "Premium breakdown (frozen)" in body and FULL_COVER_TOTAL in body
    assert "(30 days left)" in body
    assert 'text-bg-primary" data-testid="status-badge">Quoted<' in body


def test_a_quote_past_its_validity_says_it_expired(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    response = signed_in(client, agent).get(reverse("policies:quote_detail", args=[quote.pk]))

    assert "Expired on" in response.content.decode()


def test_the_quote_page_answers_htmx_with_the_quote_partial(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).get(reverse("policies:quote_detail", args=[quote.pk]), headers=HTMX)

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="quote-panel"')
    assert "<html" not in body


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin_user", "finance_user", "auditor"])
def test_the_book_and_the_read_only_roles_open_the_quote(client, request, customer, product, who):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, request.getfixturevalue(who)).get(reverse("policies:quote_detail", args=[quote.pk]))

    assert response.status_code == 200


def test_an_agent_of_another_team_gets_404_for_the_quote_and_its_actions(client, customer, product, outsider):
    quote = make_quote(customer=customer, product=product)
    signed_in(client, outsider)

    assert client.get(reverse("policies:quote_detail", args=[quote.pk])).status_code == 404
    assert client.post(reverse("policies:quote_accept", args=[quote.pk]), headers=HTMX).status_code == 404
    assert status_of(quote) == Quote.Status.QUOTED


@pytest.mark.parametrize("who", ["finance_user", "auditor"])
def test_read_only_roles_see_no_action_buttons_and_are_refused_the_actions(client, request, customer, product, who):
    quote = make_quote(customer=customer, product=product)
    signed_in(client, request.getfixturevalue(who))

    page = client.get(reverse("policies:quote_detail", args=[quote.pk])).content.decode()
    response = client.post(reverse("policies:quote_accept", args=[quote.pk]), headers=HTMX)

    assert 'data-testid="quote-actions"' not in page
    assert response.status_code == 403 and str(CHANGE_QUOTE_REASON) in response.content.decode()
    assert status_of(quote) == Quote.Status.QUOTED


def test_a_draft_offers_present_and_decline_only(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product, present=False)

    body = signed_in(client, agent).get(reverse("policies:quote_detail", args=[quote.pk])).content.decode()

    assert 'data-testid="present"' in body and 'data-testid="decline"' in body
    assert 'data-testid="accept"' not in body and 'data-testid="issue"' not in body


def test_presenting_a_draft_over_htmx_swaps_the_quote_panel_with_its_new_status(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product, present=False)

    response = signed_in(client, agent).post(
        reverse("policies:quote_present", args=[quote.pk]), {"seen_state": "DRAFT"}, headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="quote-panel"')
    assert 'data-testid="accept"' in body
    assert "Quote presented: its price holds until" in body
    assert status_of(quote) == Quote.Status.QUOTED


def test_accepting_a_quoted_quote_as_the_supervisor_of_its_agent(client, supervisor, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, supervisor).post(
        reverse("policies:quote_accept", args=[quote.pk]), {"seen_state": "QUOTED"}, headers=HTMX
    )

    assert response.status_code == 200
    assert 'data-testid="issue"' in response.content.decode()
    assert status_of(quote) == Quote.Status.ACCEPTED


def test_accepting_with_a_plain_post_redirects_to_the_quote_with_a_message(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).post(reverse("policies:quote_accept", args=[quote.pk]), follow=True)

    assert response.redirect_chain == [(reverse("policies:quote_detail", args=[quote.pk]), 302)]
    assert "Quote accepted." in response.content.decode()


def test_declining_without_a_reason_answers_422_with_the_message_and_changes_nothing(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).post(
        reverse("policies:quote_decline", args=[quote.pk]), {"seen_state": "QUOTED", "reason": " "}, headers=HTMX
    )

    assert response.status_code == 422
    assert "Say why the quote is declined." in response.content.decode()
    assert status_of(quote) == Quote.Status.QUOTED


def test_declining_with_a_reason_asks_for_confirmation_and_records_it(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    signed_in(client, agent)

    page = client.get(reverse("policies:quote_detail", args=[quote.pk])).content.decode()
    response = client.post(
        reverse("policies:quote_decline", args=[quote.pk]),
        {"seen_state": "QUOTED", "reason": "Found a cheaper offer"},
        headers=HTMX,
    )

    assert 'hx-confirm="Decline this quote?' in page
    assert response.status_code == 200
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DECLINED
    assert quote.decline_reason == "Found a cheaper offer"


def test_issuing_an_accepted_quote_redirects_htmx_to_the_new_policy(client, agent, customer, product):
    quote = services.quote_accept(quote=make_quote(customer=customer, product=product), actor=agent)

    response = signed_in(client, agent).post(
        reverse("policies:quote_issue", args=[quote.pk]), {"seen_state": "ACCEPTED"}, headers=HTMX
    )

    policy = Policy.objects.get(quote=quote)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("policies:policy_detail", args=[policy.pk])
    assert policy.current_version.premium == Decimal("4569600.00")


def test_issuing_with_a_plain_post_redirects_to_the_new_policy(client, admin_user, customer, product):
    quote = services.quote_accept(quote=make_quote(customer=customer, product=product), actor=customer.agent)

    response = signed_in(client, admin_user).post(reverse("policies:quote_issue", args=[quote.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("policies:policy_detail", args=[Policy.objects.get(quote=quote).pk])


def test_issuing_a_quote_someone_else_already_issued_answers_409_with_the_fresh_panel(
    client, agent, supervisor, customer, product
):
    quote = services.quote_accept(quote=make_quote(customer=customer, product=product), actor=agent)
    services.policy_issue(quote=quote, actor=supervisor)

    response = signed_in(client, agent).post(
        reverse("policies:quote_issue", args=[quote.pk]), {"seen_state": "ACCEPTED"}, headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert "changed while you were looking at it: it is now issued. Nothing was done." in body
    assert 'data-testid="issued-policy"' in body
    assert Policy.objects.filter(quote=quote).count() == 1


def test_a_service_refusal_because_the_quote_moved_on_is_a_conflict_even_without_the_seen_state(
    client, agent, supervisor, customer, product
):
    quote = services.quote_accept(quote=make_quote(customer=customer, product=product), actor=agent)
    services.policy_issue(quote=quote, actor=supervisor)

    response = signed_in(client, agent).post(reverse("policies:quote_accept", args=[quote.pk]), headers=HTMX)

    assert response.status_code == 409
    assert "is «Issued», so it cannot be accepted." in response.content.decode()


def test_a_stale_plain_post_flashes_the_conflict_and_redirects_to_the_quote(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    services.quote_decline(quote=quote, actor=agent, reason="Changed their mind")

    response = signed_in(client, agent).post(
        reverse("policies:quote_accept", args=[quote.pk]), {"seen_state": "QUOTED"}, follow=True
    )

    assert response.redirect_chain == [(reverse("policies:quote_detail", args=[quote.pk]), 302)]
    assert "it is now declined. Nothing was done." in response.content.decode()
    assert status_of(quote) == Quote.Status.DECLINED


def test_accepting_a_quote_past_its_validity_expires_it_and_says_so(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    response = signed_in(client, agent).post(
        reverse("policies:quote_accept", args=[quote.pk]), {"seen_state": "QUOTED"}, headers=HTMX
    )

    assert response.status_code == 409
    assert "validity has passed, so it expired instead" in response.content.decode()


def test_quote_actions_answer_only_to_post(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    signed_in(client, agent)

    for name in ["quote_present", "quote_accept", "quote_decline", "quote_issue"]:
        assert client.get(reverse(f"policies:{name}", args=[quote.pk])).status_code == 405


def test_in_spanish_the_date_picker_still_gets_an_iso_date_and_money_is_formatted_the_colombian_way(
    client, agent, customer, product
):
    signed_in(client, agent)
    client.cookies["django_language"] = "es-co"  # as the language switch leaves it

    page = client.get(reverse("policies:quote_create")).content.decode()
    preview = client.post(
        reverse("policies:quote_price"), quote_inputs(customer, product), headers=HTMX
    ).content.decode()

    assert f'name="start_date" value="{timezone.localdate().isoformat()}"' in page
    assert "COP 4.569.600,00" in preview


def test_an_expired_or_declined_quote_offers_a_new_quote_for_the_same_customer(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)
    services.quote_decline(quote=quote, actor=agent, reason="Too expensive")

    body = signed_in(client, agent).get(reverse("policies:quote_detail", args=[quote.pk])).content.decode()

    assert 'data-testid="quote-actions"' not in body
    assert f'href="{reverse("policies:quote_create")}?customer={customer.pk}" data-testid="requote"' in body
    assert "Too expensive" in body


def test_a_decline_reason_longer_than_255_characters_is_refused_on_the_field(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).post(
        reverse("policies:quote_decline", args=[quote.pk]), {"seen_state": "QUOTED", "reason": "x" * 256}, headers=HTMX
    )

    assert response.status_code == 422
    assert "Ensure this value has at most 255 characters (it has 256)." in response.content.decode()
    assert status_of(quote) == Quote.Status.QUOTED


def test_a_decline_refused_on_a_plain_post_flashes_the_reason_and_redirects(client, agent, customer, product):
    quote = make_quote(customer=customer, product=product)

    response = signed_in(client, agent).post(
        reverse("policies:quote_decline", args=[quote.pk]), {"seen_state": "QUOTED", "reason": ""}, follow=True
    )

    assert response.redirect_chain == [(reverse("policies:quote_detail", args=[quote.pk]), 302)]
    assert "Say why the quote is declined." in response.content.decode()
    assert status_of(quote) == Quote.Status.QUOTED
