"""The quote and policy pages of the staff portal: thin views over the policies services and selectors."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget
from django_tables2 import RequestConfig

from portal.core.exceptions import Conflict
from portal.core.exports import csv_download, pdf_download, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, render_filtered_table
from portal.core.money import format_money
from portal.core.permissions import permission_required

from . import documents, lifecycle, services
from .filters import PolicyFilter, QuoteFilter
from .forms import PK, CancelForm, EndorseForm, QuoteForm, ReasonForm, RenewalWindowForm
from .models import Policy, Quote
from .rating import price
from .selectors import policies_visible_to, policy_versions_of, quotes_visible_to
from .selectors import renewal_queue as renewal_queue_of
from .tables import PolicyTable, QuoteTable, RenewalTable, status_badge

VIEW_QUOTE_REASON = gettext_lazy("Quotes are open to agents, supervisors, finance, Interventoría and administrators.")
ADD_QUOTE_REASON = gettext_lazy("Only agents, supervisors and administrators make quotes.")
CHANGE_QUOTE_REASON = gettext_lazy("Only agents, supervisors and administrators present, accept or decline quotes.")
VIEW_POLICY_REASON = gettext_lazy(
    "Policies are open to agents, supervisors, finance, Interventoría and administrators."
)
CHANGE_POLICY_REASON = gettext_lazy(
    "Only agents, supervisors and administrators endorse, cancel, suspend or reinstate policies."
)
ADD_POLICY_REASON = gettext_lazy("Only agents, supervisors and administrators issue and renew policies.")

# A form posts the state it was shown for; a different state now means someone changed it meanwhile.
SEEN_STATE = "seen_state"


def _labelled_errors(form, errors):
    """[(label, message)] for a preview: the field's label when the message comes from one."""
    labelled = []
    for field, messages_ in errors.items():
        label = form.fields[field].label if field in form.fields else ""
        labelled.extend((label, str(message)) for message in messages_)
    return labelled


def _seen_state_changed(request, current_state):
    seen = request.POST.get(SEEN_STATE)
    return seen is not None and seen != current_state


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
        return {"pricing": None, "price_errors": _labelled_errors(form, errors)}, 422
    data = form.cleaned_data
    try:
        pricing = price(
            product=data["product"],
            sum_insured=data["sum_insured"],
            coverage_codes=data["coverage_codes"],
            insured_age=data["insured_age"],
        )
    except ValidationError as error:
        return {"pricing": None, "price_errors": _labelled_errors(form, error.message_dict)}, 422
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
    if _seen_state_changed(request, _quote_state(quote)):
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


# --- policies: list and export ----------------------------------------------------------------------


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def policy_list(request):
    # The list shows none of the versions' JSON (coverages, breakdown): leave it in the database.
    policies = policies_visible_to(request.user).defer("current_version__coverages", "current_version__breakdown")
    policy_filter = PolicyFilter(request.GET, queryset=policies, request=request)
    # LazyPaginator: no exact COUNT(*) over a book that grows to millions of policies.
    return render_filtered_table(
        request,
        "policies/policy_list.html",
        filterset=policy_filter,
        table_class=PolicyTable,
        per_page=25,
        paginator_class=BoundedLazyPaginator,
    )


EXPORT_HEADER = [
    gettext_lazy("Policy number"),
    gettext_lazy("Customer"),
    gettext_lazy("ID type"),
    gettext_lazy("ID number"),
    gettext_lazy("Product"),
    gettext_lazy("Agent"),
    gettext_lazy("Status"),
    gettext_lazy("Cover starts"),
    gettext_lazy("Cover ends"),
    gettext_lazy("Sum insured"),
    gettext_lazy("Premium for the term"),
    gettext_lazy("Currency"),
]
EXPORT_FIELDS = [
    "number",
    "customer__full_name",
    "customer__id_type",
    "customer__id_number",
    "product__name",
    "customer__agent__full_name",
    "status",
    "current_version__start_date",
    "current_version__end_date",
    "current_version__sum_insured",
    "current_version__premium",
    "current_version__currency",
]
STATUS_COLUMN = EXPORT_FIELDS.index("status")


def _export_rows(policies):
    labels = dict(Policy.Status.choices)
    for row in policies.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000):
        row = list(row)
        row[STATUS_COLUMN] = str(labels.get(row[STATUS_COLUMN], row[STATUS_COLUMN]))
        yield row


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def policy_export(request, fmt):
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    policy_filter = PolicyFilter(request.GET, queryset=policies_visible_to(request.user), request=request)
    back = f"{reverse('policies:policy_list')}?{request.GET.urlencode()}"
    if not policy_filter.is_valid():
        # An invalid filter would otherwise be dropped, and the whole book exported.
        return redirect(back)
    policies = policy_filter.qs
    if fmt == "xlsx":
        refusal = xlsx_refusal(request, policies, back=back)
        if refusal:
            return refusal
    name = f"amparo-policies-{timezone.localdate().isoformat()}"
    header = [str(label) for label in EXPORT_HEADER]
    rows = _export_rows(policies)
    return xlsx_download(name, header, rows) if fmt == "xlsx" else csv_download(name, header, rows)


# --- policies: the policy page and its actions ---------------------------------------------------------


def _policy_state(policy):
    return f"{policy.status}:{policy.current_version.number}"


def _policy_actions(user, policy):
    """The buttons `user` sees on `policy`: what its state allows (the services' rules) and the user may do."""
    allowed = lifecycle.policy_actions_available(policy)
    may_change, may_renew = user.has_perm("policies.change_policy"), user.has_perm("policies.add_policy")
    return {action: allowed[action] and (may_renew if action == "renew" else may_change) for action in allowed}


def _renewed_by(request, policy):
    return policies_visible_to(request.user).filter(renewal_of=policy).first()


def _policy_context(request, policy, *, open_action=None, form=None, preview=None):
    renewed_by = _renewed_by(request, policy)
    actions = _policy_actions(request.user, policy)
    return {
        "policy": policy,
        "current": policy.current_version,
        "coverages": [
            {
                **line,
                "has_deductible": Decimal(line["deductible_pct"]) > 0,
                "has_minimum_deductible": Decimal(line["deductible_min"]) > 0,
            }
            for line in policy.current_version.coverages
        ],
        "badge": status_badge(policy),
        "versions": policy_versions_of(policy),
        "renewed_by": renewed_by,
        "renews": policies_visible_to(request.user).filter(pk=policy.renewal_of_id).first()
        if policy.renewal_of_id
        else None,
        "actions": actions,
        "any_action": any(actions.values()),
        "open_action": open_action,
        "form": form,
        "preview": preview,
        "seen_state": _policy_state(policy),
    }


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def policy_detail(request, pk):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    template = "policies/policy_detail.html#policy" if request.htmx else "policies/policy_detail.html"
    return render(request, template, _policy_context(request, policy))


def _policy_panel(request, policy, *, status=200):
    """The whole policy panel, put in place of whatever the action's form was targeting."""
    response = render(request, "policies/policy_detail.html#policy", _policy_context(request, policy), status=status)
    return reswap(retarget(response, "#policy-panel"), "outerHTML")


def _policy_conflict(request, policy, message):
    messages.error(request, message)
    if not request.htmx:
        return redirect("policies:policy_detail", pk=policy.pk)
    return _policy_panel(request, policy, status=409)


def _stale_policy_message(policy):
    return _(
        "Policy %(number)s changed while you were looking at it: it is now %(status)s, at version %(version)s. "
        "Nothing was done; check it and try again."
    ) % {
        "number": policy.number,
        "status": policy.get_status_display().lower(),
        "version": policy.current_version.number,
    }


def _policy_action(request, pk, *, action, make_form, apply, preview=None):
    """One action of the policy page: GET shows its form, POST runs it through the service.

    `apply(policy, form)` returns the success message, or (message, url) to go to another page.
    Refusals stay in the form with 422; a policy that changed under the user answers 409.
    """
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    form_template = f"policies/policy_detail.html#{action}-form"
    if request.method != "POST":
        form = make_form(policy, None)
        context = _policy_context(request, policy, open_action=action, form=form)
        return render(request, form_template if request.htmx else "policies/policy_detail.html", context)
    if _seen_state_changed(request, _policy_state(policy)):
        return _policy_conflict(request, policy, _stale_policy_message(policy))
    form = make_form(policy, request.POST)
    if form.is_valid():
        try:
            outcome = apply(policy, form)
        except Conflict as error:
            fresh = policies_visible_to(request.user).get(pk=policy.pk)
            return _policy_conflict(request, fresh, " ".join(error.messages))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            message, url = outcome if isinstance(outcome, tuple) else (outcome, None)
            messages.success(request, message)
            if url is not None:
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            if not request.htmx:
                return redirect("policies:policy_detail", pk=policy.pk)
            return _policy_panel(request, policies_visible_to(request.user).get(pk=policy.pk))
    # The preview reads the inputs afresh: the form now also carries the service's refusal.
    shown = preview(policy, make_form(policy, request.POST)) if preview else None
    context = _policy_context(request, policy, open_action=action, form=form, preview=shown)
    return render(request, form_template if request.htmx else "policies/policy_detail.html", context, status=422)


def _endorsement_preview(policy, form):
    """What the endorsement in `form` would do, or the reasons it would be refused (nothing is written)."""
    if not form.is_valid():
        return {"errors": _labelled_errors(form, {k: v for k, v in form.errors.items() if k != "reason"})}
    try:
        _terms, pricing, change = services.endorsement_preview(policy=policy, **form.change_inputs())
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return {"errors": _labelled_errors(form, errors)}
    return {"pricing": pricing, "change": change, "returned": -change, "errors": []}


def _cancellation_preview(policy, form):
    """The refund the cancellation in `form` would give, or the reasons it would be refused (nothing is written)."""
    if not form.is_valid():
        return {"errors": _labelled_errors(form, {k: v for k, v in form.errors.items() if k != "reason"})}
    try:
        refund = services.cancellation_preview(policy=policy, effective_date=form.cleaned_data["effective_date"])
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return {"errors": _labelled_errors(form, errors)}
    return {"refund": refund, "effective_date": form.cleaned_data["effective_date"], "errors": []}


def _preview_response(request, pk, *, action, make_form, preview):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    form = make_form(policy, request.POST)
    result = preview(policy, form)
    context = {"policy": policy, "current": policy.current_version, "preview": result}
    return render(
        request, f"policies/policy_detail.html#{action}-preview", context, status=422 if result["errors"] else 200
    )


def _endorse_form(policy, data):
    return EndorseForm(data, policy=policy, auto_id="endorse_%s")


def _cancel_form(policy, data):
    return CancelForm(data, policy=policy, auto_id="cancel_%s")


def _reason_form(prefix):
    def make(policy, data):
        return ReasonForm(data, auto_id=f"{prefix}_%s")

    return make


@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_endorse(request, pk):
    def apply(policy, form):
        policy = services.policy_endorse(
            policy=policy, actor=request.user, reason=form.cleaned_data["reason"], **form.change_inputs()
        )
        version = policy.current_version
        return _("Endorsement recorded as version %(version)s: %(change)s.") % {
            "version": version.number,
            "change": _premium_change_text(version.premium_change, version.currency),
        }

    return _policy_action(
        request, pk, action="endorse", make_form=_endorse_form, apply=apply, preview=_endorsement_preview
    )


@require_POST
@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_endorse_preview(request, pk):
    return _preview_response(request, pk, action="endorse", make_form=_endorse_form, preview=_endorsement_preview)


@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_cancel(request, pk):
    def apply(policy, form):
        data = form.cleaned_data
        policy = services.policy_cancel(
            policy=policy, actor=request.user, effective_date=data["effective_date"], reason=data["reason"]
        )
        version = policy.current_version
        return _("Policy cancelled from %(day)s: %(change)s.") % {
            "day": date_format(version.effective_date, "SHORT_DATE_FORMAT"),
            "change": _premium_change_text(version.premium_change, version.currency),
        }

    return _policy_action(
        request, pk, action="cancel", make_form=_cancel_form, apply=apply, preview=_cancellation_preview
    )


@require_POST
@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_cancel_preview(request, pk):
    return _preview_response(request, pk, action="cancel", make_form=_cancel_form, preview=_cancellation_preview)


@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_suspend(request, pk):
    def apply(policy, form):
        services.policy_suspend(policy=policy, actor=request.user, reason=form.cleaned_data["reason"])
        return _("Policy suspended: cover is on hold until it is reinstated.")

    return _policy_action(request, pk, action="suspend", make_form=_reason_form("suspend"), apply=apply)


@permission_required("policies.change_policy", CHANGE_POLICY_REASON)
def policy_reinstate(request, pk):
    def apply(policy, form):
        services.policy_reinstate(policy=policy, actor=request.user, reason=form.cleaned_data["reason"])
        return _("Policy reinstated.")

    return _policy_action(request, pk, action="reinstate", make_form=_reason_form("reinstate"), apply=apply)


@permission_required("policies.add_policy", ADD_POLICY_REASON)
def policy_renew(request, pk):
    def apply(policy, form):
        renewal = services.policy_renew(policy=policy, actor=request.user)
        message = _("Policy %(number)s renewed as %(renewal)s.") % {"number": policy.number, "renewal": renewal.number}
        return message, reverse("policies:policy_detail", args=[renewal.pk])

    if request.method == "POST" and request.POST.get("from_queue"):
        return _renew_from_queue(request, pk, apply)
    return _policy_action(request, pk, action="renew", make_form=_reason_form("renew"), apply=apply)


def _renew_from_queue(request, pk, apply):
    """Renew from the renewal queue: go to the new policy, or show the refusal above the queue."""
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    try:
        message, url = apply(policy, None)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        if not request.htmx:
            return redirect(f"{reverse('policies:renewal_queue')}?days={request.POST.get('days', '')}")
        context = _renewal_context(request, request.POST)
        status = 409 if isinstance(error, Conflict) else 422
        return render(request, "policies/renewal_queue.html#results", context, status=status)
    messages.success(request, message)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _premium_change_text(amount, currency):
    if amount > 0:
        return _("%(amount)s charged") % {"amount": format_money(amount, currency)}
    if amount < 0:
        return _("%(amount)s returned") % {"amount": format_money(-amount, currency)}
    return _("no premium change")


# --- versions ------------------------------------------------------------------------------------------


def _version_number(value, *, default):
    if value in (None, ""):
        return default
    if PK.fullmatch(str(value)) is None:
        raise Http404
    return int(value)


def _money(version, amount):
    return format_money(amount, version.currency)


def _day(value):
    return date_format(value, "SHORT_DATE_FORMAT")


COMPARED_TERMS = [
    (gettext_lazy("Kind"), lambda v: v.kind, lambda v: v.get_kind_display()),
    (gettext_lazy("Effective from"), lambda v: v.effective_date, lambda v: _day(v.effective_date)),
    (gettext_lazy("Cover starts"), lambda v: v.start_date, lambda v: _day(v.start_date)),
    (gettext_lazy("Cover ends"), lambda v: v.cover_end, lambda v: _day(v.cover_end)),
    (gettext_lazy("Sum insured"), lambda v: v.sum_insured, lambda v: _money(v, v.sum_insured)),
    (gettext_lazy("Insured's age"), lambda v: v.insured_age, lambda v: "—" if v.insured_age is None else v.insured_age),
    (gettext_lazy("Premium for the term"), lambda v: v.premium, lambda v: _money(v, v.premium)),
    (
        gettext_lazy("Premium charged (+) or returned (-)"),
        lambda v: v.premium_change,
        lambda v: _money(v, v.premium_change),
    ),
    (gettext_lazy("Reason"), lambda v: v.reason, lambda v: v.reason or "—"),
    (gettext_lazy("By"), lambda v: v.created_by_id, lambda v: v.created_by.full_name),
]
COMPARED_COVERAGE_FIGURES = ("limit", "premium", "deductible_pct", "deductible_min")


def _comparison_rows(a, b):
    """The two versions' terms side by side, each row flagged when the values differ."""
    rows = [
        {"label": label, "a": show(a), "b": show(b), "changed": key(a) != key(b)} for label, key, show in COMPARED_TERMS
    ]
    # Every version is recorded at its own moment, so a difference here says nothing.
    when = {v.number: date_format(localtime(v.created_at), "SHORT_DATETIME_FORMAT") for v in (a, b)}
    rows.append({"label": _("Recorded at"), "a": when[a.number], "b": when[b.number], "changed": False})
    return rows


def _coverage_line(version, line):
    if line is None:
        return None
    return {"limit": _money(version, line["limit"]), "premium": _money(version, line["premium"])}


def _coverage_rows(a, b):
    """Each coverage of either version: added, removed, changed (limit, premium or deductible) or the same."""
    lines_a = {line["code"]: line for line in a.coverages}
    lines_b = {line["code"]: line for line in b.coverages}
    rows = []
    for code in [*lines_a, *(code for code in lines_b if code not in lines_a)]:
        line_a, line_b = lines_a.get(code), lines_b.get(code)
        if line_a is None:
            change = "added"
        elif line_b is None:
            change = "removed"
        elif any(Decimal(line_a[key]) != Decimal(line_b[key]) for key in COMPARED_COVERAGE_FIGURES):
            change = "changed"
        else:
            change = None
        rows.append(
            {
                "name": (line_b or line_a)["name"],
                "a": _coverage_line(a, line_a),
                "b": _coverage_line(b, line_b),
                "change": change,
            }
        )
    return rows


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def version_compare(request, pk):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    versions = {version.number: version for version in policy_versions_of(policy)}
    current = policy.current_version.number
    b_number = _version_number(request.GET.get("b"), default=current)
    a_number = _version_number(request.GET.get("a"), default=max(1, b_number - 1))
    if a_number not in versions or b_number not in versions:
        raise Http404
    a, b = versions[a_number], versions[b_number]
    context = {
        "policy": policy,
        "badge": status_badge(policy),
        "versions": list(versions.values()),
        "a": a,
        "b": b,
        "rows": _comparison_rows(a, b),
        "coverage_rows": _coverage_rows(a, b),
    }
    template = "policies/version_compare.html#comparison" if request.htmx else "policies/version_compare.html"
    return render(request, template, context)


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def version_pdf(request, pk, number):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    version = get_object_or_404(
        policy_versions_of(policy).select_related("policy__product", "policy__customer"), number=number
    )
    return pdf_download(documents.policy_document_pdf(version=version), documents.policy_document_filename(version))


# --- renewals ----------------------------------------------------------------------------------------


def _renewal_context(request, params):
    window = RenewalWindowForm(params if "days" in params else None)
    days = window.days_chosen()
    can_renew = request.user.has_perm("policies.add_policy")
    table = RenewalTable(renewal_queue_of(request.user, days=days), exclude=() if can_renew else ("renew",))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return {"window": window, "days": days, "table": table}


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def renewal_queue(request):
    template = "policies/renewal_queue.html#results" if request.htmx else "policies/renewal_queue.html"
    return render(request, template, _renewal_context(request, request.GET))
