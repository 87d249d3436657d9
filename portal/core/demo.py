"""Demo data for `make run` and volume data for benchmarks.

`seed_demo_base` is idempotent: it looks every record up by its natural key and creates only
what is missing. `seed_demo_scale` adds volume with bulk inserts; each feature registers its own
scale seeder in SCALE_SEEDERS.
"""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from portal.accounts import services as account_services
from portal.accounts.models import IdType, Role, Team, User, UserStatus
from portal.audit.services import audit_record
from portal.claims.demo import seed_scale_claims
from portal.policies.demo import seed_scale_policies

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
def seed_demo_base():
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


DEMO_SOURCE = "Seguros Andinos (demo)"


def seed_demo_bordereaux():
    """A cedant with one risk and one claims bordereau imported, some rows rejected on purpose."""
    import tempfile
    from datetime import date
    from pathlib import Path

    from portal.ingestion.fields import Kind
    from portal.ingestion.generator import generate
    from portal.ingestion.models import Source
    from portal.ingestion.services import import_job_create, import_job_run, source_create

    if Source.objects.filter(name=DEMO_SOURCE).exists():
        return
    finance = User.objects.get(email_primary="finance@amparo.demo")
    source = source_create(actor=finance, name=DEMO_SOURCE)
    with tempfile.TemporaryDirectory() as folder:
        for kind, rows, fmt in ((Kind.RISK, 400, "csv"), (Kind.CLAIMS, 150, "xlsx")):
            path = Path(folder) / f"demo-{kind}.{fmt}"
            generate(path, rows=rows, kind=kind, fmt=fmt, seed=2026, bad_rate=0.03)
            with path.open("rb") as handle:
                job = import_job_create(
                    actor=finance,
                    source=source,
                    kind=kind,
                    period=date(2026, 10, 1),
                    upload=handle,
                    original_name=f"andinos-{kind}-2026-10.{fmt}",
                    enqueue=False,
                )
            import_job_run(job_id=job.pk)


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


SCALE_SEEDERS = [
    ("client app accounts", seed_scale_clients),
    ("policies with their customers", seed_scale_policies),
    ("claims with their transitions", seed_scale_claims),
]


@transaction.atomic
def seed_demo_scale(count):
    results = {label: seeder(count) for label, seeder in SCALE_SEEDERS}
    audit_record(actor=None, actor_label="seed_demo", action="demo.scaled", metadata={"scale": count, **results})
    return results
