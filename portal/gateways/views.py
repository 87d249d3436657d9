"""Online payments in the staff portal: start a Nequi or PSE payment, follow it, reconcile them all."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from portal.core.exports import csv_download
from portal.core.forms import add_service_errors
from portal.core.listing import BoundedLazyPaginator
from portal.core.permissions import permission_required
from portal.customers.selectors import customers_visible_to
from portal.policies.forms import PK

from . import services
from .forms import OnlinePaymentForm, ReconciliationForm
from .models import GatewayTransaction, PaymentMethod
from .selectors import (
    Issue,
    failed_events,
    gateway_payments_without_transaction,
    gateway_transactions_visible_to,
    reconciliation_figures,
    reconciliation_rows,
    webhook_events_of,
)
from .tables import FailedEventsTable, ReconciliationTable, status_badge
from .wompi import WompiClient, WompiError

VIEW_REASON = gettext_lazy(
    "Online payments are open to agents, supervisors, finance, Interventoría and administrators."
)
START_REASON = gettext_lazy("Only agents, supervisors, finance and administrators start online payments.")
RECONCILE_REASON = gettext_lazy("Reconciliation is open to finance, Interventoría and administrators.")
REFRESH_REASON = gettext_lazy("Only agents, supervisors, finance and administrators ask Wompi about a payment.")


# --- starting a payment -------------------------------------------------------------------------------


def _pse_banks():
    """Wompi's PSE banks, or None when Wompi cannot be asked just now."""
    try:
        return WompiClient().pse_banks()
    except WompiError:
        return None


def _payment_form(request, data=None):
    initial = {"method": request.GET.get("method") or PaymentMethod.NEQUI}
    customer_pk = request.GET.get("customer", "")
    if PK.fullmatch(customer_pk):
        initial["customer"] = customers_visible_to(request.user).filter(pk=customer_pk).first()
    chosen = (data or request.GET).get("method") or initial["method"]
    banks = _pse_banks() if chosen == PaymentMethod.PSE else []
    form = OnlinePaymentForm(data, initial=initial, user=request.user, banks=banks or [])
    if chosen == PaymentMethod.PSE and banks is None:
        form.banks_unavailable = True
    return form


@permission_required("gateways.add_gatewaytransaction", START_REASON)
def payment_start(request):
    if request.method != "POST":
        form = _payment_form(request)
        template = "gateways/payment_start.html#payment-form" if request.htmx else "gateways/payment_start.html"
        return render(request, template, {"form": form})
    form = _payment_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            attempt = services.online_payment_start(
                customer=data["customer"],
                amount=data["amount"],
                currency="COP",
                method=data["method"],
                method_details=form.method_details(),
                actor=request.user,
                redirect_url=request.build_absolute_uri(reverse("gateways:payment_return")),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Payment %(reference)s sent to Wompi: it stays pending until Wompi confirms it.")
                % {"reference": attempt.reference},
            )
            return redirect("gateways:transaction_detail", pk=attempt.pk)
    return render(request, "gateways/payment_start.html", {"form": form}, status=422)


def payment_return(request):
    """Where Wompi sends a PSE payer back from their bank. Whatever the address says about the
    payment is not read: only Wompi's event or its API tells how it ended."""
    return render(request, "gateways/payment_return.html")


# --- one payment --------------------------------------------------------------------------------------


def _transaction_context(request, attempt):
    return {
        "attempt": attempt,
        "badge": status_badge(attempt),
        "events": webhook_events_of(request.user, attempt),
        "polling": attempt.status == GatewayTransaction.Status.PENDING,
        "can_refresh": request.user.has_perm("gateways.add_gatewaytransaction") and services.refresh_available(attempt),
    }


@permission_required("gateways.view_gatewaytransaction", VIEW_REASON)
def transaction_detail(request, pk):
    attempt = get_object_or_404(gateway_transactions_visible_to(request.user), pk=pk)
    template = "gateways/transaction_detail.html#transaction" if request.htmx else "gateways/transaction_detail.html"
    return render(request, template, _transaction_context(request, attempt))


@require_POST
@permission_required("gateways.add_gatewaytransaction", REFRESH_REASON)
def transaction_refresh(request, pk):
    """Ask Wompi how the payment stands; its answer is the only one taken besides its events."""
    attempt = get_object_or_404(gateway_transactions_visible_to(request.user), pk=pk)
    status = 200
    try:
        attempt = services.gateway_transaction_refresh(gateway_transaction=attempt)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        status = 422
    else:
        messages.info(request, _("Wompi says: %(status)s.") % {"status": attempt.get_status_display().lower()})
    if not request.htmx:
        return redirect("gateways:transaction_detail", pk=pk)
    attempt = gateway_transactions_visible_to(request.user).get(pk=pk)
    return render(
        request, "gateways/transaction_detail.html#transaction", _transaction_context(request, attempt), status=status
    )


# --- reconciliation ------------------------------------------------------------------------------------


def _reconciliation_rows(request, form):
    data = form.cleaned_data
    rows = reconciliation_rows(
        request.user, date_from=data["date_from"], date_to=data["date_to"], pending_hours=data["pending_hours"]
    )
    if data["issue"] == "any":
        return rows.exclude(issue=Issue.NONE)
    if data["issue"]:
        return rows.filter(issue=data["issue"])
    return rows


@permission_required("gateways.reconcile_gatewaytransaction", RECONCILE_REASON)
def reconciliation(request):
    form = ReconciliationForm.for_request(request.GET)
    context = {"form": form}
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        every_row = reconciliation_rows(
            request.user, date_from=data["date_from"], date_to=data["date_to"], pending_hours=data["pending_hours"]
        )
        table = ReconciliationTable(_reconciliation_rows(request, form))
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        # Anyone can send refused deliveries, so there may be many: no COUNT(*), paged apart.
        events_table = FailedEventsTable(
            failed_events(request.user, date_from=data["date_from"], date_to=data["date_to"]), prefix="events-"
        )
        RequestConfig(request, paginate={"per_page": 25, "paginator_class": BoundedLazyPaginator}).configure(
            events_table
        )
        context.update(
            table=table,
            figures=reconciliation_figures(every_row),
            unmatched_payments=gateway_payments_without_transaction(
                request.user, date_from=data["date_from"], date_to=data["date_to"]
            )[:50],
            events_table=events_table,
        )
    else:
        status = 422
    template = "gateways/reconciliation.html#results" if request.htmx else "gateways/reconciliation.html"
    return render(request, template, context, status=status)


@permission_required("gateways.reconcile_gatewaytransaction", RECONCILE_REASON)
def reconciliation_export(request):
    form = ReconciliationForm.for_request(request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect("gateways:reconciliation")
    header = [
        _("Reference"),
        _("Wompi transaction"),
        _("Started"),
        _("Customer"),
        _("ID number"),
        _("Method"),
        _("Wompi status"),
        _("Amount"),
        _("Currency"),
        _("Payment amount"),
        _("Payment currency"),
        _("Payment status"),
        _("Payment date"),
        _("Reconciliation"),
    ]
    issues = {issue: str(label) for issue, label in Issue.LABELS.items()} | {Issue.NONE: _("Matches")}
    rows = (
        [
            row.reference,
            row.wompi_id or "",
            date_format(localtime(row.created_at), "Y-m-d H:i"),
            row.customer.full_name,
            row.customer.id_number,
            row.get_method_display(),
            row.get_status_display(),
            row.amount,
            row.currency,
            row.payment.amount if row.payment else "",
            row.payment.currency if row.payment else "",
            row.payment.get_status_display() if row.payment else "",
            row.payment.received_on.isoformat() if row.payment else "",
            issues[row.issue],
        ]
        for row in _reconciliation_rows(request, form).iterator(chunk_size=2000)
    )
    data = form.cleaned_data
    return csv_download(f"reconciliation-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}", header, rows)
