"""Demo book of business: three products, customers for every agent, quotes and policies in every state.

Past operations are recorded through the same services on their own business dates (`as_of`),
so the demo's versions, refunds and audit trail are exactly what the portal would have written.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from portal.accounts.models import IdType, Role, User
from portal.core.dates import add_months
from portal.core.models import next_sequence_value
from portal.customers.models import Customer
from portal.customers.services import customer_create, customer_link_app_account

from . import lifecycle, services
from .models import Coverage, LineOfBusiness, PaymentFrequency, Policy, PolicyVersion, Product, RatingRule
from .rating import price

D = Decimal

PRODUCTS = [
    {
        "code": "AUTO",
        "sold_in_app": True,
        "name_es_co": "Auto Total",
        "name_en": "Comprehensive Motor",
        "line": LineOfBusiness.AUTO,
        "min_sum_insured": D("20000000"),
        "max_sum_insured": D("800000000"),
        "expense_loading_pct": D("22"),
        "tax_pct": D("19"),
        "min_premium": D("600000"),
        "description_es_co": "Seguro todo riesgo para vehículos particulares.",
        "description_en": "Comprehensive cover for private vehicles.",
        "coverages": [
            (
                "RC",
                "Responsabilidad civil extracontractual",
                "Third-party liability",
                D("100"),
                D("0"),
                D("0"),
                D("3"),
                True,
            ),
            (
                "PT",
                "Pérdida total por daños o hurto",
                "Total loss by damage or theft",
                D("100"),
                D("10"),
                D("1000000"),
                D("12"),
                False,
            ),
            (
                "PP",
                "Pérdida parcial por daños",
                "Partial loss by damage",
                D("100"),
                D("10"),
                D("950000"),
                D("9"),
                False,
            ),
            (
                "AS",
                "Asistencia en viaje y conductor elegido",
                "Roadside assistance and designated driver",
                D("1"),
                D("0"),
                D("0"),
                D("60"),
                False,
            ),
        ],
        "rules": [("SUM_INSURED", D("300000000"), D("800000000"), D("0.92"), "Vehículo de alta gama")],
    },
    {
        "code": "HOGAR",
        "sold_in_app": True,
        "name_es_co": "Hogar Protegido",
        "name_en": "Protected Home",
        "line": LineOfBusiness.HOME,
        "min_sum_insured": D("50000000"),
        "max_sum_insured": D("3000000000"),
        "expense_loading_pct": D("25"),
        "tax_pct": D("19"),
        "min_premium": D("150000"),
        "description_es_co": "Vivienda y contenidos contra incendio, terremoto y hurto.",
        "description_en": "Home and contents against fire, earthquake and theft.",
        "coverages": [
            ("INC", "Incendio y anexos", "Fire and allied perils", D("100"), D("0"), D("0"), D("0.9"), True),
            (
                "TER",
                "Terremoto, temblor y erupción volcánica",
                "Earthquake, tremor and volcanic eruption",
                D("100"),
                D("3"),
                D("0"),
                D("1.4"),
                False,
            ),
            (
                "HUR",
                "Hurto calificado de contenidos",
                "Burglary of contents",
                D("30"),
                D("10"),
                D("500000"),
                D("4"),
                False,
            ),
            ("RCF", "Responsabilidad civil familiar", "Family liability", D("20"), D("0"), D("0"), D("1"), False),
        ],
        "rules": [],
    },
    {
        "code": "VIDA",
        "sold_in_app": True,
        "name_es_co": "Vida Plena",
        "name_en": "Full Life",
        "line": LineOfBusiness.LIFE,
        "min_sum_insured": D("10000000"),
        "max_sum_insured": D("2000000000"),
        "requires_age": True,
        "min_age": 18,
        "max_age": 70,
        "expense_loading_pct": D("18"),
        "tax_pct": D("0"),
        "min_premium": D("120000"),
        "description_es_co": "Vida individual con incapacidad total y enfermedades graves.",
        "description_en": "Individual life cover with total disability and critical illness.",
        "coverages": [
            ("MUE", "Muerte por cualquier causa", "Death from any cause", D("100"), D("0"), D("0"), D("1.8"), True),
            (
                "ITP",
                "Incapacidad total y permanente",
                "Total and permanent disability",
                D("100"),
                D("0"),
                D("0"),
                D("0.6"),
                False,
            ),
            ("EG", "Enfermedades graves", "Critical illness", D("50"), D("0"), D("0"), D("1.2"), False),
        ],
        "rules": [
            ("AGE", D("18"), D("30"), D("0.8"), "18 a 30 años"),
            ("AGE", D("31"), D("45"), D("1"), "31 a 45 años"),
            ("AGE", D("46"), D("60"), D("1.6"), "46 a 60 años"),
            ("AGE", D("61"), D("70"), D("2.6"), "61 a 70 años"),
        ],
    },
]

# full name, id number, email, city, birth date offset in years, agent email
CUSTOMERS = [
    ("Carolina Mejía Ospina", "52101001", "carolina.mejia@correo.demo", "Bogotá", 34, "agent@amparo.demo"),
    ("Julián Andrés Pardo", "79101002", "julian.pardo@correo.demo", "Bogotá", 47, "agent@amparo.demo"),
    ("María Fernanda Cruz", "52101003", "mafe.cruz@correo.demo", "Chía", 29, "agent@amparo.demo"),
    ("Transportes La Sabana S.A.S.", "900101004", "gerencia@lasabana.demo", "Bogotá", None, "agent@amparo.demo"),
    ("Diego Alejandro Ruiz", "80101005", "diego.ruiz@correo.demo", "Bogotá", 52, "agent2@amparo.demo"),
    ("Paula Andrea Rincón", "52101006", "paula.rincon@correo.demo", "Soacha", 38, "agent2@amparo.demo"),
    ("Luis Eduardo Gaitán", "79101007", "", "Bogotá", 61, "agent2@amparo.demo"),
    ("Natalia Restrepo Uribe", "43101008", "natalia.restrepo@correo.demo", "Medellín", 41, "agent3@amparo.demo"),
    ("Santiago Henao Múnera", "98101009", "santiago.henao@correo.demo", "Envigado", 27, "agent3@amparo.demo"),
    ("Camila Cliente Torres", "1010000009", "client@amparo.demo", "Bogotá", 31, "agent@amparo.demo"),
]

DEMO_MARK = "52101001"


def _product(spec):
    values = {key: value for key, value in spec.items() if key not in {"coverages", "rules"}}
    product = Product.objects.create(**values)
    coverages = spec["coverages"]
    for position, (code, name_es_co, name_en, limit, deductible, minimum, rate, mandatory) in enumerate(coverages, 1):
        Coverage.objects.create(
            product=product,
            code=code,
            name_es_co=name_es_co,
            name_en=name_en,
            limit_pct=limit,
            deductible_pct=deductible,
            deductible_min=minimum,
            rate_per_mille=rate,
            is_mandatory=mandatory,
            position=position,
        )
    for factor, low, high, multiplier, label in spec["rules"]:
        RatingRule.objects.create(
            product=product, factor=factor, low=low, high=high, multiplier=multiplier, label=label
        )
    return product


def _issue(agent, customer, product, *, start, sum_insured, coverages, age=None, frequency=PaymentFrequency.ANNUAL):
    """Quote, accept and issue on the day the policy was sold: its start, or today for a future start."""
    sold_on = min(start, timezone.localdate())
    quote = services.quote_create(
        actor=agent,
        customer=customer,
        product=product,
        start_date=start,
        sum_insured=sum_insured,
        coverage_codes=coverages,
        insured_age=age,
        payment_frequency=frequency,
        as_of=sold_on,
    )
    quote = services.quote_accept(quote=quote, actor=agent, as_of=sold_on)
    return services.policy_issue(quote=quote, actor=agent, as_of=sold_on)


@transaction.atomic
def seed_demo_policies():
    """Products, the demo customers and a book with a quote or policy in every state (idempotent)."""
    if Customer.objects.filter(id_number=DEMO_MARK).exists():
        return
    admin = User.objects.get(email_primary="admin@amparo.demo")
    products = {}
    for spec in PRODUCTS:
        products[spec["code"]] = Product.objects.filter(code=spec["code"]).first() or _product(spec)
        services.product_configuration_record(actor=admin, product=products[spec["code"]], created=True)
    today = timezone.localdate()
    customers = []
    for full_name, id_number, email, city, age, agent_email in CUSTOMERS:
        agent = User.objects.get(email_primary=agent_email)
        customer = customer_create(
            actor=agent,
            agent=agent,
            full_name=full_name,
            id_type=IdType.NIT if id_number.startswith("9001") else IdType.CC,
            id_number=id_number,
            email_primary=email,
            phone="+57 310 555 " + id_number[-4:],
            address="Carrera 7 # " + id_number[-3:] + "-15",
            city=city,
            birth_date=today.replace(year=today.year - age, day=min(today.day, 28)) if age else None,
        )
        if email == "client@amparo.demo":
            customer_link_app_account(customer=customer, user=User.objects.get(email_primary=email), actor=admin)
        customers.append(customer)
    auto, hogar, vida = products["AUTO"], products["HOGAR"], products["VIDA"]
    carolina, julian, mafe, sabana, diego, paula, luis, natalia, santiago, camila = customers
    ana = carolina.agent
    andres = diego.agent
    alejandro = natalia.agent

    # In force, endorsed 40 days ago (higher sum insured, partial loss added).
    endorsed = _issue(
        ana,
        carolina,
        auto,
        start=today - timedelta(days=120),
        sum_insured="85000000",
        coverages=["PT"],
        frequency=PaymentFrequency.MONTHLY,
    )
    services.policy_endorse(
        policy=endorsed,
        actor=ana,
        effective_date=today - timedelta(days=40),
        reason="Cambio de vehículo: Mazda CX-30 2025",
        sum_insured="112000000",
        coverage_codes=["PT", "PP"],
    )
    # Ends in 24 days: it is on the renewal queue.
    _issue(ana, julian, hogar, start=today - timedelta(days=341), sum_insured="420000000", coverages=["TER", "HUR"])
    # Starts in 15 days.
    _issue(ana, mafe, vida, start=today + timedelta(days=15), sum_insured="300000000", coverages=["ITP"])
    # Suspended for non-payment.
    fleet = _issue(
        ana,
        sabana,
        auto,
        start=today - timedelta(days=60),
        sum_insured="350000000",
        coverages=["PT", "PP"],
        frequency=PaymentFrequency.MONTHLY,
    )
    services.policy_suspend(policy=fleet, actor=ana, reason="Mora de dos cuotas")
    # Cancelled 30 days ago at the customer's request, with the pro-rata refund.
    cancelled = _issue(andres, diego, auto, start=today - timedelta(days=200), sum_insured="60000000", coverages=["PT"])
    services.policy_cancel(
        policy=cancelled,
        actor=andres,
        effective_date=today - timedelta(days=30),
        reason="Venta del vehículo",
        as_of=today - timedelta(days=30),
    )
    # Expired 35 days ago and renewed on time: the renewal is in force.
    old = _issue(andres, paula, hogar, start=today - timedelta(days=400), sum_insured="180000000", coverages=["HUR"])
    services.policy_renew(policy=old, actor=andres, as_of=old.current_version.end_date - timedelta(days=10))
    # Expired without renewal.
    _issue(andres, luis, vida, start=today - timedelta(days=420), sum_insured="80000000", coverages=[], age=60)
    # Lapsed: a monthly auto policy whose instalments were never paid, past the grace period.
    unpaid = _issue(
        andres,
        luis,
        auto,
        start=today - timedelta(days=100),
        sum_insured="52000000",
        coverages=["PT"],
        frequency=PaymentFrequency.MONTHLY,
    )
    # Medellín's book: an active life policy ending in 6 days (the 7-day reminder) and an auto policy.
    _issue(
        alejandro,
        natalia,
        vida,
        start=today - timedelta(days=359),
        sum_insured="500000000",
        coverages=["EG"],
        frequency=PaymentFrequency.QUARTERLY,
    )
    _issue(
        alejandro,
        santiago,
        auto,
        start=today - timedelta(days=10),
        sum_insured="48000000",
        coverages=["PT", "AS"],
        frequency=PaymentFrequency.MONTHLY,
    )
    _issue(
        ana,
        camila,
        hogar,
        start=today - timedelta(days=90),
        sum_insured="250000000",
        coverages=["TER"],
        frequency=PaymentFrequency.MONTHLY,
    )
    services.policies_follow_dates(today=today)
    services.policy_lapse(policy=unpaid, actor=None, as_of=today)

    # Quotes in every open and closed state.
    services.quote_create(
        actor=ana,
        customer=mafe,
        product=auto,
        start_date=today + timedelta(days=5),
        sum_insured="70000000",
        coverage_codes=["PT", "PP"],
        present=False,
    )
    services.quote_create(
        actor=ana,
        customer=carolina,
        product=hogar,
        start_date=today + timedelta(days=10),
        sum_insured="390000000",
        coverage_codes=["TER", "HUR", "RCF"],
    )
    accepted = services.quote_create(
        actor=andres,
        customer=paula,
        product=vida,
        start_date=today + timedelta(days=3),
        sum_insured="150000000",
        coverage_codes=["ITP", "EG"],
    )
    services.quote_accept(quote=accepted, actor=andres)
    declined = services.quote_create(
        actor=alejandro,
        customer=santiago,
        product=vida,
        start_date=today + timedelta(days=7),
        sum_insured="200000000",
        coverage_codes=[],
    )
    services.quote_decline(quote=declined, actor=alejandro, reason="El cliente eligió otra aseguradora")
    services.quote_create(
        actor=ana,
        customer=julian,
        product=auto,
        start_date=today - timedelta(days=45),
        sum_insured="95000000",
        coverage_codes=["PT"],
        as_of=today - timedelta(days=45),
    )
    services.quotes_expire_overdue(today=today)


def seed_scale_policies(count, *, batch_size=2000):
    """N policies (each with its customer and version 1) by bulk insert, for benchmarks; reruns top up to N.

    The price comes from the real rating engine once per distinct input, numbers from the real
    sequence; only the per-row services are skipped, which is what makes a million rows fast.
    """
    existing = Customer.objects.filter(email_primary__endswith="@scale.policies.demo").count()
    if existing >= count:
        return 0
    product = Product.objects.get(code="AUTO")
    agents = list(User.objects.filter(role=Role.AGENT, email_primary__endswith="@amparo.demo").order_by("pk"))
    actor = agents[0]
    today = timezone.localdate()
    sums = [D(40_000_000 + step * 5_000_000) for step in range(40)]
    coverages, rules = list(product.coverages.all()), list(product.rating_rules.all())
    pricings = {
        si: price(product=product, sum_insured=si, coverage_codes=["PT", "PP"], coverages=coverages, rules=rules)
        for si in sums
    }
    breakdowns = {si: pricing.as_breakdown() for si, pricing in pricings.items()}
    created = 0
    for start in range(existing, count, batch_size):
        stop = min(start + batch_size, count)
        with transaction.atomic():
            last = next_sequence_value(key=f"policy:{product.code}", year=today.year, count=stop - start)
            first = last - (stop - start) + 1
            customers = Customer.objects.bulk_create(
                [
                    Customer(
                        full_name=f"Cliente volumen {n:07d}",
                        id_type=IdType.CC,
                        id_number=f"8{n:09d}",
                        email_primary=f"cliente{n:07d}@scale.policies.demo",
                        city="Bogotá",
                        agent=agents[n % len(agents)],
                        created_by=actor,
                    )
                    for n in range(start, stop)
                ],
                batch_size=batch_size,
            )
            versions = []
            for n in range(start, stop):
                pricing = pricings[sums[n % len(sums)]]
                breakdown = breakdowns[sums[n % len(sums)]]
                begins = today - timedelta(days=(n * 7) % 720 - 30)
                versions.append(
                    PolicyVersion(
                        number=1,
                        kind=PolicyVersion.Kind.NEW_BUSINESS,
                        effective_date=begins,
                        start_date=begins,
                        end_date=add_months(begins, product.term_months),
                        sum_insured=sums[n % len(sums)],
                        currency=pricing.currency,
                        coverages=breakdown["coverages"],
                        premium=pricing.total,
                        breakdown=breakdown,
                        premium_change=pricing.total,
                        created_by=actor,
                    )
                )
            policies = Policy.objects.bulk_create(
                [
                    Policy(
                        number=f"{product.code}-{today.year}-{first + offset:06d}",
                        product=product,
                        customer=customer,
                        status=lifecycle.status_on(version, today=today),
                    )
                    for offset, (customer, version) in enumerate(zip(customers, versions, strict=True))
                ],
                batch_size=batch_size,
            )
            for policy, version in zip(policies, versions, strict=True):
                version.policy = policy
            PolicyVersion.objects.bulk_create(versions, batch_size=batch_size)
            Policy.objects.filter(pk__in=[policy.pk for policy in policies]).update(
                current_version=Subquery(PolicyVersion.objects.filter(policy=OuterRef("pk"), number=1).values("pk")[:1])
            )
        created += len(policies)
    return created
