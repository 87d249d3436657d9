from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from portal.accounts.models import IdType, Role, Team, User

TEST_PASSWORD = "Test-password-2026!"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email_primary = factory.Sequence(lambda n: f"user{n}@amparo.test")
    full_name = factory.Faker("name", locale="es_CO")
    id_type = IdType.CC
    id_number = factory.Sequence(lambda n: f"{70000000 + n}")
    role = Role.AGENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", TEST_PASSWORD)
        return model_class.objects.create_user(password=password, **kwargs)

    @factory.post_generation
    def role_group(self, create, extracted, **kwargs):
        if create:
            from django.contrib.auth.models import Group

            self.groups.set([Group.objects.get(name=self.role)])


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    supervisor = factory.SubFactory(UserFactory, role=Role.SUPERVISOR)


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = "customers.Customer"

    full_name = factory.Faker("name", locale="es_CO")
    id_type = IdType.CC
    id_number = factory.Sequence(lambda n: f"{52000000 + n}")
    email_primary = factory.Sequence(lambda n: f"cliente{n}@correo.test")
    phone = "+57 310 555 0000"
    address = "Calle 100 # 10-20"
    city = "Bogotá"
    birth_date = factory.Faker("date_of_birth", minimum_age=25, maximum_age=60)
    agent = factory.SubFactory(UserFactory, role=Role.AGENT, team=factory.SubFactory(TeamFactory))
    created_by = factory.SelfAttribute("agent")


class ProductFactory(DjangoModelFactory):
    """An auto product: two coverages (one mandatory), a sum-insured band discount, IVA 19 %."""

    class Meta:
        model = "policies.Product"
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"PRD{n}")
    name = factory.Sequence(lambda n: f"Producto {n}")
    line = "AUTO"
    currency = "COP"
    term_months = 12
    min_sum_insured = Decimal("10000000")
    max_sum_insured = Decimal("500000000")
    requires_age = False
    expense_loading_pct = Decimal("20")
    tax_pct = Decimal("19")
    min_premium = Decimal("300000")
    quote_validity_days = 30

    @factory.post_generation
    def standard_cover(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        from portal.policies.models import Coverage, RatingRule

        Coverage.objects.create(
            product=self,
            code="RC",
            name="Responsabilidad civil",
            limit_pct=100,
            rate_per_mille=Decimal("12"),
            is_mandatory=True,
            position=1,
        )
        Coverage.objects.create(
            product=self,
            code="PT",
            name="Pérdida total",
            limit_pct=100,
            deductible_pct=10,
            deductible_min=Decimal("1000000"),
            rate_per_mille=Decimal("20"),
            position=2,
        )
        RatingRule.objects.create(
            product=self,
            factor="SUM_INSURED",
            low=Decimal("200000000"),
            high=Decimal("500000000"),
            multiplier=Decimal("0.9"),
            label="Suma asegurada alta",
        )


def make_quote(
    *,
    customer=None,
    product=None,
    actor=None,
    start_date=None,
    sum_insured="100000000",
    coverage_codes=("RC", "PT"),
    present=True,
    as_of=None,
    insured_age=None,
    **customer_fields,
):
    """A quote made through the real service; a new customer (with `customer_fields`) unless given one."""
    from django.utils import timezone

    from portal.policies.services import quote_create

    customer = customer or CustomerFactory(**customer_fields)
    return quote_create(
        actor=actor or customer.agent,
        customer=customer,
        product=product or ProductFactory(),
        start_date=start_date or as_of or timezone.localdate(),
        sum_insured=sum_insured,
        coverage_codes=list(coverage_codes),
        present=present,
        as_of=as_of,
        insured_age=insured_age,
    )


def issue_policy(*, actor=None, as_of=None, **quote_fields):
    """A policy issued through the real services: quoted, accepted, issued (version 1)."""
    from portal.policies.services import policy_issue, quote_accept

    quote = make_quote(actor=actor, as_of=as_of, **quote_fields)
    actor = actor or quote.customer.agent
    return policy_issue(quote=quote_accept(quote=quote, actor=actor, as_of=as_of), actor=actor, as_of=as_of)


def file_claim(
    *, policy=None, actor=None, coverage_code="RC", loss_date=None, claimed_amount="5000000", **policy_fields
):
    """A PENDING claim filed through the real service, on a new policy (with `policy_fields`) unless given one."""
    from django.utils import timezone

    from portal.claims.services import claim_file

    policy = policy or issue_policy(**policy_fields)
    return claim_file(
        policy=policy,
        coverage_code=coverage_code,
        loss_date=loss_date or timezone.localdate(),
        claimed_amount=claimed_amount,
        description="Choque en la Autopista Norte",
        actor=actor or policy.customer.agent,
    )


def grant_approval_limit(user, limit, currency="COP"):
    from portal.claims.models import ApprovalAuthority

    ApprovalAuthority.objects.update_or_create(user=user, currency=currency, defaults={"limit": Decimal(limit)})
    return user


def make_loan_product(**fields):
    from portal.loans.models import LoanProduct

    values = {
        "code": "PL",
        "name": "Préstamo sobre póliza",
        "currency": "COP",
        "min_amount": Decimal("1000000"),
        "max_amount": Decimal("50000000"),
        "min_tenure_months": 1,
        "max_tenure_months": 60,
        "annual_rate_pct": Decimal("18"),
        "fee_pct": Decimal("1"),
        "requires_policy": True,
        "max_share_of_sum_insured_pct": Decimal("40"),
        "min_credit_score": 600,
    }
    values.update(fields)
    return LoanProduct.objects.get_or_create(code=values.pop("code"), defaults=values)[0]


def apply_loan(*, product=None, policy=None, actor=None, amount="5000000", tenure_months=12, **policy_fields):
    """A NEW loan applied for through the real service on a new active policy (with `policy_fields`)."""
    from portal.loans.services import loan_apply

    policy = policy or issue_policy(**policy_fields)
    return loan_apply(
        product=product or make_loan_product(),
        customer=policy.customer,
        policy=policy,
        actor=actor or policy.customer.agent,
        amount=amount,
        tenure_months=tenure_months,
    )


def grant_loan_limit(user, limit, currency="COP"):
    from portal.loans.models import LoanApprovalAuthority

    LoanApprovalAuthority.objects.update_or_create(user=user, currency=currency, defaults={"limit": Decimal(limit)})
    return user
