"""The portal's navigation: areas of the working day, each a menu of the pages a role may open.

Adding a page is one `Entry` line in its area. A role sees only the entries its permissions open, an
area with one entry left shows as that entry's link, and an area with none is not shown. Badges say
what waits for this user; each is a count bounded at BADGE_BOUND, so no page load counts a large table.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from portal.accounts.middleware import second_factor_pending
from portal.claims.selectors import claims_to_decide
from portal.core.listing import bounded_count
from portal.integrations.selectors import dead_outbox_messages
from portal.payments.selectors import payouts_to_confirm

BADGE_BOUND = 99


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    icon: str
    # None: every staff user.
    permission: str | None = None
    # What waits for the user here: a function of the user giving a queryset, counted up to BADGE_BOUND.
    waiting: object = None
    waiting_label: str = ""


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    icon: str
    entries: list = field(default_factory=list)


NAVIGATION = [
    Area("home", _("Dashboard"), "speedometer2", [Entry(_("Dashboard"), "dashboard:dashboard", "speedometer2")]),
    Area(
        "sales",
        _("Sales"),
        "briefcase",
        [
            Entry(_("Customers"), "customers:customer_list", "person-vcard", "customers.view_customer"),
            Entry(_("Quotes"), "policies:quote_list", "calculator", "policies.view_quote"),
            Entry(_("Policies"), "policies:policy_list", "file-earmark-text", "policies.view_policy"),
            Entry(_("Renewals"), "policies:renewal_queue", "arrow-repeat", "policies.view_policy"),
        ],
    ),
    Area(
        "claims",
        _("Claims"),
        "exclamation-diamond",
        [
            Entry(
                _("Claims"),
                "claims:claim_list",
                "exclamation-diamond",
                "claims.view_claim",
                waiting=claims_to_decide,
                waiting_label=_("claims under review for you to decide"),
            ),
        ],
    ),
    Area("loans", _("Loans"), "bank", [Entry(_("Loans"), "loans:loan_list", "bank", "loans.view_loan")]),
    Area(
        "money",
        _("Money"),
        "cash-coin",
        [
            Entry(_("Payments"), "payments:payment_list", "cash-coin", "payments.view_payment"),
            Entry(
                _("Claim payouts"),
                "payments:payout_list",
                "send",
                "payments.view_claimpayout",
                waiting=payouts_to_confirm,
                waiting_label=_("payouts prepared by someone else for you to confirm"),
            ),
            Entry(
                _("Reconciliation"),
                "gateways:reconciliation",
                "arrow-left-right",
                "gateways.reconcile_gatewaytransaction",
            ),
        ],
    ),
    Area(
        "reinsurance",
        _("Reinsurance"),
        "diagram-3",
        [
            Entry(_("Bordereaux"), "ingestion:job_list", "file-earmark-spreadsheet", "ingestion.view_importjob"),
            Entry(_("Sources"), "ingestion:source_list", "plug", "ingestion.view_source"),
        ],
    ),
    Area(
        "oversight",
        _("Oversight"),
        "eye",
        [
            Entry(_("Reports"), "reports:catalogue", "journal-richtext", "reports.view_reportrun"),
            Entry(_("Audit log"), "audit:log", "journal-text", "audit.view_auditevent"),
        ],
    ),
    Area(
        "administration",
        _("Administration"),
        "gear",
        [
            Entry(_("Users"), "accounts:user_list", "people", "accounts.view_user"),
            Entry(
                _("Core sync"),
                "integrations:outbox",
                "cloud-arrow-up",
                "outbox.view_outboxmessage",
                waiting=dead_outbox_messages,
                waiting_label=_("dead messages to the insurer's core waiting for a retry or a skip"),
            ),
            Entry(_("Configuration"), "admin:index", "sliders", "accounts.change_user"),
        ],
    ),
]


def _current_url(path, urls):
    """The entry URL the path is under: the longest prefix wins (/payments/payouts/ over /payments/);
    the dashboard only on itself."""
    dashboard = reverse("dashboard:dashboard")
    under = [url for url in urls if (path == url if url == dashboard else path.startswith(url))]
    return max(under, key=len, default=None)


def navigation_for(user, path):
    """The areas `user` may open, each with its entries (label, url, icon, name, active, waiting)."""
    visible = [
        (area, [entry for entry in area.entries if entry.permission is None or user.has_perm(entry.permission)])
        for area in NAVIGATION
    ]
    urls = {entry.url_name: reverse(entry.url_name) for _area, entries in visible for entry in entries}
    current = _current_url(path, urls.values())
    areas = []
    for area, entries in visible:
        if not entries:
            continue
        items = []
        for entry in entries:
            waiting = bounded_count(entry.waiting(user), BADGE_BOUND) if entry.waiting is not None else 0
            items.append(
                {
                    "label": entry.label,
                    "url": urls[entry.url_name],
                    "icon": entry.icon,
                    "name": entry.url_name,
                    "active": urls[entry.url_name] == current,
                    "waiting": waiting,
                    "waiting_label": entry.waiting_label,
                }
            )
        areas.append(
            {
                "key": area.key,
                "label": area.label,
                "icon": area.icon,
                "entries": items,
                "active": any(item["active"] for item in items),
                "waiting": sum(item["waiting"] for item in items),
            }
        )
    return areas


def navigation(request):
    """Context processor. Lazy: the partials HTMX swaps never show the navigation, so never compute it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_role or second_factor_pending(request):
        return {"nav_areas": [], "nav_badge_bound": BADGE_BOUND}
    return {"nav_areas": SimpleLazyObject(lambda: navigation_for(user, request.path)), "nav_badge_bound": BADGE_BOUND}
