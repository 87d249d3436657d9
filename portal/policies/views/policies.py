"""The policy pages: the list and its exports, the policy page and its changes (HTMX panels)."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from portal.core.exceptions import Conflict
from portal.core.exports import csv_download, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, render_filtered_table
from portal.core.money import format_money
from portal.core.permissions import permission_required
from portal.core.translated import translated

from .. import lifecycle, services
from ..filters import PolicyFilter
from ..forms import CancelForm, EndorseForm, ReasonForm
from ..models import Policy
from ..selectors import policies_visible_to, policy_versions_of
from ..tables import PolicyTable, status_badge
from .common import (
    ADD_POLICY_REASON,
    CHANGE_POLICY_REASON,
    VIEW_POLICY_REASON,
    labelled_errors,
    seen_state_changed,
)
from .renewals import renewal_context

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
    # The product's name in the user's language (portal/policies/translation.py).
    fields = [translated(field) if field == "product__name" else field for field in EXPORT_FIELDS]
    for row in policies.values_list(*fields).iterator(chunk_size=2000):
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
    if seen_state_changed(request, _policy_state(policy)):
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
        return {"errors": labelled_errors(form, {k: v for k, v in form.errors.items() if k != "reason"})}
    try:
        _terms, pricing, change = services.endorsement_preview(policy=policy, **form.change_inputs())
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return {"errors": labelled_errors(form, errors)}
    return {"pricing": pricing, "change": change, "returned": -change, "errors": []}


def _cancellation_preview(policy, form):
    """The refund the cancellation in `form` would give, or the reasons it would be refused (nothing is written)."""
    if not form.is_valid():
        return {"errors": labelled_errors(form, {k: v for k, v in form.errors.items() if k != "reason"})}
    try:
        refund = services.cancellation_preview(policy=policy, effective_date=form.cleaned_data["effective_date"])
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        return {"errors": labelled_errors(form, errors)}
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
        context = renewal_context(request, request.POST)
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
