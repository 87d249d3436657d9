"""Demo staff (one login per role) and teams for `make run`, and bulk client app accounts for benchmarks.

Idempotent: every record is looked up by its natural key and only what is missing is created.
"""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from . import services as account_services
from .models import IdType, Role, Team, User, UserStatus

DEMO_PASSWORD = "Amparo-demo-2026!"  # noqa: S105 - printed on purpose by `make run`


DEMO_USERS = [
    # email, full name, role, id number, team name
    ("admin@amparo.demo", "Adriana Admin Rojas", Role.ADMIN, "1010000001", None),
    ("supervisor@amparo.demo", "Sergio Supervisor Gómez", Role.SUPERVISOR, "1010000002", None),
    ("agent@amparo.demo", "Ana Agente Martínez", Role.AGENT, "1010000003", "Bogotá Norte"),
    ("agent2@amparo.demo", "Andrés Agente López", Role.AGENT, "1010000004", "Bogotá Norte"),
    ("supervisor2@amparo.demo", "Sofía Supervisora Restrepo", Role.SUPERVISOR, "1010000005", None),
    ("agent3@amparo.demo", "Alejandro Agente Vélez", Role.AGENT, "1010000006", "Medellín Centro"),
    ("finance@amparo.demo", "Fernanda Finanzas Díaz", Role.FINANCE, "1010000007", None),
    ("auditor@amparo.demo", "Iván Interventor Castro", Role.INTERVENTORIA, "1010000008", None),
    ("client@amparo.demo", "Camila Cliente Torres", Role.CLIENT, "1010000009", None),
]


DEMO_TEAMS = [("Bogotá Norte", "supervisor@amparo.demo"), ("Medellín Centro", "supervisor2@amparo.demo")]


@transaction.atomic
def seed_demo_users():
    """Create the demo users (one per role) and teams; return the logins as (email, role)."""
    admin = _ensure_user("admin@amparo.demo", actor=None)
    for email, _name, role, _id, _team in DEMO_USERS:
        if role == Role.SUPERVISOR:
            _ensure_user(email, actor=admin)
    teams = {}
    for name, supervisor_email in DEMO_TEAMS:
        team = Team.objects.filter(name=name).first()
        if team is None:
            team = account_services.team_create(
                actor=admin, name=name, supervisor=User.objects.get(email_primary=supervisor_email)
            )
        teams[name] = team
    for email, *_row in DEMO_USERS:
        _ensure_user(email, actor=admin, teams=teams)
    return [(email, role) for email, _name, role, _id, _team in DEMO_USERS]


def _ensure_user(email, *, actor, teams=None):
    existing = User.objects.filter(email_primary=email).first()
    if existing is not None:
        return existing
    _email, full_name, role, id_number, team_name = next(row for row in DEMO_USERS if row[0] == email)
    return account_services.user_create(
        actor=actor,
        email_primary=email,
        full_name=full_name,
        id_type=IdType.CC,
        id_number=id_number,
        role=role,
        team=teams[team_name] if team_name else None,
        password=DEMO_PASSWORD,
        phone="+57 300 000 0000",
    )


def seed_scale_clients(count, *, batch_size=5000):
    """N customer app accounts, bulk-inserted; reruns only top up to N."""
    existing = User.objects.filter(email_primary__endswith="@scale.amparo.demo").count()
    if existing >= count:
        return 0
    password = make_password(None)
    client_group = Group.objects.get(name=Role.CLIENT)
    created = 0
    for start in range(existing, count, batch_size):
        stop = min(start + batch_size, count)
        users = User.objects.bulk_create(
            [
                User(
                    email_primary=f"client{n:07d}@scale.amparo.demo",
                    full_name=f"Cliente de prueba {n:07d}",
                    id_type=IdType.CC,
                    id_number=f"9{n:09d}",
                    role=Role.CLIENT,
                    status=UserStatus.ACTIVE if n % 10 else UserStatus.PENDING_VERIFICATION,
                    password=password,
                )
                for n in range(start, stop)
            ],
            batch_size=batch_size,
        )
        memberships = User.groups.through
        memberships.objects.bulk_create(
            [memberships(user_id=user.pk, group_id=client_group.pk) for user in users], batch_size=batch_size
        )
        created += len(users)
    return created
