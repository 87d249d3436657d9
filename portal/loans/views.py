"""The loans pages of the staff portal: the queue, applying for a customer, and the loan page with its
terms, schedule, documents, task timeline and the moves this user may make now. Thin views over the
loans services and selectors."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from portal.accounts.models import Role
from portal.core.exceptions import Conflict
from portal.core.exports import csv_download, pdf_download, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, bounded_count, render_filtered_table
from portal.core.money import format_money
from portal.core.permissions import permission_required
from portal.core.uploads import body_limit
from portal.customers.selectors import customers_visible_to

from . import documents, repayments, services, statements, workflow
from .filters import AWAITING_OVERRIDE, OPEN, LoanFilter
from .forms import LoanApplyForm, LoanDocumentForm
from .models import Loan, TaskKind
from .selectors import (
    loan_documents,
    loan_outstanding,
    loan_repayments,
    loan_schedule,
    loan_timeline,
    loans_for_page,
    loans_for_queue,
    loans_of_customer,
)
from .tables import LoanTable, RelatedLoanTable, loan_status_badge

VIEW_REASON = gettext_lazy("Loans are open to agents, supervisors, finance, Interventoría and administrators.")
APPLY_REASON = gettext_lazy("Only agents, supervisors and administrators apply for loans for customers.")
CHANGE_REASON = gettext_lazy("Your role sees loans read-only.")

# What each role sees first: the tasks waiting for it.
ROLE_DEFAULTS = {
    Role.AGENT: {"status": OPEN, "task": TaskKind.KYC, "sort": "applied_at"},
    Role.SUPERVISOR: {"status": OPEN, "task": AWAITING_OVERRIDE, "sort": "applied_at"},
    Role.ADMIN: {"status": OPEN, "task": TaskKind.APPROVAL, "sort": "applied_at"},
    Role.FINANCE: {"status": OPEN, "task": TaskKind.DISBURSEMENT, "sort": "applied_at"},
    Role.INTERVENTORIA: {"sort": "-applied_at"},
}


def _queue_filter(request, params):
    return LoanFilter(params, queryset=loans_for_queue(request.user), request=request)


@permission_required("loans.view_loan", VIEW_REASON)
def loan_list(request):
    if not request.GET and not request.htmx:
        return redirect(f"{request.path}?{urlencode(ROLE_DEFAULTS.get(request.user.role, {'sort': '-applied_at'}))}")
    # LazyPaginator: no exact COUNT(*) over a million loans on every page view.
    return render_filtered_table(
        request,
        "loans/loan_list.html",
        filterset=_queue_filter(request, request.GET),
        table_class=LoanTable,
        per_page=25,
        paginator_class=BoundedLazyPaginator,
        clear_query="status=",
    )


EXPORT_HEADER = [
    gettext_lazy("Loan number"),
    gettext_lazy("Status"),
    gettext_lazy("Waiting on"),
    gettext_lazy("Customer"),
    gettext_lazy("Product"),
    gettext_lazy("Amount"),
    gettext_lazy("Currency"),
    gettext_lazy("Months"),
    gettext_lazy("Annual rate (%)"),
    gettext_lazy("Monthly instalment"),
    gettext_lazy("Agent"),
    gettext_lazy("Applied at"),
]
EXPORT_FIELDS = [
    "number",
    "status",
    "current_task__kind",
    "customer__full_name",
    "product__name",
    "principal",
    "currency",
    "tenure_months",
    "annual_rate_pct",
    "instalment_amount",
    "customer__agent__full_name",
    "applied_at",
]


def _export_rows(loans):
    statuses, tasks = dict(Loan.Status.choices), dict(TaskKind.choices)
    for row in loans.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000):
        row = list(row)
        row[1] = str(statuses.get(row[1], row[1]))
        row[2] = str(tasks.get(row[2], "")) if row[2] else ""
        row[-1] = timezone.localtime(row[-1]).replace(tzinfo=None)
        yield row


@permission_required("loans.view_loan", VIEW_REASON)
def loan_export(request, fmt):
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    loan_filter = _queue_filter(request, request.GET)
    back = f"{reverse('loans:loan_list')}?{request.GET.urlencode()}"
    if not loan_filter.is_valid():
        return redirect(back)
    loans = loan_filter.qs
    if fmt == "xlsx":
        refusal = xlsx_refusal(request, loans, back=back)
        if refusal:
            return refusal
    name = f"amparo-loans-{timezone.localdate().isoformat()}"
    header = [str(label) for label in EXPORT_HEADER]
    rows = _export_rows(loans)
    return xlsx_download(name, header, rows) if fmt == "xlsx" else csv_download(name, header, rows)


# --- applying -------------------------------------------------------------------------------------


@permission_required("loans.add_loan", APPLY_REASON)
def loan_apply(request, customer_pk):
    customer = get_object_or_404(customers_visible_to(request.user), pk=customer_pk)
    form = LoanApplyForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            loan = services.loan_apply(
                product=form.cleaned_data["product"],
                customer=customer,
                policy=form.cleaned_data["policy"],
                actor=request.user,
                amount=form.cleaned_data["amount"],
                tenure_months=form.cleaned_data["tenure_months"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Loan %(number)s applied for.") % {"number": loan.number})
            return redirect("loans:loan_detail", pk=loan.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "loans/loan_apply.html", {"customer": customer, "form": form}, status=status)


# --- the loan page --------------------------------------------------------------------------------


def _loan_context(request, loan, *, errors=None, upload_form=None):
    user = request.user
    may_change = user.has_perm("loans.change_loan")
    return {
        "loan": loan,
        "badge": loan_status_badge(loan),
        "actions": services.loan_actions_available(loan, user) if may_change else [],
        "errors": errors or {},
        "timeline": loan_timeline(loan),
        "documents": loan_documents(loan),
        "schedule": loan_schedule(loan),
        "outstanding": loan_outstanding(loan) if loan.account_state else None,
        "may_upload": user.has_perm("loans.add_loandocument") and services.document_refusal(loan, user) is None,
        "may_repay": repayments.repayment_refusal(loan, user) is None,
        "may_write_off": repayments.write_off_refusal(loan, user) is None,
        "repayments": loan_repayments(loan),
        "repay_methods": repayments.REPAY_METHODS,
        "upload_form": upload_form or LoanDocumentForm(auto_id="upload_%s"),
    }


@permission_required("loans.view_loan", VIEW_REASON)
def loan_detail(request, pk):
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    template = "loans/loan_detail.html#loan" if request.htmx else "loans/loan_detail.html"
    return render(request, template, _loan_context(request, loan))


def _loan_panel(request, loan, *, status=200, errors=None):
    """The whole loan panel in place of what the form targeted (the fresh state after any answer)."""
    context = _loan_context(request, loan, errors=errors)
    response = render(request, "loans/loan_detail.html#loan", context, status=status)
    return reswap(retarget(response, "#loan-panel"), "outerHTML")


def _answer(request, loan, *, status=200, errors=None):
    if not request.htmx:
        return redirect("loans:loan_detail", pk=loan.pk)
    return _loan_panel(request, loans_for_page(request.user).get(pk=loan.pk), status=status, errors=errors)


def _refused(request, loan, error, *, form):
    """The panel after a service said no: 409 when the loan moved on meanwhile, 403 saying why the role
    may not, 422 with the message under the form that asked."""
    if isinstance(error, PermissionDenied):
        messages.error(request, str(error))
        return _answer(request, loan, status=403)
    if isinstance(error, Conflict):
        messages.error(request, " ".join(error.messages))
        return _answer(request, loan, status=409)
    if not request.htmx:
        messages.error(request, " ".join(error.messages))
    return _answer(request, loan, status=422, errors={form: error.messages})


@require_POST
@permission_required("loans.change_loan", CHANGE_REASON)
def loan_action(request, pk, action):
    """One workflow move. The form carries the task the page showed: a loan that moved on since answers
    409 with the fresh panel; role, four-eyes and authority refusals answer 403 saying why."""
    move = workflow.ACTIONS.get(action)
    if move is None:
        raise Http404
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    seen = request.POST.get("task", "")
    try:
        if action == "start":
            services.loan_task_start(loan=loan, actor=request.user, expected_task=seen)
        elif action == "withdraw":
            services.loan_withdraw(loan=loan, actor=request.user, note=request.POST.get("note", ""), expected_task=seen)
        else:
            services.loan_act(
                loan=loan,
                action=action,
                actor=request.user,
                note=request.POST.get("note", ""),
                payee_account=request.POST.get("payee_account", ""),
                expected_task=seen,
            )
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, loan, error, form=action)
    messages.success(request, _("Done: %(action)s.") % {"action": move.label})
    return _answer(request, loan)


@require_POST
@permission_required("loans.view_loan", VIEW_REASON)
def loan_repay(request, pk):
    """Record money received on a running loan (the service checks the role and the loan's state)."""
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    try:
        repayment = repayments.loan_repayment_record(
            loan=loan,
            amount=request.POST.get("amount", ""),
            method=request.POST.get("method", ""),
            reference=request.POST.get("reference", ""),
            actor=request.user,
        )
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, loan, error, form="repay")
    messages.success(
        request,
        _("Repayment of %(amount)s recorded.") % {"amount": format_money(repayment.amount, loan.currency)},
    )
    return _answer(request, loan)


@require_POST
@permission_required("loans.view_loan", VIEW_REASON)
def loan_write_off(request, pk):
    """Write off a running loan with the note saying why (the service checks the role and the state)."""
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    try:
        repayments.loan_write_off(loan=loan, actor=request.user, note=request.POST.get("note", ""))
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, loan, error, form="write_off")
    messages.success(request, _("Loan %(number)s written off.") % {"number": loan.number})
    return _answer(request, loan)


@body_limit("AMPARO_UPLOAD_BODY_MAX_BYTES")
@require_POST
@permission_required("loans.add_loandocument", CHANGE_REASON)
def document_upload(request, pk):
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    form = LoanDocumentForm(request.POST, request.FILES, auto_id="upload_%s")
    status = 200
    if form.is_valid():
        try:
            services.loan_document_add(loan=loan, upload=form.cleaned_data["file"], actor=request.user)
        except Conflict as error:
            messages.error(request, " ".join(error.messages))
            status = 409
        except ValidationError as error:
            add_service_errors(form, error)
            status = 422
        else:
            messages.success(request, _("Document added."))
            form = None
    else:
        status = 422
    if not request.htmx:
        if form is not None:
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        return redirect("loans:loan_detail", pk=loan.pk)
    context = _loan_context(request, loans_for_page(request.user).get(pk=loan.pk), upload_form=form)
    response = render(request, "loans/loan_detail.html#loan", context, status=status)
    return reswap(retarget(response, "#loan-panel"), "outerHTML")


@permission_required("loans.view_loan", VIEW_REASON)
def loan_document_pdf(request, pk, kind):
    """The loan's repayment schedule or statement as the customer receives it (PDF)."""
    if kind not in (statements.SCHEDULE, statements.STATEMENT):
        raise Http404
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    return pdf_download(statements.loan_pdf(loan=loan, kind=kind), statements.loan_pdf_filename(loan, kind))


@permission_required("loans.view_loandocument", VIEW_REASON)
def document_download(request, pk, doc_pk):
    loan = get_object_or_404(loans_for_page(request.user), pk=pk)
    document = get_object_or_404(loan_documents(loan), pk=doc_pk)
    return documents.stored_response(document)


@permission_required("loans.view_loan", VIEW_REASON)
def customer_loans(request, pk):
    customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
    queue = f"{reverse('loans:loan_list')}?{urlencode({'customer_pk': customer.pk, 'sort': '-applied_at'})}"
    if not request.htmx:
        return redirect(queue)
    loans = loans_of_customer(customer, request.user)
    context = {
        "table": RelatedLoanTable(loans[:20]),
        "more": bounded_count(loans, 20) > 20,
        "queue_url": queue,
        "apply_url": reverse("loans:loan_apply", args=[customer.pk]) if request.user.has_perm("loans.add_loan") else "",
    }
    return render(request, "loans/related_loans.html", context)
