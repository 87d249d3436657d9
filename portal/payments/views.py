"""The payments pages of the staff portal: accounts, statements, payments and claim payouts.
Thin views over the payments services and selectors."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget
from django_tables2 import RequestConfig

from portal.claims.selectors import claims_visible_to
from portal.core.exceptions import Conflict
from portal.core.exports import csv_download, pdf_download, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator, render_filtered_table
from portal.core.money import format_money
from portal.core.permissions import permission_required

from . import documents, services
from .filters import AccountFilter, PaymentFilter, PayoutFilter
from .forms import PaymentRecordForm, PayoutPrepareForm, ReasonForm, StatementPeriodForm
from .models import Payment
from .selectors import (
    account_statement,
    account_summary,
    accounts_visible_to,
    accounts_with_balances,
    allocations_of,
    claims_awaiting_payout,
    instalments_of,
    payments_visible_to,
    payouts_visible_to,
    recent_entries,
)
from .tables import AccountTable, PaymentTable, PayoutTable, status_badge

VIEW_REASON = gettext_lazy(
    "Accounts and payments are open to agents, supervisors, finance, Interventoría and administrators."
)
RECORD_REASON = gettext_lazy("Only agents, supervisors, finance and administrators record payments.")
REVERSE_REASON = gettext_lazy("Only finance and administrators reverse payments.")
VIEW_PAYOUT_REASON = gettext_lazy("Claim payouts are open to finance, Interventoría and administrators.")
PAYOUT_REASON = gettext_lazy("Only finance and administrators prepare, confirm and cancel claim payouts.")


def _refusal_text(error):
    return " ".join(error.messages)


# --- accounts -----------------------------------------------------------------------------------------


@permission_required("payments.view_ledgeraccount", VIEW_REASON)
def account_list(request):
    account_filter = AccountFilter(request.GET, queryset=accounts_with_balances(request.user))
    return render_filtered_table(
        request, "payments/account_list.html", filterset=account_filter, table_class=AccountTable, per_page=25
    )


def _account_context(request, account, *, form=None):
    today = timezone.localdate()
    return {
        "account": account,
        "customer": account.customer,
        "summary": account_summary(account, today=today),
        "instalments": [
            {"instalment": instalment, "badge": status_badge(instalment, today=today)}
            for instalment in instalments_of(account)
        ],
        "entries": recent_entries(account),
        "form": form,
        "period": StatementPeriodForm.default_period(today),
    }


@permission_required("payments.view_ledgeraccount", VIEW_REASON)
def account_detail(request, pk):
    account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
    template = "payments/account_detail.html#account" if request.htmx else "payments/account_detail.html"
    return render(request, template, _account_context(request, account))


def _account_panel(request, account, *, status=200):
    response = render(
        request, "payments/account_detail.html#account", _account_context(request, account), status=status
    )
    return reswap(retarget(response, "#account-panel"), "outerHTML")


@permission_required("payments.add_payment", RECORD_REASON)
def payment_record(request, pk):
    """The record-payment form of an account (GET), and recording it (POST): cash or a bank transfer."""
    account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
    form_template = "payments/account_detail.html#record-form"
    if request.method != "POST":
        context = _account_context(request, account, form=PaymentRecordForm())
        return render(request, form_template if request.htmx else "payments/account_detail.html", context)
    form = PaymentRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment = services.payment_record(
                account=account,
                amount=data["amount"],
                method=data["method"],
                reference=data["reference"],
                received_on=data["received_on"],
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Payment of %(amount)s recorded; receipt %(receipt)s goes to the customer.")
                % {"amount": format_money(payment.amount, payment.currency), "receipt": payment.receipt.number},
            )
            if not request.htmx:
                return redirect("payments:account_detail", pk=account.pk)
            return _account_panel(request, account)
    context = _account_context(request, account, form=form)
    return render(request, form_template if request.htmx else "payments/account_detail.html", context, status=422)


# --- statements ----------------------------------------------------------------------------------------


def _statement_period(request):
    form = StatementPeriodForm(request.GET if "start" in request.GET or "end" in request.GET else None)
    return form, *form.period()


@permission_required("payments.view_ledgerentry", VIEW_REASON)
def statement(request, pk):
    account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
    form, start, end = _statement_period(request)
    if not form.is_bound:
        form = StatementPeriodForm(initial={"start": start, "end": end})
    context = {
        "account": account,
        "customer": account.customer,
        "form": form,
        "statement": account_statement(account, start, end),
    }
    template = "payments/statement.html#statement" if request.htmx else "payments/statement.html"
    return render(request, template, context, status=422 if form.errors else 200)


@permission_required("payments.view_ledgerentry", VIEW_REASON)
def statement_pdf(request, pk):
    account = get_object_or_404(accounts_visible_to(request.user).select_related("customer"), pk=pk)
    form, start, end = _statement_period(request)
    if form.is_bound and not form.is_valid():
        for error in form.non_field_errors() or [_("Enter both dates of the period.")]:
            messages.error(request, error)
        return redirect("payments:statement", pk=account.pk)
    return pdf_download(
        documents.statement_pdf(account=account, start=start, end=end),
        documents.statement_filename(account, start, end),
    )


# --- payments -----------------------------------------------------------------------------------------------


@permission_required("payments.view_payment", VIEW_REASON)
def payment_list(request):
    payment_filter = PaymentFilter(request.GET, queryset=payments_visible_to(request.user))
    return render_filtered_table(
        request,
        "payments/payment_list.html",
        filterset=payment_filter,
        table_class=PaymentTable,
        per_page=25,
        paginator_class=BoundedLazyPaginator,
    )


EXPORT_COLUMNS = [
    ("received_on", gettext_lazy("Date")),
    ("account__customer__full_name", gettext_lazy("Customer")),
    ("account__customer__id_type", gettext_lazy("ID type")),
    ("account__customer__id_number", gettext_lazy("ID number")),
    ("direction", gettext_lazy("Direction")),
    ("method", gettext_lazy("Method")),
    ("reference", gettext_lazy("Reference")),
    ("amount", gettext_lazy("Amount")),
    ("currency", gettext_lazy("Currency")),
    ("status", gettext_lazy("Status")),
    ("receipt__number", gettext_lazy("Receipt")),
    ("recorded_by__full_name", gettext_lazy("Recorded by")),
]
EXPORT_FIELDS = [name for name, _label in EXPORT_COLUMNS]
LABELLED = {
    EXPORT_FIELDS.index("direction"): dict(Payment.Direction.choices),
    EXPORT_FIELDS.index("method"): dict(Payment.Method.choices),
    EXPORT_FIELDS.index("status"): dict(Payment.Status.choices),
}


def _export_rows(payments):
    for row in payments.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000):
        row = list(row)
        for index, labels in LABELLED.items():
            row[index] = str(labels.get(row[index], row[index]))
        yield row


@permission_required("payments.view_payment", VIEW_REASON)
def payment_export(request, fmt):
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    payment_filter = PaymentFilter(request.GET, queryset=payments_visible_to(request.user))
    back = f"{reverse('payments:payment_list')}?{request.GET.urlencode()}"
    if not payment_filter.is_valid():
        return redirect(back)
    payments = payment_filter.qs
    if fmt == "xlsx":
        refusal = xlsx_refusal(request, payments, back=back)
        if refusal:
            return refusal
    name = f"amparo-payments-{timezone.localdate().isoformat()}"
    header = [str(label) for _name, label in EXPORT_COLUMNS]
    rows = _export_rows(payments)
    return xlsx_download(name, header, rows) if fmt == "xlsx" else csv_download(name, header, rows)


def _payment_context(request, payment, *, form=None):
    reversible = services.payment_reverse_refusal(payment) is None and request.user.has_perm("payments.change_payment")
    return {
        "payment": payment,
        "badge": status_badge(payment),
        "allocations": allocations_of(payment),
        "receipt": getattr(payment, "receipt", None),
        "reversible": reversible,
        "form": form or ReasonForm(auto_id="reverse_%s"),
    }


def _visible_payment(request, pk):
    return get_object_or_404(payments_visible_to(request.user).select_related("receipt", "reversed_by"), pk=pk)


@permission_required("payments.view_payment", VIEW_REASON)
def payment_detail(request, pk):
    payment = _visible_payment(request, pk)
    template = "payments/payment_detail.html#payment" if request.htmx else "payments/payment_detail.html"
    return render(request, template, _payment_context(request, payment))


@permission_required("payments.view_receipt", VIEW_REASON)
def receipt_pdf(request, pk):
    payment = _visible_payment(request, pk)
    receipt = getattr(payment, "receipt", None)
    if receipt is None:
        raise Http404
    return pdf_download(documents.receipt_pdf(receipt=receipt), documents.receipt_filename(receipt))


@require_POST
@permission_required("payments.change_payment", REVERSE_REASON)
def payment_reverse(request, pk):
    payment = _visible_payment(request, pk)
    form = ReasonForm(request.POST, auto_id="reverse_%s")
    status = 422
    if form.is_valid():
        try:
            services.payment_reverse(payment=payment, actor=request.user, reason=form.cleaned_data["reason"])
        except Conflict as error:
            messages.error(request, _refusal_text(error))
            status = 409
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Payment reversed: its instalments are open again."))
            status = 200
    if not request.htmx:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("payments:payment_detail", pk=payment.pk)
    payment = _visible_payment(request, pk)
    fresh_form = form if status == 422 else None
    return render(
        request,
        "payments/payment_detail.html#payment",
        _payment_context(request, payment, form=fresh_form),
        status=status,
    )


# --- claim payouts -------------------------------------------------------------------------------------------


def _payouts_context(request):
    payout_filter = PayoutFilter(request.GET, queryset=payouts_visible_to(request.user))
    table = PayoutTable(payout_filter.qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    may_prepare = request.user.has_perm("payments.add_claimpayout")
    return {
        "filter": payout_filter,
        "table": table,
        "awaiting": claims_awaiting_payout(request.user)[:50] if may_prepare else [],
        "prepare_form": PayoutPrepareForm(),
    }


@permission_required("payments.view_claimpayout", VIEW_PAYOUT_REASON)
def payout_list(request):
    template = "payments/payout_list.html#results" if request.htmx else "payments/payout_list.html"
    return render(request, template, _payouts_context(request))


def _payouts_answer(request, *, status=200):
    """After a payout action: the refreshed payouts page (HTMX: its lists), or a redirect to it."""
    if not request.htmx:
        return redirect("payments:payout_list")
    response = render(request, "payments/payout_list.html#results", _payouts_context(request), status=status)
    return reswap(retarget(response, "#results"), "outerHTML")


@permission_required("payments.add_claimpayout", PAYOUT_REASON)
def payout_prepare(request, claim_pk):
    """Prepare the payout of an approved claim: the form (GET, e.g. from the claim's page) and the action (POST)."""
    claim = get_object_or_404(claims_visible_to(request.user), pk=claim_pk)
    form = PayoutPrepareForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            payout = services.payout_prepare(
                claim=claim, actor=request.user, payee_account=form.cleaned_data["payee_account"]
            )
        except Conflict as error:
            messages.error(request, _refusal_text(error))
            return _payouts_answer(request, status=409)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Payout %(number)s prepared; another finance user confirms it.") % {"number": payout.number},
            )
            return _payouts_answer(request)
    if request.htmx and request.method == "POST":
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _payouts_answer(request, status=422)
    context = {"claim": claim, "form": form}
    return render(request, "payments/payout_prepare.html", context, status=422 if form.errors else 200)


@require_POST
@permission_required("payments.change_claimpayout", PAYOUT_REASON)
def payout_confirm(request, pk):
    payout = get_object_or_404(payouts_visible_to(request.user), pk=pk)
    try:
        payout = services.payout_confirm(payout=payout, actor=request.user)
    except Conflict as error:
        messages.error(request, _refusal_text(error))
        return _payouts_answer(request, status=409)
    except ValidationError as error:
        messages.error(request, _refusal_text(error))
        return _payouts_answer(request, status=422)
    messages.success(
        request,
        _("Payout %(number)s confirmed: %(amount)s paid for claim %(claim)s.")
        % {
            "number": payout.number,
            "amount": format_money(payout.amount, payout.currency),
            "claim": payout.claim.number,
        },
    )
    return _payouts_answer(request)


@require_POST
@permission_required("payments.change_claimpayout", PAYOUT_REASON)
def payout_cancel(request, pk):
    payout = get_object_or_404(payouts_visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the payout is cancelled."))
        return _payouts_answer(request, status=422)
    try:
        services.payout_cancel(payout=payout, actor=request.user, reason=form.cleaned_data["reason"])
    except Conflict as error:
        messages.error(request, _refusal_text(error))
        return _payouts_answer(request, status=409)
    except ValidationError as error:
        messages.error(request, _refusal_text(error))
        return _payouts_answer(request, status=422)
    messages.success(
        request, _("Payout %(number)s cancelled; the claim can be prepared again.") % {"number": payout.number}
    )
    return _payouts_answer(request)
