from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.accounts.middleware import second_factor_pending

# (label, url name, icon, permission or None for every staff user)
NAVIGATION = [
    (_("Dashboard"), "dashboard:dashboard", "speedometer2", None),
    (_("Customers"), "customers:customer_list", "person-vcard", "customers.view_customer"),
    (_("Quotes"), "policies:quote_list", "calculator", "policies.view_quote"),
    (_("Policies"), "policies:policy_list", "file-earmark-text", "policies.view_policy"),
    (_("Claims"), "claims:claim_list", "exclamation-diamond", "claims.view_claim"),
    (_("Renewals"), "policies:renewal_queue", "arrow-repeat", "policies.view_policy"),
    (_("Payments"), "payments:payment_list", "cash-coin", "payments.view_payment"),
    (_("Users"), "accounts:user_list", "people", "accounts.view_user"),
    (_("Bordereaux"), "ingestion:job_list", "file-earmark-spreadsheet", "ingestion.view_importjob"),
    (_("Reconciliation"), "gateways:reconciliation", "arrow-left-right", "gateways.reconcile_gatewaytransaction"),
    (_("Core sync"), "integrations:outbox", "cloud-arrow-up", "outbox.view_outboxmessage"),
    (_("Audit log"), "audit:log", "journal-text", "audit.view_auditevent"),
    (_("Configuration"), "admin:index", "gear", "accounts.change_user"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_role or second_factor_pending(request):
        return {"nav_items": []}
    path = request.path
    items = []
    for label, url_name, icon, perm in NAVIGATION:
        if perm is not None and not user.has_perm(perm):
            continue
        url = reverse(url_name)
        active = path == url if url_name == "dashboard:dashboard" else path.startswith(url)
        items.append({"label": label, "url": url, "icon": icon, "active": active, "name": url_name})
    return {"nav_items": items}
