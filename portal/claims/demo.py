"""Demo claims: a claim in every state on the demo book, and bulk volume for benchmarks.

`seed_demo_claims` files and moves every claim through the real services, so the demo's
transitions, documents and audit trail are exactly what the portal would have written.
`seed_scale_claims` writes claims with their whole transition history in bulk.
"""

import io
import json
import random
from bisect import bisect
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from math import log

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from PIL import Image, ImageDraw
from psycopg.copy import QueuedLibpqWriter

from portal.accounts import services as account_services
from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import IdType, Role, User
from portal.audit.services import audit_record
from portal.core.models import next_sequence_value
from portal.policies.demo import seed_scale_policies
from portal.policies.models import Policy

from . import services
from .models import ApprovalAuthority, Claim, ClaimTransition, RejectionReason

D = Decimal
Status = Claim.Status
ONE_DAY = timedelta(days=1)

# The demo's second finance user: payouts are prepared by one finance user and confirmed by another.
CHECKER = ("finance2@amparo.demo", "Felipe Finanzas Ortiz", "1010000010")
# Supervisors' authority in the demo: Sergio approves up to 20 million, Sofía up to 15 million.
DEMO_LIMITS = [("supervisor@amparo.demo", "COP", D("20000000")), ("supervisor2@amparo.demo", "COP", D("15000000"))]
FIRST_DEMO_DESCRIPTION = "Choque en la Calle 80 con la Avenida Boyacá: bómper y puerta delantera derecha."


def _user(email):
    return User.objects.get(email_primary=email)


def _policy(id_number, status=Policy.Status.ACTIVE):
    return Policy.objects.get(customer__id_number=id_number, status=status)


def _photo(caption):
    image = Image.new("RGB", (640, 420), (118, 134, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 170, 560, 330), fill=(196, 30, 58))
    draw.ellipse((130, 290, 230, 390), fill=(30, 30, 30))
    draw.ellipse((410, 290, 510, 390), fill=(30, 30, 30))
    draw.text((24, 24), caption, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _pdf(lines):
    page = Image.new("RGB", (620, 877), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(lines):
        draw.text((48, 60 + row * 28), line, fill=(0, 0, 0))
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=72)
    return buffer.getvalue()


def _attach(claim, actor, name, content, content_type):
    services.claim_document_add(
        claim=claim, upload=SimpleUploadedFile(name, content, content_type=content_type), actor=actor
    )


def _checker(admin, existing):
    email, full_name, id_number = CHECKER
    return existing or account_services.user_create(
        actor=admin,
        email_primary=email,
        full_name=full_name,
        id_type=IdType.CC,
        id_number=id_number,
        role=Role.FINANCE,
        password=DEMO_PASSWORD,
        phone="+57 300 000 0000",
    )


def _grant_demo_limits(admin, users):
    held = set(
        ApprovalAuthority.objects.filter(user__email_primary__in=[email for email, _c, _l in DEMO_LIMITS]).values_list(
            "user__email_primary", "currency"
        )
    )
    for email, currency, limit in DEMO_LIMITS:
        if (email, currency) in held:
            continue
        ApprovalAuthority.objects.create(user=users[email], currency=currency, limit=limit)
        audit_record(
            actor=admin,
            action="claim.approval_limit_granted",
            target=users[email],
            metadata={"currency": currency, "limit": str(limit), "changes": {}},
        )


# The reasons the demo rejects with. A new database has them from migration 0002; one emptied since
# (a browser test's flush) gets them back here.
DEMO_REASONS = {
    "below-deductible": ("La pérdida es menor que el deducible", "The loss is below the deductible"),
    "late-notice": ("La pérdida se avisó fuera de plazo", "The loss was reported too late"),
}


def _demo_reasons():
    for position, (code, (label_es_co, label_en)) in enumerate(DEMO_REASONS.items(), start=2):
        RejectionReason.objects.get_or_create(
            code=code, defaults={"label_es_co": label_es_co, "label_en": label_en, "position": position}
        )
    return {r.code: r for r in RejectionReason.objects.all()}


@transaction.atomic
def seed_demo_claims(*, pay_out):
    """Supervisors' approval limits, a second finance user and a claim in every state on the demo
    policies (idempotent); returns the login it adds as (email, role).

    `pay_out(claim, maker=, checker=)` pays an approved claim the way finance does (payments' payout,
    prepared by one finance user and confirmed by another): payments sits above claims and passes it in.
    """
    emails = ["admin@amparo.demo", CHECKER[0], *(email for email, _currency, _limit in DEMO_LIMITS)]
    users = {user.email_primary: user for user in User.objects.filter(email_primary__in=emails)}
    admin = users["admin@amparo.demo"]
    checker = _checker(admin, users.get(CHECKER[0]))
    _grant_demo_limits(admin, users)
    logins = [(checker.email_primary, checker.role)]
    if Claim.objects.filter(description=FIRST_DEMO_DESCRIPTION).exists():
        return logins
    sergio, sofia = users["supervisor@amparo.demo"], users["supervisor2@amparo.demo"]
    ana, andres, alejandro = _user("agent@amparo.demo"), _user("agent2@amparo.demo"), _user("agent3@amparo.demo")
    finance = _user("finance@amparo.demo")
    today = timezone.localdate()
    reason = _demo_reasons()

    def file(id_number, coverage, days_ago, amount, description, actor, *, status=Policy.Status.ACTIVE):
        return services.claim_file(
            policy=_policy(id_number, status),
            coverage_code=coverage,
            loss_date=today - timedelta(days=days_ago),
            claimed_amount=amount,
            description=description,
            actor=actor,
        )

    # Pending: filed this week, a photo attached.
    bumper = file("52101001", "PP", 3, "3850000", FIRST_DEMO_DESCRIPTION, ana)
    _attach(bumper, ana, "foto-bomper.jpg", _photo("Mazda CX-30 - bomper delantero"), "image/jpeg")
    file("43101008", "EG", 5, "50000000", "Diagnóstico de enfermedad grave; aporta la historia clínica.", alejandro)

    # Under review within Sergio's limit, with the police report.
    burglary = file("79101002", "HUR", 12, "6400000", "Hurto de computador y televisor con la puerta forzada.", ana)
    _attach(
        burglary,
        ana,
        "denuncia-hurto.pdf",
        _pdf(["Fiscalia General de la Nacion", "Denuncia por hurto calificado", "Bogota D.C."]),
        "application/pdf",
    )
    services.claim_start_review(claim=burglary, actor=ana)
    # Under review above every supervisor's limit: only an administrator can approve it.
    truck = file(
        "900101004",
        "PT",
        20,
        "48000000",
        "Volcamiento del camión de placas TSA-214 en la vía a Villeta.",
        ana,
        status=Policy.Status.SUSPENDED,
    )
    services.claim_start_review(claim=truck, actor=ana)

    # Approved by Sergio, waiting for its payout.
    fire = file("1010000009", "INC", 25, "9200000", "Incendio en la cocina por un cortocircuito.", ana)
    services.claim_start_review(claim=fire, actor=ana)
    services.claim_approve(claim=fire, actor=sergio, amount="8700000", note="Peritaje confirma daños en cocina.")

    # Rejected: the loss is below the partial-loss deductible.
    scratch = file("52101001", "PP", 30, "900000", "Rayón en el costado izquierdo en un parqueadero.", ana)
    services.claim_start_review(claim=scratch, actor=ana)
    services.claim_reject(
        claim=scratch, actor=sergio, reason=reason["below-deductible"], note="El valor es menor al deducible."
    )

    # Paid: one finance user prepared the transfer, the other confirmed it.
    theft = file("52101006", "HUR", 15, "4200000", "Hurto de bicicleta y herramientas del depósito.", andres)
    services.claim_start_review(claim=theft, actor=andres)
    services.claim_approve(claim=theft, actor=sergio, amount="4000000", note="Se descuenta el deducible pactado.")
    pay_out(theft, maker=finance, checker=checker)

    # Closed after payment, and closed after rejection.
    tow = file("98101009", "AS", 6, "350000", "Servicio de grúa por varada en la Autopista Sur.", alejandro)
    services.claim_start_review(claim=tow, actor=alejandro)
    services.claim_approve(claim=tow, actor=sofia, amount="350000", note="Factura de la grúa verificada.")
    pay_out(tow, maker=finance, checker=checker)
    services.claim_close(claim=tow, actor=sofia)
    quake = file("79101002", "TER", 100, "15000000", "Grietas en muros tras el temblor de marzo.", ana)
    services.claim_start_review(claim=quake, actor=ana)
    services.claim_reject(
        claim=quake, actor=sergio, reason=reason["late-notice"], note="Aviso presentado fuera del plazo."
    )
    services.claim_close(claim=quake, actor=sergio)
    return logins


# --- volume ------------------------------------------------------------------------------------

# The customers seed_scale_policies creates; their policies carry the volume claims.
SCALE_CUSTOMERS = "@scale.policies.demo"
# At most this many claims per policy, and each claim at most MAX_SHARE of its coverage's limit,
# so the approved claims of a policy term never exceed the coverage they draw on.
CLAIMS_PER_POLICY = 4
MIN_SHARE, MAX_SHARE = 0.004, 0.12
STATUS_ORDER = [Status.PENDING, Status.UNDER_REVIEW, Status.APPROVED, Status.REJECTED, Status.PAID, Status.CLOSED]
# How far a claim has got by its age in days: recent ones are still open, old ones mostly closed.
STATUS_BY_AGE = [
    (7, (60, 40, 0, 0, 0, 0)),
    (30, (15, 45, 15, 10, 15, 0)),
    (90, (3, 20, 10, 15, 25, 27)),
    (None, (0, 3, 2, 5, 10, 80)),
]
# The moves that brought a claim to its status; a closed claim was paid (70 %) or rejected first.
PATHS = {
    Status.PENDING: (),
    Status.UNDER_REVIEW: ("start_review",),
    Status.APPROVED: ("start_review", "approve"),
    Status.REJECTED: ("start_review", "reject"),
    Status.PAID: ("start_review", "approve", "pay"),
}
PAID_AND_CLOSED = ("start_review", "approve", "pay", "close")
REJECTED_AND_CLOSED = ("start_review", "reject", "close")
TARGETS = {
    "start_review": Status.UNDER_REVIEW,
    "approve": Status.APPROVED,
    "reject": Status.REJECTED,
    "pay": Status.PAID,
    "close": Status.CLOSED,
}
NOTES = {"approve": "Aprobado según el peritaje.", "reject": "Rechazado tras la revisión."}
DESCRIPTIONS = {
    "RC": ["Choque a un vehículo de un tercero en un semáforo.", "Daños a la fachada de un local al maniobrar."],
    "PT": ["Hurto del vehículo en la vía pública.", "Pérdida total tras un choque en carretera."],
    "PP": ["Choque simple con daños en la parte trasera.", "Rotura de vidrios y espejos por vandalismo."],
}
OTHER_DESCRIPTIONS = ["Siniestro reportado por el asegurado."]
CLAIM_COLUMNS = [
    "number",
    "policy_id",
    "policy_version_id",
    "customer_id",
    "coverage_code",
    "coverage_name",
    "loss_date",
    "description",
    "currency",
    "claimed_amount",
    "approved_amount",
    "status",
    "revision",
    "rejection_reason_id",
    "filed_by_id",
    "reviewed_by_id",
    "assignee_id",
    "decided_by_id",
    "created_at",
    "status_changed_at",
]
TRANSITION_COLUMNS = [
    "claim_id",
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "note",
    "amount",
    "rejection_reason_id",
    "created_at",
]
SCALE_TABLES = ["claims_claim", "claims_claimtransition"]
BULK_LOAD_ROWS = 100_000


def scale_claims():
    return Claim.objects.filter(customer__email_primary__endswith=SCALE_CUSTOMERS)


def _scale_policies(today, *, chunk=50_000):
    """(policy, customer, agent, version, start, end, currency, coverages) of the volume policies
    whose cover has started, read in pages of `chunk`; each distinct coverages JSON is parsed once."""
    parsed, rows, after = {}, [], 0
    queryset = (
        Policy.objects.filter(customer__email_primary__endswith=SCALE_CUSTOMERS, current_version__start_date__lte=today)
        .order_by("pk")
        .annotate(coverages_text=Cast("current_version__coverages", TextField()))
        .values_list(
            "pk",
            "customer_id",
            "customer__agent_id",
            "current_version_id",
            "current_version__start_date",
            "current_version__end_date",
            "current_version__currency",
            "coverages_text",
        )
    )
    while True:
        page = list(queryset.filter(pk__gt=after)[:chunk])
        for *row, coverages_text in page:
            if coverages_text not in parsed:
                parsed[coverages_text] = [
                    (line["code"], line["name"], float(line["limit"])) for line in json.loads(coverages_text)
                ]
            rows.append((*row, parsed[coverages_text]))
        if len(page) < chunk:
            return rows
        after = page[-1][0]


class _ScaleClaims:
    """Makes volume claims with their transition history as plain rows, quickly and reproducibly.

    Filed by the customer's agent, put under review by the agent or the team's supervisor, decided
    by the supervisor within their limit and otherwise by an administrator (never by whoever filed
    or reviewed it), paid by finance and closed by the supervisor.
    """

    def __init__(self, *, seed, today, now):
        agents = User.objects.filter(role=Role.AGENT, team__isnull=False).values_list("pk", "team__supervisor_id")
        self.supervisor_of = dict(agents)
        self.limits = {
            user: float(limit)
            for user, limit in ApprovalAuthority.objects.filter(currency="COP").values_list("user_id", "limit")
        }
        deciders = User.objects.filter(role__in=[Role.ADMIN, Role.FINANCE]).order_by("-pk")
        # Read newest first, so each role ends up with its oldest user.
        first_of = dict(deciders.values_list("role", "pk"))
        self.admin = first_of.get(Role.ADMIN)
        self.finance = first_of.get(Role.FINANCE, self.admin)
        self.reasons = list(RejectionReason.objects.filter(is_active=True).values_list("pk", flat=True))
        self.random = random.Random(seed).random  # noqa: S311 - reproducible demo data, not a secret
        self.today, self.latest = today, (now - timedelta(minutes=5)).astimezone(UTC)
        self.mornings = {}
        self.weights = [(below, list(accumulate(weights))) for below, weights in STATUS_BY_AGE]

    def _morning(self, day):
        if day not in self.mornings:
            # In UTC: arithmetic and comparisons on zone-aware datetimes are slow.
            self.mornings[day] = timezone.make_aware(datetime.combine(day, time(7))).astimezone(UTC)
        return self.mornings[day]

    def _status(self, age):
        cumulative = next(cumulative for below, cumulative in self.weights if below is None or age < below)
        return STATUS_ORDER[bisect(cumulative, self.random() * cumulative[-1])]

    def make(self, index, policy, number):
        """The claim as a row of CLAIM_COLUMNS, and its transitions as rows of TRANSITION_COLUMNS
        whose first value is `index` (the claim's place in its batch) instead of the claim id."""
        r = self.random
        policy_id, customer_id, agent, version_id, start, end, currency, coverages = policy
        code, name, limit = coverages[int(r() * len(coverages))]
        loss_date = start + timedelta(days=int(r() * ((min(end - ONE_DAY, self.today) - start).days + 1)))
        reported = min(loss_date + timedelta(days=int(-4 * log(1 - r()))), self.today)
        created_at = min(self._morning(reported) + timedelta(seconds=int(r() * 43_200)), self.latest)
        status = self._status((self.today - reported).days)
        claimed = int(min(max(round(limit * (MIN_SHARE + r() * (MAX_SHARE - MIN_SHARE)), -3), 100_000), limit))

        supervisor = self.supervisor_of.get(agent, self.admin)
        reviewer = agent if r() < 0.7 else supervisor
        within_limit = claimed <= self.limits.get(supervisor, -1)
        decider = supervisor if reviewer != supervisor and within_limit else self.admin
        closed_path = PAID_AND_CLOSED if r() < 0.7 else REJECTED_AND_CLOSED
        path = closed_path if status == Status.CLOSED else PATHS[status]
        approved = (
            D(int(min(max(round(claimed * (0.6 + 0.4 * r()), -3), 1000), claimed))) if "approve" in path else None
        )
        reason = self.reasons[int(r() * len(self.reasons))] if "reject" in path else None
        claimed = D(claimed)

        transitions = [(index, "file", "", Status.PENDING, agent, "", claimed, None, created_at)]
        moment, current = created_at, Status.PENDING
        for action in path:
            moment += min(timedelta(seconds=14_400 + r() * 849_600), (self.latest - moment) / 2)
            if action == "start_review":
                row = (reviewer, "", None, None)
            elif action == "approve":
                row = (decider, NOTES["approve"], approved, None)
            elif action == "reject":
                row = (decider, NOTES["reject"], None, reason)
            elif action == "pay":
                # A bulk-seeded claim has no payout row; its bank transfer reference stands in for the number.
                row = (self.finance, f"TRF-{number.removeprefix('SIN-')}", approved, None)
            else:
                row = (supervisor, "", None, None)
            transitions.append((index, action, current, TARGETS[action], *row, moment))
            current = TARGETS[action]
        descriptions = DESCRIPTIONS.get(code, OTHER_DESCRIPTIONS)
        claim = (
            number,
            policy_id,
            version_id,
            customer_id,
            code,
            name,
            loss_date,
            descriptions[int(r() * len(descriptions))],
            currency,
            claimed,
            approved,
            current,
            len(transitions),
            reason,
            agent,
            reviewer if path else None,
            reviewer if path else None,
            decider if "approve" in path or "reject" in path else None,
            created_at,
            moment,
        )
        return claim, transitions


@contextmanager
def _foreign_keys_checked_once(tables):
    """Drop the tables' foreign keys (PostgreSQL) for a bulk load and add them back after it.

    Adding a foreign key checks every row in one join, where a deferred constraint queues a
    trigger per row and checks them one by one at commit (most of the time of a million-row load;
    pg_restore loads the same way). Inside the caller's transaction: a failed load restores them.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        # Rows the caller's transaction wrote before (new volume policies) still have checks
        # queued; a table with queued checks cannot be altered, so run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _write(claims, transitions):
    """Insert a batch: COPY on PostgreSQL (claim ids reserved from the sequence first), bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('claims_claim', 'id')) FROM generate_series(1, %s)",
                [len(claims)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            # The queued writer sends to the server from a thread, so PostgreSQL loads the rows
            # while Python formats the next ones (Django's cursor wrapper does not pass `writer`).
            raw = cursor.cursor
            columns = ", ".join(["id", *CLAIM_COLUMNS])
            with raw.copy(f"COPY claims_claim ({columns}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy:
                for claim_id, row in zip(ids, claims, strict=True):
                    copy.write_row((claim_id, *row))
            columns = ", ".join(TRANSITION_COLUMNS)
            with raw.copy(f"COPY claims_claimtransition ({columns}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy:
                for index, *row in transitions:
                    copy.write_row((ids[index], *row))
        return
    created = Claim.objects.bulk_create([Claim(**dict(zip(CLAIM_COLUMNS, row, strict=True))) for row in claims])
    ClaimTransition.objects.bulk_create(
        [
            ClaimTransition(claim_id=created[index].pk, **dict(zip(TRANSITION_COLUMNS[1:], row, strict=True)))
            for index, *row in transitions
        ]
    )


@transaction.atomic
def seed_scale_claims(count, *, batch_size=20_000):
    """N claims with their transition history, in bulk on the volume policies; reruns top up to N.

    Claims spread over the policies, their coverages, loss dates in each policy's term, and a
    status mix by age; every row meets the database's constraints and the workflow's rules
    (four-eyes, supervisors within their limit). Numbers come from the real sequence, in one call.
    A large load on PostgreSQL locks the claim tables while it runs (their foreign keys are re-created).
    """
    existing = scale_claims().count()
    if existing >= count:
        return 0
    today, now = timezone.localdate(), timezone.now()
    wanted = -(-count // CLAIMS_PER_POLICY)
    policies = _scale_policies(today)
    while len(policies) < wanted:
        # Some volume policies start in the future: no loss can have happened on them yet.
        have = Policy.objects.filter(customer__email_primary__endswith=SCALE_CUSTOMERS).count()
        seed_scale_policies(have + 2 * (wanted - len(policies)))
        policies = _scale_policies(today)
    maker = _ScaleClaims(seed=existing, today=today, now=now)
    added = count - existing
    first = next_sequence_value(key="claim", year=today.year, count=added) - added + 1
    # Re-creating the foreign keys checks the whole tables: worth it only for a load that is large
    # and at least doubles them.
    bulk_load = connection.vendor == "postgresql" and added >= BULK_LOAD_ROWS and added >= Claim.objects.count()
    with _foreign_keys_checked_once(SCALE_TABLES) if bulk_load else nullcontext():
        for start in range(existing, count, batch_size):
            claims, transitions = [], []
            for n in range(start, min(start + batch_size, count)):
                number = f"SIN-{today.year}-{first + n - existing:06d}"
                claim, history = maker.make(len(claims), policies[n % len(policies)], number)
                claims.append(claim)
                transitions += history
            _write(claims, transitions)
    return added
