"""Demo loans: a loan in every state on the demo book, moved through the real services, so their tasks,
documents, ledger entries and audit trail are what the portal would have written. The credit checks
ask a stand-in bureau that answers from the customer's ID number (the demo has no bureau to call)."""

import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from PIL import Image, ImageDraw

from portal.accounts.models import User
from portal.core.money import round_money
from portal.payments.models import Instalment
from portal.policies.models import Policy

from . import bureau, repayments, services
from .models import Loan, LoanApprovalAuthority, LoanKind, LoanProduct

D = Decimal
PRODUCTS = [
    {
        "code": "PRESTAMO-POLIZA",
        "name": "Préstamo sobre póliza",
        "kind": LoanKind.POLICY_LOAN,
        "currency": "COP",
        "min_amount": D("1000000"),
        "max_amount": D("80000000"),
        "min_tenure_months": 3,
        "max_tenure_months": 60,
        "annual_rate_pct": D("18.5"),
        "fee_pct": D("1"),
        "fee_flat": D("25000"),
        "max_share_of_sum_insured_pct": D("30"),
        "min_credit_score": 600,
    },
    {
        "code": "FINANCIA-PRIMA",
        "name": "Financiación de primas",
        "kind": LoanKind.PREMIUM_FINANCING,
        "currency": "COP",
        "min_amount": D("300000"),
        "max_amount": D("20000000"),
        "min_tenure_months": 2,
        "max_tenure_months": 12,
        "annual_rate_pct": D("22"),
        "fee_pct": D("0"),
        "fee_flat": D("0"),
        "max_share_of_sum_insured_pct": None,
        # Financing what a customer is behind on is what this product is for.
        "allows_overdue_instalments": True,
        "min_credit_score": 550,
    },
]
# Where each demo loan stops: one in every state the workflow has.
STAGES = [
    "new",
    "kyc",
    "credit_refused",
    "approval",
    "disbursement",
    "disbursed",
    "repaid",
    "written_off",
    "rejected",
    "withdrawn",
]
LOW_SCORE_STAGES = {"credit_refused"}


class DemoBureau:
    """Answers like the bureau's adapter: a good score, or a poor one for the loan left for an override."""

    def __init__(self, score):
        self.score = score

    def credit_report(self, *, reference, **_enquiry):
        return bureau.CreditReport(
            report_id=f"DEMO-{reference}",
            score=self.score,
            reasons=[{"code": "HISTORY", "description": "Payment history considered"}],
        )


def _document(name):
    page = Image.new("RGB", (620, 877), (255, 255, 255))
    ImageDraw.Draw(page).text((48, 60), name, fill=(0, 0, 0))
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=72)
    return SimpleUploadedFile(f"{name}.pdf", buffer.getvalue(), content_type="application/pdf")


def _user(email):
    return User.objects.get(email_primary=email)


def _move(loan, stage, people):
    agent = loan.customer.agent
    if stage == "new":
        return
    if stage == "withdrawn":
        services.loan_withdraw(loan=loan, actor=agent, note="El cliente ya no necesita el préstamo")
        return
    services.loan_task_start(loan=loan, actor=agent)
    services.loan_document_add(loan=loan, upload=_document("cedula"), actor=agent)
    services.loan_document_add(loan=loan, upload=_document("certificado-ingresos"), actor=agent)
    if stage == "kyc":
        return
    if stage == "rejected":
        services.loan_act(loan=loan, action="kyc_refuse", actor=agent, note="El certificado de ingresos no coincide")
        return
    services.loan_act(loan=loan, action="kyc_pass", actor=agent)
    loan.refresh_from_db()
    score = 480 if stage in LOW_SCORE_STAGES else 742
    services.loan_credit_check_run(task_id=loan.current_task_id, client=DemoBureau(score))
    if stage in ("credit_refused", "approval"):
        return
    services.loan_act(loan=loan, action="approve", actor=people["admin"], note="Cliente con buen historial")
    services.loan_act(
        loan=loan, action="disbursement_prepare", actor=people["finance"], payee_account="Bancolombia ahorros 123-456"
    )
    if stage == "disbursement":
        return
    services.loan_act(loan=loan, action="disbursement_confirm", actor=people["checker"])
    if stage == "repaid":
        loan.refresh_from_db()
        owed = sum(row.amount for row in loan.instalments.all())
        repayments.loan_repayment_record(
            loan=loan, amount=owed, method="BANK_TRANSFER", reference=f"DEMO-{loan.number}", actor=people["finance"]
        )
    elif stage == "written_off":
        repayments.loan_write_off(loan=loan, actor=people["admin"], note="Cliente ilocalizable tras 180 días")


def seed_demo_loans():
    """Loan products, supervisors' loan limits, and a loan in every state (idempotent)."""
    # Checked before the transaction: a second seeding costs one query, not a savepoint too.
    if not Loan.objects.exists():
        _seed_demo_loans()


@transaction.atomic
def _seed_demo_loans():
    products = [
        LoanProduct.objects.filter(code=spec["code"]).first() or LoanProduct.objects.create(**spec) for spec in PRODUCTS
    ]
    for email, limit in [("supervisor@amparo.demo", D("30000000")), ("supervisor2@amparo.demo", D("15000000"))]:
        LoanApprovalAuthority.objects.get_or_create(user=_user(email), currency="COP", defaults={"limit": limit})
    people = {
        "admin": _user("admin@amparo.demo"),
        "finance": _user("finance@amparo.demo"),
        "checker": User.objects.filter(role="FINANCE").exclude(email_primary="finance@amparo.demo").first(),
    }
    overdue = Instalment.objects.filter(
        account__customer=OuterRef("customer"), status=Instalment.Status.OPEN, due_date__lt=timezone.localdate()
    )
    policies = list(
        Policy.objects.filter(status=Policy.Status.ACTIVE, product__currency="COP")
        .annotate(behind=Exists(overdue))
        .select_related("customer__agent", "current_version")
        .order_by("id")
    )
    if not policies:
        return
    for position, stage in enumerate(STAGES):
        if stage in ("disbursed", "repaid", "written_off") and people["checker"] is None:
            continue
        policy = policies[position % len(policies)]
        # A customer behind on premiums may only finance them; one in good standing borrows on the policy.
        product = products[1] if policy.behind else products[0]
        ceiling = policy.current_version.sum_insured * (product.max_share_of_sum_insured_pct or 100) / 100
        amount = max(product.min_amount, min(round_money(ceiling / 2), D("12000000")))
        loan = services.loan_apply(
            product=product,
            customer=policy.customer,
            policy=policy,
            actor=policy.customer.agent,
            amount=amount,
            tenure_months=min(12, product.max_tenure_months),
        )
        _move(loan, stage, people)
