from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal.core.db_router import reads_from_replica
from portal.core.exports import csv_download, list_without_export, xlsx_download, xlsx_refusal
from portal.core.forms import add_service_errors
from portal.core.listing import render_filtered_table
from portal.core.permissions import permission_required
from portal.policies.selectors import customers_with_policy_counts, policies_visible_to, quotes_visible_to

from . import services
from .filters import CustomerFilter
from .forms import CustomerForm, DuplicateCheckForm
from .selectors import customer_duplicates, customers_visible_to, normalized_id_number
from .tables import CustomerPolicyTable, CustomerQuoteTable, CustomerTable

VIEW_REASON = gettext_lazy(
    "Customer records are open to agents, supervisors, finance, Interventoría and administrators."
)
ADD_REASON = gettext_lazy("Only agents, supervisors and administrators register customers.")
CHANGE_REASON = gettext_lazy("Only agents, supervisors and administrators change customer records.")

EXPORT_COLUMNS = [
    ("full_name", gettext_lazy("Name")),
    ("id_type", gettext_lazy("ID type")),
    ("id_number", gettext_lazy("ID number")),
    ("email_primary", gettext_lazy("Primary email")),
    ("email_secondary", gettext_lazy("Secondary email")),
    ("phone", gettext_lazy("Phone")),
    ("address", gettext_lazy("Address")),
    ("city", gettext_lazy("City")),
    ("birth_date", gettext_lazy("Birth date")),
    ("agent__full_name", gettext_lazy("Agent")),
    ("agent__team__name", gettext_lazy("Team")),
    ("policy_count", gettext_lazy("Policies")),
    ("created_at", gettext_lazy("Created")),
]
EXPORT_FIELDS = [name for name, _label in EXPORT_COLUMNS]
CREATED_AT = EXPORT_FIELDS.index("created_at")


@reads_from_replica
@permission_required("customers.view_customer", VIEW_REASON)
def customer_list(request):
    customer_filter = CustomerFilter(
        request.GET, queryset=customers_with_policy_counts(request.user), user=request.user
    )
    fmt = request.GET.get("export")
    if fmt in {"csv", "xlsx"} and customer_filter.is_valid():
        refusal = fmt == "xlsx" and xlsx_refusal(request, customer_filter.qs, back=list_without_export(request))
        return refusal or _export(customer_filter.qs, fmt)
    return render_filtered_table(
        request,
        "customers/customer_list.html",
        filterset=customer_filter,
        table_class=CustomerTable,
        per_page=25,
    )


def _export(customers, fmt):
    header = [str(label) for _name, label in EXPORT_COLUMNS]
    rows = customers.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    download = xlsx_download if fmt == "xlsx" else csv_download
    return download("amparo-customers", header, (_with_local_created_at(row) for row in rows))


def _with_local_created_at(row):
    """Spreadsheets have no time zones: write the creation time as the wall-clock time here."""
    row = list(row)
    row[CREATED_AT] = timezone.localtime(row[CREATED_AT]).replace(tzinfo=None, microsecond=0)
    return row


@permission_required("customers.view_customer", VIEW_REASON)
def customer_detail(request, pk):
    customer = get_object_or_404(customers_visible_to(request.user).select_related("created_by", "user"), pk=pk)
    policies = policies_visible_to(request.user).filter(customer=customer)
    quotes = quotes_visible_to(request.user).filter(customer=customer)
    context = {
        "customer": customer,
        "age": customer.age_on(timezone.localdate()),
        "policy_table": CustomerPolicyTable(policies),
        "quote_table": CustomerQuoteTable(quotes),
    }
    return render(request, "customers/customer_detail.html", context)


@permission_required("customers.add_customer", ADD_REASON)
def customer_create(request):
    return _customer_form(request, customer=None)


@permission_required("customers.change_customer", CHANGE_REASON)
def customer_edit(request, pk):
    customer = get_object_or_404(customers_visible_to(request.user), pk=pk)
    return _customer_form(request, customer=customer)


def _customer_form(request, *, customer):
    form = CustomerForm(
        request.POST or None,
        user=request.user,
        customer=customer,
        duplicate_check_url=reverse("customers:duplicate_check"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            if customer is None:
                customer = services.customer_create(actor=request.user, **form.service_arguments())
                messages.success(request, _("Customer %(name)s registered.") % {"name": customer.full_name})
            else:
                customer = services.customer_update(customer=customer, actor=request.user, **form.service_arguments())
                messages.success(request, _("Customer %(name)s saved.") % {"name": customer.full_name})
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            url = reverse("customers:customer_detail", args=[customer.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = "customers/customer_form.html#customer-form" if request.htmx else "customers/customer_form.html"
    context = {"form": form, "customer": customer}
    return render(request, template, context, status=422 if form.errors else 200)


@require_POST
@permission_required("customers.view_customer", VIEW_REASON)
def duplicate_check(request):
    """The hint shown while a customer is typed in: who already holds this ID number or email.

    A duplicate outside the user's book is only said to exist; its name and agent stay hidden.
    """
    form = DuplicateCheckForm(request.POST)
    hints = []
    if form.is_valid():
        data = form.cleaned_data
        visible = customers_visible_to(request.user)
        if data["exclude"] is not None:
            get_object_or_404(visible, pk=data["exclude"])
        if data["id_number"] or data["email"]:
            duplicates = list(
                customer_duplicates(
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    email=data["email"],
                    exclude_pk=data["exclude"],
                )
            )
            visible_pks = set(visible.filter(pk__in=[d.pk for d in duplicates]).values_list("pk", flat=True))
            hints = [
                {
                    "customer": duplicate if duplicate.pk in visible_pks else None,
                    "same_id": duplicate.id_type == data["id_type"]
                    and duplicate.id_number == normalized_id_number(data["id_number"]),
                }
                for duplicate in duplicates
            ]
    return render(request, "customers/customer_form.html#duplicate-hint", {"hints": hints})
