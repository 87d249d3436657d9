"""Every read of loans that is more than a .get(): scoped to the user through `loans_visible_to`."""

from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce

from portal.accounts.models import Role
from portal.accounts.selectors import book_scope_q
from portal.core.dates import business_date
from portal.core.money import ZERO

from .models import (
    AccountState,
    ArrearsBucket,
    Loan,
    LoanDocument,
    LoanInstalment,
    LoanProduct,
    LoanRepayment,
    LoanTask,
    TaskKind,
)
from .workflow import TASK_ORDER

CUSTOMER_AGENT = "customer__agent"


def loans_visible_to(user):
    """Loans of the customers in `user`'s book (the customer's agent owns their loans); a customer in
    the app sees their own."""
    if user.is_authenticated and user.role == Role.CLIENT:
        return Loan.objects.filter(customer__user=user)
    return Loan.objects.filter(book_scope_q(user, agent_field=CUSTOMER_AGENT))


def awaiting_override_q():
    """Loans whose credit check waits for a supervisor: the bureau answered below the product's minimum
    and nobody has overridden or confirmed the refusal yet (a passing score finishes the check at once,
    so a current check holding a low score is exactly one of these), or the bureau failed for good and
    the check must be run again."""
    return Q(current_task__kind=TaskKind.CREDIT_CHECK) & (
        Q(current_task__score__lt=F("product__min_credit_score"))
        | (Q(current_task__score__isnull=True) & ~Q(current_task__check_error=""))
    )


def loans_for_queue(user):
    """The queue's rows: every column reads the loan row or a to-one join made here."""
    return loans_visible_to(user).select_related("product", "customer", "customer__agent", "current_task")


def loans_for_page(user):
    return loans_visible_to(user).select_related(
        "product", "customer", "customer__agent", "policy", "current_task", "applied_by", "disbursement_payment"
    )


def loans_of_customer(customer, user):
    return loans_visible_to(user).filter(customer=customer).select_related("product", "current_task")


def loan_timeline(loan):
    return (
        LoanTask.objects.filter(loan=loan)
        .select_related("started_by", "completed_by", "overridden_by", "prepared_by")
        .order_by("started_at", "id")
    )


def loan_documents(loan):
    return LoanDocument.objects.filter(loan=loan).select_related("uploaded_by").order_by("uploaded_at", "id")


def loan_schedule(loan):
    return LoanInstalment.objects.filter(loan=loan).order_by("sequence")


def loan_outstanding(loan):
    """What is still owed on a disbursed loan: principal, interest and fees not yet paid."""
    totals = LoanInstalment.objects.filter(loan=loan).aggregate(
        owed=Coalesce(
            Sum(F("principal") + F("interest") + F("fee") - F("principal_paid") - F("interest_paid") - F("fee_paid")),
            ZERO,
            output_field=DecimalField(),
        )
    )
    return totals["owed"]


def loan_amount_due(loan, today=None):
    """What the app offers to pay now on a running loan: every instalment due by `today` still unpaid,
    or, when none is late, the next one; zero when nothing is open."""
    today = business_date(today)
    open_rows = list(LoanInstalment.objects.filter(loan=loan, status=LoanInstalment.Status.OPEN).order_by("sequence"))
    due = sum((row.outstanding for row in open_rows if row.due_date <= today), ZERO)
    if due == 0 and open_rows:
        due = open_rows[0].outstanding
    return due


def loan_pipeline(user):
    """Loans being worked in `user`'s scope, by the task they wait on, in the workflow's order."""
    counts = dict(
        loans_visible_to(user)
        .filter(status=Loan.Status.IN_PROGRESS)
        .values_list("current_task__kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return pipeline_steps(counts)


def pipeline_steps(counts):
    """{task kind: loans waiting on it} as the pipeline's steps, in the workflow's order."""
    labels = dict(TaskKind.choices)
    return [{"kind": kind, "label": labels[kind], "count": counts.get(kind, 0)} for kind in TASK_ORDER]


def loan_portfolio(user):
    """Per currency: the principal outstanding on active loans, and the part of it on loans in arrears."""
    owed = F("instalments__principal") - F("instalments__principal_paid")
    rows = (
        loans_visible_to(user)
        .filter(account_state=AccountState.ACTIVE)
        .values("currency")
        .annotate(
            loans=Count("pk", distinct=True),
            outstanding=Coalesce(Sum(owed), ZERO, output_field=DecimalField()),
            in_arrears=Coalesce(
                Sum(owed, filter=~Q(arrears_bucket=ArrearsBucket.CURRENT)), ZERO, output_field=DecimalField()
            ),
        )
        .order_by("currency")
    )
    return list(rows)


PIPELINE_COLOURS = {
    TaskKind.KYC: "#0dcaf0",
    TaskKind.CREDIT_CHECK: "#ffc107",
    TaskKind.APPROVAL: "#fd7e14",
    TaskKind.DISBURSEMENT: "#198754",
}


def loan_card_figures(user):
    """The dashboard's loans card, counted live (the dashboards read the precomputed figures)."""
    return loan_card(loan_pipeline(user), loan_portfolio(user))


def loan_card(pipeline, portfolio):
    """The dashboard's loans card: the pipeline by task (with its chart) and the portfolio per currency."""
    return {
        "pipeline": pipeline,
        "in_progress": sum(step["count"] for step in pipeline),
        "portfolio": portfolio,
        "chart": {
            "labels": [str(step["label"]) for step in pipeline],
            "values": [step["count"] for step in pipeline],
            "colors": [PIPELINE_COLOURS[step["kind"]] for step in pipeline],
        },
    }


def loan_products_offered():
    return LoanProduct.objects.filter(is_active=True).order_by("name")


def loans_of_app_customer(user):
    """The app customer's own loans, newest first, with what their list shows."""
    return loans_visible_to(user).select_related("product", "current_task").order_by("-applied_at", "-id")


def loan_repayments(loan):
    return LoanRepayment.objects.filter(loan=loan).select_related("payment").order_by("received_on", "id")
