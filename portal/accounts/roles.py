"""Which permissions each role's group holds.

The groups themselves are created by a migration; the permissions are (re)applied after every
migrate, because the permission rows of a new app only exist once its migrations have run.
Later features add their permissions here, and the next `migrate` puts them in place.
"""

from django.db.models import Q

from .models import Role

ALL_PERMISSIONS = "__all__"

BORDEREAU_READ = [
    "ingestion.view_source",
    "ingestion.view_importjob",
    "ingestion.view_riskrow",
    "ingestion.view_claimrow",
    "ingestion.view_sourceconnection",
    "ingestion.view_syncrun",
]

BOOK_READ = [
    "customers.view_customer",
    "policies.view_product",
    "policies.view_quote",
    "policies.view_policy",
    "policies.view_policyversion",
]
CLAIMS_READ = ["claims.view_claim", "claims.view_claimtransition", "claims.view_claimdocument"]
# Agents file claims and attach documents; supervisors also review and decide them (within their limit).
CLAIMS_WRITE = [*CLAIMS_READ, "claims.add_claim", "claims.change_claim", "claims.add_claimdocument"]

# Online payments: finance and Interventoría follow and reconcile them all; agents and supervisors
# start them for the customers in their book and follow those.
GATEWAYS_READ = [
    "gateways.view_gatewaytransaction",
    "gateways.view_webhookevent",
    "gateways.reconcile_gatewaytransaction",
]
GATEWAYS_START = ["gateways.view_gatewaytransaction", "gateways.add_gatewaytransaction"]

# Premium schedules, the ledger, payments and receipts: read by every staff role in its scope.
PAYMENTS_READ = [
    "payments.view_ledgeraccount",
    "payments.view_instalment",
    "payments.view_ledgerentry",
    "payments.view_payment",
    "payments.view_paymentallocation",
    "payments.view_receipt",
]
# The outbox to the insurer's core and every exchange with it: Interventoría reads (administrators act).
CORE_SYNC_READ = ["outbox.view_outboxmessage", "integrations.view_exchange", "integrations.view_reconciliationrun"]
# Agents, supervisors and finance record cash and bank transfers; finance also reverses them.
PAYMENTS_RECORD = [*PAYMENTS_READ, "payments.add_payment"]
# Claim payouts: finance prepares, confirms (another user) and cancels them; Interventoría follows them.
PAYOUTS_READ = ["payments.view_claimpayout"]
PAYOUTS_WRITE = [*PAYOUTS_READ, "payments.add_claimpayout", "payments.change_claimpayout"]

# Reports: every staff role runs the catalogue's reports its role is listed for (portal/reports/catalogue.py).
REPORTS_RUN = ["reports.view_reportrun", "reports.add_reportrun"]
# Loans: agents and supervisors apply and work them (KYC, overrides, approvals within a limit); finance
# disburses them; Interventoría follows them.
LOANS_READ = ["loans.view_loan", "loans.view_loantask", "loans.view_loandocument", "loans.view_loaninstalment"]
LOANS_WRITE = [*LOANS_READ, "loans.add_loan", "loans.change_loan", "loans.add_loandocument"]
LOANS_DISBURSE = [*LOANS_READ, "loans.change_loan"]

# Agents and supervisors manage the book in their scope (their own, their teams').
BOOK_WRITE = [
    *BOOK_READ,
    "customers.add_customer",
    "customers.change_customer",
    "policies.add_quote",
    "policies.change_quote",
    "policies.add_policy",
    "policies.change_policy",
]

ROLE_PERMISSIONS = {
    Role.ADMIN: ALL_PERMISSIONS,
    Role.SUPERVISOR: [
        "accounts.view_user",
        "accounts.view_team",
        *BOOK_WRITE,
        *CLAIMS_WRITE,
        *GATEWAYS_START,
        *PAYMENTS_RECORD,
        *REPORTS_RUN,
        *LOANS_WRITE,
    ],
    Role.AGENT: [*BOOK_WRITE, *CLAIMS_WRITE, *GATEWAYS_START, *PAYMENTS_RECORD, *REPORTS_RUN, *LOANS_WRITE],
    Role.FINANCE: [
        *BORDEREAU_READ,
        "ingestion.add_importjob",
        "ingestion.change_importjob",
        *BOOK_READ,
        *CLAIMS_READ,
        *GATEWAYS_READ,
        "gateways.add_gatewaytransaction",
        *PAYMENTS_RECORD,
        "payments.change_payment",
        *PAYOUTS_WRITE,
        *REPORTS_RUN,
        "reports.view_reportschedule",
        *LOANS_DISBURSE,
    ],
    Role.INTERVENTORIA: [
        "accounts.view_user",
        "accounts.view_team",
        "audit.view_auditevent",
        *BORDEREAU_READ,
        "ingestion.view_mappingprofile",
        *BOOK_READ,
        *CLAIMS_READ,
        *GATEWAYS_READ,
        *PAYMENTS_READ,
        *PAYOUTS_READ,
        *CORE_SYNC_READ,
        *REPORTS_RUN,
        "reports.view_reportschedule",
        *LOANS_READ,
    ],
    Role.CLIENT: [],
}


def permissions_for(role):
    from django.contrib.auth.models import Permission

    wanted = ROLE_PERMISSIONS[role]
    if wanted == ALL_PERMISSIONS:
        return Permission.objects.all()
    query = Q(pk__in=[])
    for dotted in wanted:
        app_label, codename = dotted.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


def sync_role_permissions(**kwargs):
    from django.contrib.auth.models import Group

    for role in Role.values:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))
