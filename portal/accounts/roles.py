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
    Role.SUPERVISOR: ["accounts.view_user", "accounts.view_team", *BOOK_WRITE, *CLAIMS_WRITE],
    Role.AGENT: [*BOOK_WRITE, *CLAIMS_WRITE],
    Role.FINANCE: [*BORDEREAU_READ, "ingestion.add_importjob", "ingestion.change_importjob", *BOOK_READ, *CLAIMS_READ],
    Role.INTERVENTORIA: [
        "accounts.view_user",
        "accounts.view_team",
        "audit.view_auditevent",
        *BORDEREAU_READ,
        "ingestion.view_mappingprofile",
        *BOOK_READ,
        *CLAIMS_READ,
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
