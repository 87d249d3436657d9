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

ROLE_PERMISSIONS = {
    Role.ADMIN: ALL_PERMISSIONS,
    Role.SUPERVISOR: ["accounts.view_user", "accounts.view_team"],
    Role.AGENT: [],
    Role.FINANCE: [*BORDEREAU_READ, "ingestion.add_importjob", "ingestion.change_importjob"],
    Role.INTERVENTORIA: [
        "accounts.view_user",
        "accounts.view_team",
        "audit.view_auditevent",
        *BORDEREAU_READ,
        "ingestion.view_mappingprofile",
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
