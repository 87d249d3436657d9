"""Policy document PDF: ours (template + WeasyPrint, one version of a policy with three) vs WeasyPrint
rendering a one-paragraph HTML page, in one run.

    python -m bench policy_document [--repeat N] [--warmup N] [--version N]

Builds a product, a customer and a policy with three versions (new business, endorsement,
cancellation) through the real services in the benchmark database, then times
`policy_document_pdf` of one version (default: the endorsement) --repeat times after --warmup
renders. The peer is the floor any WeasyPrint document pays (parsing, layout, font subsetting,
PDF writing). Progress goes to stderr; stdout gets one JSON line.
"""

import argparse
import re
import statistics
import sys
import time
import zlib
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from weasyprint import HTML

from portal.accounts.models import Role, Team, User
from portal.accounts.services import team_create, user_create
from portal.customers.models import Customer
from portal.customers.services import customer_create
from portal.policies.documents import policy_document_pdf
from portal.policies.models import Coverage, PolicyVersion, Product, RatingRule
from portal.policies.services import policy_cancel, policy_endorse, policy_issue, quote_accept, quote_create

from .common import emit, ensure_database

TARGET_P50_MS = 1000
PEER_HTML = "<!DOCTYPE html><html><body><p>Amparo Seguros S.A.: póliza de seguro.</p></body></html>"


def say(message):
    print(f"[bench policy_document] {message}", file=sys.stderr, flush=True)


def _user(email, role, id_number, team=None):
    return User.objects.filter(email_primary=email).first() or user_create(
        actor=None,
        email_primary=email,
        full_name=email,
        id_type="CC",
        id_number=id_number,
        role=role,
        team=team,
        password=None,
    )


def _agent():
    supervisor = _user("bench-doc-supervisor@amparo.bench", Role.SUPERVISOR, "900000101")
    team = Team.objects.filter(name="Bench documents").first() or team_create(
        actor=None, name="Bench documents", supervisor=supervisor
    )
    return _user("bench-doc-agent@amparo.bench", Role.AGENT, "900000102", team=team)


def _product():
    product, created = Product.objects.get_or_create(
        code="BENCHDOC",
        defaults={
            "name": "Autos Plus (bench)",
            "line": "AUTO",
            "currency": "COP",
            "term_months": 12,
            "min_sum_insured": Decimal("10000000"),
            "max_sum_insured": Decimal("800000000"),
            "expense_loading_pct": Decimal("22.5"),
            "tax_pct": Decimal("19"),
            "min_premium": Decimal("350000"),
        },
    )
    if created:
        cover = [
            ("RC", "Responsabilidad civil extracontractual", 100, 0, 0, "9.5", True),
            ("PT", "Pérdida total por daños", 100, 10, 1_500_000, "18", False),
            ("PP", "Pérdida parcial por daños", 100, 10, 950_000, "22", False),
            ("HU", "Hurto total y parcial", 100, 10, 1_000_000, "7.25", False),
            ("AS", "Asistencia en viaje", 5, 0, 0, "40", False),
        ]
        for position, (code, name, limit, pct, minimum, rate, mandatory) in enumerate(cover, start=1):
            Coverage.objects.create(
                product=product,
                code=code,
                name=name,
                limit_pct=limit,
                deductible_pct=pct,
                deductible_min=Decimal(minimum),
                rate_per_mille=Decimal(rate),
                is_mandatory=mandatory,
                position=position,
            )
        RatingRule.objects.create(
            product=product, factor="SUM_INSURED", low=200_000_000, high=800_000_000, multiplier="0.92", label="Alto"
        )
    return product


def build_policy():
    """A policy with three versions: new business today, an endorsement in a month, a cancellation later."""
    agent = _agent()
    customer = Customer.objects.filter(id_type="CC", id_number="900000103").first() or customer_create(
        actor=agent,
        agent=agent,
        full_name="Valentina Ospina Cárdenas",
        id_type="CC",
        id_number="900000103",
        email_primary="valentina.ospina@correo.bench",
        phone="+57 315 222 3344",
        address="Calle 72 # 10-34, apto 802",
        city="Bogotá",
    )
    today = timezone.localdate()
    quote = quote_create(
        actor=agent,
        customer=customer,
        product=_product(),
        start_date=today,
        sum_insured=Decimal("180000000"),
        coverage_codes=["RC", "PT", "PP", "HU", "AS"],
    )
    policy = policy_issue(quote=quote_accept(quote=quote, actor=agent), actor=agent)
    policy = policy_endorse(
        policy=policy,
        actor=agent,
        effective_date=today + timedelta(days=30),
        reason="Cambio de vehículo: sube la suma asegurada",
        sum_insured=Decimal("240000000"),
    )
    return policy_cancel(
        policy=policy, actor=agent, effective_date=today + timedelta(days=120), reason="Venta del vehículo"
    )


def time_renders(render, *, repeat, warmup):
    for _ in range(warmup):
        render()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        output = render()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
        "output": output,
    }


def pdf_pages(pdf):
    """Pages of a WeasyPrint PDF: the /Count of its page tree, which sits in a compressed object stream."""
    for stream in re.findall(rb"/Type /ObjStm.*?stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        match = re.search(rb"/Type /Pages/Kids \[[^\]]*\]/Count (\d+)", zlib.decompressobj().decompress(stream))
        if match:
            return int(match.group(1))
    match = re.search(rb"/Type /Pages.*?/Count (\d+)", pdf, re.S)
    return int(match.group(1)) if match else None


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench policy_document")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--version", type=int, default=2, help="which version to render (1-3)")
    args = parser.parse_args(argv)

    ensure_database()
    say("building a policy with three versions")
    policy = build_policy()
    version = PolicyVersion.objects.select_related("policy__product", "policy__customer__agent").get(
        policy=policy, number=args.version
    )
    say(f"rendering {policy.number} v{version.number} ({version.kind}) {args.repeat} times")
    ours = time_renders(lambda: policy_document_pdf(version=version), repeat=args.repeat, warmup=args.warmup)
    say("rendering the one-paragraph peer")
    peer = time_renders(lambda: HTML(string=PEER_HTML).write_pdf(), repeat=args.repeat, warmup=args.warmup)
    pdf = ours["output"]
    emit(
        {
            "benchmark": "policy_document_pdf",
            "policy": policy.number,
            "version": version.number,
            "kind": version.kind,
            "repeat": args.repeat,
            "p50_ms": ours["p50_ms"],
            "p95_ms": ours["p95_ms"],
            "pages": pdf_pages(pdf),
            "bytes": len(pdf),
            "peer_p50_ms": peer["p50_ms"],
            "peer_p95_ms": peer["p95_ms"],
            "ratio": round(ours["p50_ms"] / peer["p50_ms"], 2),
            "target_p50_ms": TARGET_P50_MS,
            "target_met": ours["p50_ms"] < TARGET_P50_MS,
        }
    )
