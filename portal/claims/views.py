"""The claims pages of the staff portal: the work queue with its bulk actions, filing a claim, the
claim page with its actions and documents, and a bulk action's progress. Thin views over the
claims services and selectors."""

from functools import partial
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh, reswap, retarget
from django_tables2 import RequestConfig

from portal.accounts.models import Role
from portal.core.db_router import reads_from_replica
from portal.core.exceptions import Conflict
from portal.core.exports import csv_download, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, bounded_count, render_filtered_table
from portal.core.money import format_money
from portal.core.permissions import permission_required
from portal.core.translated import translated
from portal.core.uploads import body_limit
from portal.customers.selectors import customers_visible_to
from portal.policies.selectors import policies_visible_to

from . import bulk, documents, services, workflow
from .filters import OPEN, ClaimFilter
from .forms import BulkActionForm, ClaimFileForm, DocumentUploadForm, TransitionForm, bulk_action_choices
from .models import BulkTransitionResult, Claim
from .selectors import (
    bulk_claim_ids,
    bulk_job_of,
    bulk_results_of,
    claim_documents,
    claim_timeline,
    claims_for_page,
    claims_for_queue,
    claims_of_customer,
    claims_of_policy,
    claims_visible_to,
)
from .tables import BulkResultTable, ClaimTable, RelatedClaimTable, claim_status_badge

VIEW_REASON = gettext_lazy("Claims are open to agents, supervisors, finance, Interventoría and administrators.")
FILE_REASON = gettext_lazy("Only agents, supervisors and administrators file claims.")
CHANGE_REASON = gettext_lazy(
    "Only agents, supervisors and administrators act on claims; finance and Interventoría see them read-only."
)
DOCUMENT_ADD_REASON = gettext_lazy("Only agents, supervisors and administrators add documents to claims.")
DOCUMENT_VIEW_REASON = gettext_lazy(
    "Claim documents are open to agents, supervisors, finance, Interventoría and administrators."
)

# A bulk action takes at most this many claims; the queue also stops counting matches here.
# Where a user's own default work-queue filter is kept: for the session, as a query string.
SAVED_DEFAULT = "claims.queue_default"
# What each role sees first when it opens the work queue without a filter.
ROLE_DEFAULTS = {
    Role.SUPERVISOR: {"status": Claim.Status.UNDER_REVIEW, "sort": "created_at"},
    Role.ADMIN: {"status": Claim.Status.UNDER_REVIEW, "sort": "created_at"},
    Role.AGENT: {"status": OPEN, "sort": "-created_at"},
    Role.FINANCE: {"status": Claim.Status.APPROVED, "sort": "created_at"},
    Role.INTERVENTORIA: {"sort": "-created_at"},
}
# Left out of a saved default: which page the user happened to be on.
NOT_SAVED = ("page",)


# --- the work queue -------------------------------------------------------------------------------


def role_default_query(user):
    return urlencode(ROLE_DEFAULTS.get(user.role, {"sort": "-created_at"}))


def queue_default_query(request):
    return request.session.get(SAVED_DEFAULT) or role_default_query(request.user)


def normalized_query(params):
    """A work-queue query string without its page and empty fields, in name order: equal filters compare equal."""
    query = QueryDict(mutable=True)
    for name in sorted(params):
        values = [value for value in params.getlist(name) if value]
        if values and name not in NOT_SAVED:
            query.setlist(name, values)
    return query.urlencode()


def _queue_filter(request, params):
    return ClaimFilter(params, queryset=claims_for_queue(request.user), request=request)


def _queue_extra(request, claim_filter):
    bulk_actions = bulk_action_choices(request.user)
    query = normalized_query(request.GET)
    extra = {
        "bulk_actions": bulk_actions,
        "query": query,
        "saved_default": request.session.get(SAVED_DEFAULT),
        "is_default": query == normalized_query(QueryDict(queue_default_query(request))),
        "bulk_max": workflow.BULK_MAX,
    }
    if bulk_actions:
        extra["bulk_form"] = BulkActionForm(user=request.user, initial={"query": query})
    return extra


@reads_from_replica
@permission_required("claims.view_claim", VIEW_REASON)
def claim_list(request):
    if not request.GET and not request.htmx:
        return redirect(f"{request.path}?{queue_default_query(request)}")
    claim_filter = _queue_filter(request, request.GET)
    exclude = () if bulk_action_choices(request.user) else ("select",)
    # LazyPaginator: no exact COUNT(*) over a million claims on every page view.
    return render_filtered_table(
        request,
        "claims/claim_list.html",
        filterset=claim_filter,
        table_class=partial(ClaimTable, exclude=exclude),
        per_page=25,
        paginator_class=BoundedLazyPaginator,
        extra=_queue_extra(request, claim_filter),
        # An empty status keeps the queue from falling back on the role's default filter.
        clear_query="status=",
    )


@permission_required("claims.view_claim", VIEW_REASON)
def queue_count(request):
    """How many claims the filter matches, up to the bulk maximum: loaded after the queue's first page,
    so that counting never delays it."""
    claim_filter = _queue_filter(request, request.GET)
    matching = bounded_count(claim_filter.qs, workflow.BULK_MAX) if claim_filter.is_valid() else 0
    return render(request, "claims/claim_list.html#matching", {"matching": matching, "bulk_max": workflow.BULK_MAX})


@require_POST
@permission_required("claims.view_claim", VIEW_REASON)
def queue_default_save(request):
    """Keep the filter on screen as the user's own default for the work queue, or forget it."""
    query = normalized_query(QueryDict(request.POST.get("query", "")))
    if request.POST.get("forget"):
        request.session.pop(SAVED_DEFAULT, None)
        messages.success(request, _("Your default filter is forgotten; the work queue opens with your role's again."))
        return redirect(f"{reverse('claims:claim_list')}?{role_default_query(request.user)}")
    if not query or not _queue_filter(request, QueryDict(query)).is_valid():
        messages.error(request, _("That filter cannot be saved: correct it first."))
        return redirect(f"{reverse('claims:claim_list')}?{query}")
    request.session[SAVED_DEFAULT] = query
    messages.success(request, _("Saved: the work queue opens with this filter from now on."))
    return redirect(f"{reverse('claims:claim_list')}?{query}")


EXPORT_HEADER = [
    gettext_lazy("Claim number"),
    gettext_lazy("Status"),
    gettext_lazy("Customer"),
    gettext_lazy("ID number"),
    gettext_lazy("Policy number"),
    gettext_lazy("Product"),
    gettext_lazy("Coverage"),
    gettext_lazy("Date of loss"),
    gettext_lazy("Filed at"),
    gettext_lazy("Amount claimed"),
    gettext_lazy("Amount approved"),
    gettext_lazy("Currency"),
    gettext_lazy("Assignee"),
    gettext_lazy("Agent"),
]
EXPORT_FIELDS = [
    "number",
    "status",
    "customer__full_name",
    "customer__id_number",
    "policy__number",
    "policy__product__name",
    "coverage_name",
    "loss_date",
    "created_at",
    "claimed_amount",
    "approved_amount",
    "currency",
    "assignee__full_name",
    "customer__agent__full_name",
]
STATUS_COLUMN = EXPORT_FIELDS.index("status")
FILED_COLUMN = EXPORT_FIELDS.index("created_at")


def _export_rows(claims):
    labels = dict(Claim.Status.choices)
    # The product's name in the user's language (portal/policies/translation.py).
    fields = [translated(field) if field == "policy__product__name" else field for field in EXPORT_FIELDS]
    for row in claims.values_list(*fields).iterator(chunk_size=2000):
        row = list(row)
        row[STATUS_COLUMN] = str(labels.get(row[STATUS_COLUMN], row[STATUS_COLUMN]))
        row[FILED_COLUMN] = timezone.localtime(row[FILED_COLUMN]).replace(tzinfo=None)
        yield row


@permission_required("claims.view_claim", VIEW_REASON)
def claim_export(request, fmt):
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    claim_filter = _queue_filter(request, request.GET)
    back = f"{reverse('claims:claim_list')}?{request.GET.urlencode()}"
    if not claim_filter.is_valid():
        # An invalid filter would otherwise be dropped, and every claim exported.
        return redirect(back)
    claims = claim_filter.qs
    if fmt == "xlsx":
        refusal = xlsx_refusal(request, claims, back=back)
        if refusal:
            return refusal
    name = f"amparo-claims-{timezone.localdate().isoformat()}"
    header = [str(label) for label in EXPORT_HEADER]
    rows = _export_rows(claims)
    return xlsx_download(name, header, rows) if fmt == "xlsx" else csv_download(name, header, rows)


# --- bulk actions ---------------------------------------------------------------------------------


def _bulk_claim_ids(request, data):
    """(ids in the user's scope, how many chosen ones are not), or a ValidationError saying why none can be taken."""
    if not data["every_match"]:
        return bulk_claim_ids(request.user, chosen=data["claim"])
    claim_filter = _queue_filter(request, QueryDict(data["query"]))
    if not claim_filter.is_valid():
        raise ValidationError(_("The filter is not valid any more; correct it and choose again."))
    return bulk_claim_ids(request.user, matching=claim_filter.qs)


def _left_out_text(left_out):
    return ngettext(
        "%(count)s chosen claim is not in your book; it was left out.",
        "%(count)s chosen claims are not in your book; they were left out.",
        left_out,
    ) % {"count": left_out}


def _bulk_refused(request, form, back):
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    return render(request, "claims/bulk_confirm.html#confirm", {"form": form, "back": back}, status=422)


@require_POST
@permission_required("claims.change_claim", CHANGE_REASON)
def bulk_apply(request):
    """A bulk move: first the confirmation (what, on how many), then the job, in the request or in the worker."""
    form = BulkActionForm(request.POST, user=request.user)
    back = f"{reverse('claims:claim_list')}?{request.POST.get('query', '')}"
    if not form.is_valid():
        return _bulk_refused(request, form, back)
    data = form.cleaned_data
    try:
        ids, left_out = _bulk_claim_ids(request, data)
    except ValidationError as error:
        add_service_errors(form, error)
        return _bulk_refused(request, form, back)
    transition = workflow.TRANSITIONS[data["action"]]
    if not data["confirmed"]:
        context = {"form": form, "back": back, "transition": transition, "ids": ids, "left_out": left_out}
        template = "claims/bulk_confirm.html#confirm" if request.htmx else "claims/bulk_confirm.html"
        return render(request, template, context)
    try:
        job = bulk.bulk_transition_submit(
            actor=request.user,
            action=data["action"],
            claim_ids=ids,
            note=data["note"],
            rejection_reason=data["rejection_reason"],
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _bulk_refused(request, form, back)
    if left_out:
        messages.warning(request, _left_out_text(left_out))
    url = reverse("claims:bulk_job", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@permission_required("claims.view_claim", VIEW_REASON)
def bulk_job(request, pk):
    job = bulk_job_of(request.user, pk)
    if job is None:
        raise Http404
    if request.htmx and request.htmx.target == "bulk-progress":
        if request.GET.get("was_running") and job.is_finished:
            return HttpResponseClientRefresh()
        return render(request, "claims/bulk_job.html#progress", {"job": job})
    outcome = request.GET.get("outcome")
    outcome = outcome if outcome in BulkTransitionResult.Outcome.values else None
    table = BulkResultTable(bulk_results_of(job, outcome=outcome))
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    context = {
        "job": job,
        "transition": workflow.TRANSITIONS[job.action],
        "table": table,
        "outcome": outcome,
        "outcomes": BulkTransitionResult.Outcome.choices,
    }
    return render(request, "claims/bulk_job.html#results" if request.htmx else "claims/bulk_job.html", context)


# --- filing ---------------------------------------------------------------------------------------


@body_limit("AMPARO_UPLOAD_BODY_MAX_BYTES")
@permission_required("claims.add_claim", FILE_REASON)
def claim_file(request):
    if request.method != "POST":
        initial = ClaimFileForm.initial_for(user=request.user, policy_pk=request.GET.get("policy"))
        form = ClaimFileForm(initial=initial, user=request.user)
        return render(request, "claims/claim_file.html", {"form": form})
    form = ClaimFileForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            # The documents were checked with the form: the claim and its documents are kept together or not at all.
            with transaction.atomic():
                claim = services.claim_file(
                    policy=data["policy"],
                    coverage_code=data["coverage_code"],
                    loss_date=data["loss_date"],
                    claimed_amount=data["claimed_amount"],
                    description=data["description"],
                    actor=request.user,
                )
                services.claim_documents_add(claim=claim, uploads=data["documents"], actor=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "Claim %(number)s filed with %(count)s document.",
                    "Claim %(number)s filed with %(count)s documents.",
                    len(data["documents"]),
                )
                % {"number": claim.number, "count": len(data["documents"])}
                if data["documents"]
                else _("Claim %(number)s filed.") % {"number": claim.number},
            )
            return redirect("claims:claim_detail", pk=claim.pk)
    return render(request, "claims/claim_file.html", {"form": form}, status=422)


@require_POST
@permission_required("claims.add_claim", FILE_REASON)
def claim_file_coverages(request):
    """The coverage choice for the policy and date of loss typed so far (the version in force that day)."""
    # Unbound, so that a half-filled form shows its choices without complaining about what is still missing.
    typed = {name: request.POST.get(name, "") for name in ("policy", "loss_date", "coverage_code")}
    form = ClaimFileForm(initial=typed, user=request.user)
    return render(request, "claims/claim_file.html#coverage-field", {"form": form})


# --- the claim page -------------------------------------------------------------------------------


# What each timeline row did, in the past tense.
ACTION_LABELS = {
    "file": pgettext_lazy("claim timeline", "Filed"),
    **{action: capfirst(done) for action, done in workflow.PAST_TENSE.items()},
}


def _claim_context(request, claim, *, open_action=None, form=None, upload_form=None):
    user = request.user
    version = claim.policy_version
    line = services.coverage_of(version, claim.coverage_code) or {}
    actions = services.claim_actions_available(claim, user) if user.has_perm("claims.change_claim") else []
    may_pay_out = workflow.payout_refusal(claim, user) is None and user.has_perm("payments.add_claimpayout")
    return {
        "claim": claim,
        "badge": claim_status_badge(claim),
        "version": version,
        "coverage": line,
        "deductible": services.deductible_of(line, claimed_amount=claim.claimed_amount) if line else None,
        "remaining": services.coverage_remaining(
            claim_policy=claim.policy, version=version, coverage_code=claim.coverage_code
        ),
        "timeline": [
            {"entry": entry, "label": ACTION_LABELS.get(entry.action, entry.action)} for entry in claim_timeline(claim)
        ],
        "documents": claim_documents(claim),
        "actions": actions,
        "one_click": ("start_review", "close"),
        "open_action": open_action,
        "form": form,
        "may_upload": user.has_perm("claims.add_claimdocument") and workflow.document_refusal(claim, user) is None,
        "upload_form": upload_form or DocumentUploadForm(auto_id="upload_%s"),
        "payout_url": reverse("payments:payout_prepare", args=[claim.pk]) if may_pay_out else None,
    }


@permission_required("claims.view_claim", VIEW_REASON)
def claim_detail(request, pk):
    claim = get_object_or_404(claims_for_page(request.user), pk=pk)
    template = "claims/claim_detail.html#claim" if request.htmx else "claims/claim_detail.html"
    return render(request, template, _claim_context(request, claim))


def _claim_panel(request, claim, *, status=200):
    """The whole claim panel (header, actions, timeline, documents) in place of what the form targeted."""
    response = render(request, "claims/claim_detail.html#claim", _claim_context(request, claim), status=status)
    return reswap(retarget(response, "#claim-panel"), "outerHTML")


def _claim_conflict(request, claim, message):
    messages.error(request, message)
    if not request.htmx:
        return redirect("claims:claim_detail", pk=claim.pk)
    return _claim_panel(request, claim, status=409)


def _changed_message(claim):
    return _("Claim %(number)s changed while you were looking at it; reload it.") % {"number": claim.number}


def _seen_revision(request):
    value = request.POST.get("revision", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@permission_required("claims.change_claim", CHANGE_REASON)
def claim_transition(request, pk, action):
    """One move of the claim's state machine: GET shows its form, POST makes it through the service.

    The form carries the claim's revision it was shown for: a claim that moved on since answers 409
    with the fresh panel. Refusals by role, four-eyes or limit raise PermissionDenied (403, with why).
    """
    transition = workflow.TRANSITIONS.get(action)
    if transition is None or action not in workflow.MANUAL_ACTIONS:
        raise Http404
    claim = get_object_or_404(claims_for_page(request.user), pk=pk)
    form_template = "claims/claim_detail.html#action-form"
    if request.method != "POST":
        form = TransitionForm(transition=transition, claim=claim, auto_id=f"{action}_%s")
        context = _claim_context(request, claim, open_action=transition, form=form)
        return render(request, form_template if request.htmx else "claims/claim_detail.html", context)
    revision = _seen_revision(request)
    if revision != claim.revision:
        return _claim_conflict(request, claim, _changed_message(claim))
    form = TransitionForm(request.POST, transition=transition, claim=claim, auto_id=f"{action}_%s")
    if form.is_valid():
        try:
            claim = services.claim_transition(
                claim=claim, action=action, actor=request.user, expected_revision=revision, **form.service_inputs()
            )
        except Conflict as error:
            fresh = claims_for_page(request.user).get(pk=claim.pk)
            return _claim_conflict(request, fresh, " ".join(error.messages))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _transition_message(transition, claim))
            if not request.htmx:
                return redirect("claims:claim_detail", pk=claim.pk)
            return _claim_panel(request, claims_for_page(request.user).get(pk=claim.pk))
    context = _claim_context(request, claim, open_action=transition, form=form)
    return render(request, form_template if request.htmx else "claims/claim_detail.html", context, status=422)


def _transition_message(transition, claim):
    if transition.action == "approve":
        return _("Claim %(number)s approved for %(amount)s.") % {
            "number": claim.number,
            "amount": format_money(claim.approved_amount, claim.currency),
        }
    return _("Claim %(number)s %(done)s.") % {"number": claim.number, "done": workflow.PAST_TENSE[transition.action]}


# --- documents ------------------------------------------------------------------------------------


def _documents_answer(request, claim, *, upload_form=None, status=200):
    context = {**_claim_context(request, claim, upload_form=upload_form), "documents_only": True}
    return render(request, "claims/claim_detail.html#documents", context, status=status)


@body_limit("AMPARO_UPLOAD_BODY_MAX_BYTES")
@require_POST
@permission_required("claims.add_claimdocument", DOCUMENT_ADD_REASON)
def document_upload(request, pk):
    """Attach photos or PDFs to the claim: every file is checked first, and none is kept unless all pass."""
    claim = get_object_or_404(claims_for_page(request.user), pk=pk)
    form = DocumentUploadForm(request.POST, request.FILES, auto_id="upload_%s")
    if form.is_valid():
        uploads = form.cleaned_data["files"]
        try:
            services.claim_documents_add(claim=claim, uploads=uploads, actor=request.user)
        except Conflict as error:
            messages.error(request, " ".join(error.messages))
            if not request.htmx:
                return redirect("claims:claim_detail", pk=claim.pk)
            fresh = claims_for_page(request.user).get(pk=claim.pk)
            return _claim_panel(request, fresh, status=409)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                ngettext("%(count)s document added.", "%(count)s documents added.", len(uploads))
                % {"count": len(uploads)},
            )
            if not request.htmx:
                return redirect("claims:claim_detail", pk=claim.pk)
            return _documents_answer(request, claim)
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("claims:claim_detail", pk=claim.pk)
    return _documents_answer(request, claim, upload_form=form, status=422)


@permission_required("claims.view_claimdocument", DOCUMENT_VIEW_REASON)
def document_download(request, pk, doc_pk):
    claim = get_object_or_404(claims_visible_to(request.user), pk=pk)
    document = get_object_or_404(claim_documents(claim), pk=doc_pk)
    return documents.stored_response(document)


# --- the claims on a policy's and a customer's page ------------------------------------------------------


def _related_claims(request, claims, *, queue_filter, exclude=()):
    if not request.htmx:
        return redirect(f"{reverse('claims:claim_list')}?{urlencode(queue_filter)}")
    context = {
        "table": RelatedClaimTable(claims[:20], exclude=exclude),
        "more": bounded_count(claims, 20) > 20,
        "queue_url": f"{reverse('claims:claim_list')}?{urlencode(queue_filter)}",
    }
    return render(request, "claims/related_claims.html", context)


@permission_required("claims.view_claim", VIEW_REASON)
def policy_claims(request, pk):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    return _related_claims(
        request,
        claims_of_policy(request.user, policy),
        queue_filter={"policy": policy.number, "sort": "-created_at"},
        exclude=("policy",),
    )


@permission_required("claims.view_claim", VIEW_REASON)
def customer_claims(request, pk):
    customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
    return _related_claims(
        request,
        claims_of_customer(request.user, customer),
        queue_filter={"customer_pk": customer.pk, "sort": "-created_at"},
    )
