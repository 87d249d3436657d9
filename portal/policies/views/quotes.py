"""The quote pages: list, new quote with a live price, the quote page and its steps."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal.core.exceptions import Conflict
from portal.core.forms import add_service_errors
from portal.core.listing import render_filtered_table
from portal.core.permissions import permission_required

from .. import lifecycle, services
from ..filters import QuoteFilter
from ..forms import QuoteForm, ReasonForm
from ..models import Quote
from ..rating import price
from ..selectors import policies_visible_to, quotes_visible_to
from ..tables import QuoteTable, status_badge
from .common import (
    ADD_POLICY_REASON,
    ADD_QUOTE_REASON,
    CHANGE_QUOTE_REASON,
    VIEW_QUOTE_REASON,
    labelled_errors,
    seen_state_changed,
)

# --- quotes ----------------------------------------------------------------------------------------


def _quote_state(quote):
    return quote.status


def _quote_actions(user, quote):
    """The buttons `user` sees on `quote`: what its state allows (the services' rule) and the user may do."""
    allowed = lifecycle.quote_actions_available(quote)
    may_change, may_issue = user.has_perm("policies.change_quote"), user.has_perm("policies.add_policy")
    return {action: allowed[action] and (may_issue if action == "issue" else may_change) for action in allowed}


def _price_preview(form):
    """The premium the form's inputs would get (rating.price writes nothing), or why it cannot be priced."""
    if not form.is_bound or not form.is_ready_to_price():
        return {"pricing": None, "price_errors": []}, 200
    errors = form.pricing_errors()
    if errors:
        return {"pricing": None, "price_errors": labelled_errors(form, errors)}, 422
    data = form.cleaned_data
    try:
        pricing = price(
            product=data["product"],
            sum_insured=data["sum_insured"],
            coverage_codes=data["coverage_codes"],
            insured_age=data["insured_age"],
        )
    except ValidationError as error:
        return {"pricing": None, "price_errors": labelled_errors(form, error.message_dict)}, 422
    return {"pricing": pricing, "price_errors": []}, 200


@permission_required("policies.view_quote", VIEW_QUOTE_REASON)
def quote_list(request):
    quote_filter = QuoteFilter(request.GET, queryset=quotes_visible_to(request.user))
    return render_filtered_table(
        request, "policies/quote_list.html", filterset=quote_filter, table_class=QuoteTable, per_page=25
    )


@permission_required("policies.add_quote", ADD_QUOTE_REASON)
def quote_create(request):
    if request.method != "POST":
        initial = QuoteForm.initial_for(user=request.user, customer_pk=request.GET.get("customer"))
        form = QuoteForm(initial=initial, user=request.user)
        context, _status = _price_preview(form)
        return render(request, "policies/quote_form.html", {"form": form, **context})
    form = QuoteForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        present = request.POST.get("save") != "draft"
        try:
            quote = services.quote_create(
                actor=request.user,
                customer=data["customer"],
                product=data["product"],
                start_date=data["start_date"],
                sum_insured=data["sum_insured"],
                coverage_codes=data["coverage_codes"],
                insured_age=data["insured_age"],
                payment_frequency=data["payment_frequency"],
                present=present,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if present:
                messages.success(
                    request,
                    _("Quote %(number)s presented: its price holds until %(day)s.")
                    % {"number": quote.number, "day": date_format(quote.valid_until, "SHORT_DATE_FORMAT")},
                )
            else:
                messages.success(request, _("Quote %(number)s saved as a draft.") % {"number": quote.number})
            return redirect("policies:quote_detail", pk=quote.pk)
    context, _status = _price_preview(form)
    return render(request, "policies/quote_form.html", {"form": form, **context}, status=422)


@require_POST
@permission_required("policies.add_quote", ADD_QUOTE_REASON)
def quote_price(request):
    data, refreshed = QuoteForm.refreshed_data(request.POST, user=request.user)
    form = QuoteForm(data, user=request.user)
    context, status = _price_preview(form)
    return render(
        request,
        "policies/quote_form.html#price",
        {"form": form, "refreshed_inputs": refreshed, **context},
        status=status,
    )


def _quote_context(request, quote, *, decline_form=None, action_errors=()):
    today = timezone.localdate()
    policy = policies_visible_to(request.user).filter(quote=quote).first()
    return {
        "quote": quote,
        "badge": status_badge(quote),
        "actions": _quote_actions(request.user, quote),
        "days_left": (quote.valid_until - today).days if quote.valid_until else None,
        "expired": lifecycle.quote_is_expired(quote, today=today),
        "policy": policy,
        "decline_form": decline_form or ReasonForm(auto_id="decline_%s"),
        "action_errors": action_errors,
        "seen_state": _quote_state(quote),
    }


@permission_required("policies.view_quote", VIEW_QUOTE_REASON)
def quote_detail(request, pk):
    quote = get_object_or_404(quotes_visible_to(request.user), pk=pk)
    template = "policies/quote_detail.html#quote" if request.htmx else "policies/quote_detail.html"
    return render(request, template, _quote_context(request, quote))


def _quote_conflict(request, quote, message):
    messages.error(request, message)
    if not request.htmx:
        return redirect("policies:quote_detail", pk=quote.pk)
    return render(request, "policies/quote_detail.html#quote", _quote_context(request, quote), status=409)


def _quote_action(request, pk, apply):
    """Run `apply(quote, data)` on a quote in the user's book; answer with the refreshed quote panel.

    `apply` returns (success message, URL to go to or None): issuing opens the new policy.
    """
    quote = get_object_or_404(quotes_visible_to(request.user), pk=pk)
    if seen_state_changed(request, _quote_state(quote)):
        return _quote_conflict(
            request,
            quote,
            _("Quote %(number)s changed while you were looking at it: it is now %(status)s. Nothing was done.")
            % {"number": quote.number, "status": quote.get_status_display().lower()},
        )
    form = ReasonForm(request.POST, auto_id="decline_%s")
    if form.is_valid():
        try:
            message, url = apply(quote, form.cleaned_data)
        except Conflict as error:
            fresh = quotes_visible_to(request.user).get(pk=quote.pk)
            return _quote_conflict(request, fresh, " ".join(error.messages))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, message)
            if url is not None:
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            if not request.htmx:
                return redirect("policies:quote_detail", pk=quote.pk)
            quote = quotes_visible_to(request.user).get(pk=quote.pk)
            return render(request, "policies/quote_detail.html#quote", _quote_context(request, quote))
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("policies:quote_detail", pk=quote.pk)
    context = _quote_context(request, quote, decline_form=form, action_errors=form.non_field_errors())
    return render(request, "policies/quote_detail.html#quote", context, status=422)


@require_POST
@permission_required("policies.change_quote", CHANGE_QUOTE_REASON)
def quote_present(request, pk):
    def apply(quote, data):
        quote = services.quote_present(quote=quote, actor=request.user)
        day = date_format(quote.valid_until, "SHORT_DATE_FORMAT")
        return _("Quote presented: its price holds until %(day)s.") % {"day": day}, None

    return _quote_action(request, pk, apply)


@require_POST
@permission_required("policies.change_quote", CHANGE_QUOTE_REASON)
def quote_accept(request, pk):
    def apply(quote, data):
        quote = services.quote_accept(quote=quote, actor=request.user)
        if quote.status == Quote.Status.EXPIRED:
            raise Conflict(_("This quote's validity has passed, so it expired instead; make a new quote."))
        return _("Quote accepted. Issue the policy when the customer is ready."), None

    return _quote_action(request, pk, apply)


@require_POST
@permission_required("policies.change_quote", CHANGE_QUOTE_REASON)
def quote_decline(request, pk):
    def apply(quote, data):
        services.quote_decline(quote=quote, actor=request.user, reason=data.get("reason", ""))
        return _("Quote declined."), None

    return _quote_action(request, pk, apply)


@require_POST
@permission_required("policies.add_policy", ADD_POLICY_REASON)
def quote_issue(request, pk):
    def apply(quote, data):
        policy = services.policy_issue(quote=quote, actor=request.user)
        message = _("Policy %(number)s issued.") % {"number": policy.number}
        return message, reverse("policies:policy_detail", args=[policy.pk])

    return _quote_action(request, pk, apply)
