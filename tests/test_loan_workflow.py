"""The loan workflow through its services: applying with frozen terms and the product's rules, one task
at a time KYC → credit check → approval → disbursement, four eyes and authority, refusals that change
nothing, the credit check against a local bureau that can fail, and the disbursement's money."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.core.exceptions import Conflict
from portal.loans import bureau, services
from portal.loans.models import AccountState, Loan, LoanInstalment, LoanTask, TaskKind
from portal.payments.models import LedgerEntry, Payment

from .bureau_server import running_bureau
from .factories import CustomerFactory, UserFactory, apply_loan, grant_loan_limit, issue_policy, make_loan_product
from .helpers import approved, checked, fresh, kyc_done, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan():
    return apply_loan()


def test_an_agent_applies_for_a_customer_in_their_book_and_the_terms_are_frozen(loan):
    assert loan.status == Loan.Status.NEW and loan.current_task is None
    assert (loan.principal, loan.tenure_months, loan.annual_rate_pct) == (Decimal("5000000"), 12, Decimal("18"))
    assert loan.fee_amount == Decimal("50000.00")
    assert loan.instalment_amount == Decimal("458399.96")
    loan.product.annual_rate_pct = Decimal("30")
    loan.product.save()
    assert fresh(loan).annual_rate_pct == Decimal("18")
    assert AuditEvent.objects.filter(action="loan.applied", target_id=str(loan.pk)).exists()


def test_an_agent_cannot_apply_for_a_customer_outside_their_book():
    policy = issue_policy()
    with pytest.raises(PermissionDenied):
        apply_loan(policy=policy, actor=UserFactory(role=Role.AGENT))
    assert not Loan.objects.exists()


def test_a_customer_applies_for_themselves_from_the_app():
    client = UserFactory(role=Role.CLIENT)
    policy = issue_policy(customer=CustomerFactory(user=client))
    assert apply_loan(policy=policy, actor=client).applied_by == client
    with pytest.raises(PermissionDenied):
        apply_loan(policy=issue_policy(), actor=client)


@pytest.mark.parametrize(
    ("amount", "months", "field"),
    [("999999", 12, "amount"), ("60000000", 12, "amount"), ("abc", 12, "amount"), ("5000000", 0, "tenure_months")],
)
def test_amounts_and_tenures_outside_the_products_bounds_are_refused_and_nothing_is_written(amount, months, field):
    with pytest.raises(ValidationError) as refused:
        apply_loan(amount=amount, tenure_months=months)
    assert field in refused.value.message_dict
    assert not Loan.objects.exists()


def test_a_loan_above_the_share_of_the_sum_insured_is_refused():
    # The policy insures 100,000,000; the product lends at most 40 % of it.
    with pytest.raises(ValidationError, match="At most"):
        apply_loan(amount="45000000", product=make_loan_product(max_amount=Decimal("90000000")))


def test_a_loan_against_another_customers_policy_is_refused():
    policy = issue_policy()
    other = CustomerFactory(agent=policy.customer.agent)
    with pytest.raises(ValidationError, match="customer's own"):
        services.loan_apply(
            product=make_loan_product(),
            customer=other,
            policy=policy,
            actor=other.agent,
            amount="2000000",
            tenure_months=6,
        )


def test_starting_the_first_task_opens_kyc_and_a_second_start_is_a_conflict(loan):
    task = services.loan_task_start(loan=loan, actor=loan.customer.agent)
    assert (task.kind, fresh(loan).current_task_id, fresh(loan).status) == (TaskKind.KYC, task.pk, "IN_PROGRESS")
    with pytest.raises(Conflict):
        services.loan_task_start(loan=loan, actor=loan.customer.agent)
    assert LoanTask.objects.filter(loan=loan).count() == 1


def test_kyc_cannot_pass_without_documents_and_passing_it_starts_the_credit_check(loan):
    agent = loan.customer.agent
    services.loan_task_start(loan=loan, actor=agent)
    with pytest.raises(Conflict, match="documents"):
        services.loan_act(loan=loan, action="kyc_pass", actor=agent)
    services.loan_document_add(loan=loan, upload=pdf(), actor=agent)
    services.loan_act(loan=loan, action="kyc_pass", actor=agent)
    loan = fresh(loan)
    assert loan.current_task.kind == TaskKind.CREDIT_CHECK and loan.current_task.is_open
    kyc = LoanTask.objects.get(loan=loan, kind=TaskKind.KYC)
    assert (kyc.outcome, kyc.completed_by) == ("PASSED", agent)


def test_a_program_disguised_as_a_pdf_is_refused_as_a_loan_document(loan):
    with pytest.raises(ValidationError, match="program"):
        services.loan_document_add(
            loan=loan, upload=SimpleUploadedFile("x.pdf", b"MZ\x90\x00" + b"\x00" * 100), actor=loan.customer.agent
        )


def test_refusing_kyc_needs_a_note_and_rejects_the_loan(loan):
    agent = loan.customer.agent
    services.loan_task_start(loan=loan, actor=agent)
    with pytest.raises(ValidationError):
        services.loan_act(loan=loan, action="kyc_refuse", actor=agent)
    services.loan_act(loan=loan, action="kyc_refuse", actor=agent, note="Cédula ilegible")
    loan = fresh(loan)
    assert (loan.status, loan.current_task) == (Loan.Status.REJECTED, None)


def test_a_good_score_passes_the_credit_check_and_starts_the_approval(loan, settings):
    kyc_done(loan, loan.customer.agent)
    with running_bureau(settings, default_score=720) as server:
        task = services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
    assert (task.score, task.outcome, task.completed_by) == (720, "PASSED", None)
    assert fresh(loan).current_task.kind == TaskKind.APPROVAL
    assert server.requests[0]["idempotency_key"] == f"{loan.number}-{task.pk}"
    assert server.requests[0]["body"]["id_number"] == loan.customer.id_number


def test_a_low_score_waits_for_a_supervisor_who_may_override_it_with_a_note_but_not_then_approve(loan, settings):
    kyc_done(loan, loan.customer.agent)
    task = checked(loan, settings, score=450).current_task
    assert (task.kind, task.score, task.is_open) == (TaskKind.CREDIT_CHECK, 450, True)
    supervisor = grant_loan_limit(UserFactory(role=Role.SUPERVISOR), "100000000")
    with pytest.raises(PermissionDenied):
        services.loan_act(loan=loan, action="credit_override", actor=loan.customer.agent, note="Buen cliente")
    with pytest.raises(ValidationError):
        services.loan_act(loan=loan, action="credit_override", actor=supervisor)
    services.loan_act(loan=loan, action="credit_override", actor=supervisor, note="Cliente de diez años")
    assert fresh(loan).current_task.kind == TaskKind.APPROVAL
    with pytest.raises(PermissionDenied, match="overrode"):
        services.loan_act(loan=loan, action="approve", actor=supervisor)
    services.loan_act(loan=loan, action="approve", actor=grant_loan_limit(UserFactory(role=Role.SUPERVISOR), "6000000"))
    assert fresh(loan).current_task.kind == TaskKind.DISBURSEMENT


def test_a_supervisor_may_confirm_the_bureaus_refusal_which_rejects_the_loan(loan, settings):
    kyc_done(loan, loan.customer.agent)
    checked(loan, settings, score=300)
    services.loan_act(loan=loan, action="credit_refuse", actor=UserFactory(role=Role.ADMIN), note="Mora reportada")
    assert fresh(loan).status == Loan.Status.REJECTED


def test_a_bureau_that_fails_every_attempt_records_the_problem_raises_for_a_retry_and_never_passes(loan, settings):
    kyc_done(loan, loan.customer.agent)
    with running_bureau(settings) as server:
        server.answer_with(503, count=3)
        with pytest.raises(bureau.BureauUnavailable):
            services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
        assert len(server.requests) == 3
    task = fresh(loan).current_task
    assert (task.kind, task.score, task.is_open) == (TaskKind.CREDIT_CHECK, None, True)
    assert "did not answer" in task.check_error


def test_a_bureau_that_times_out_once_is_asked_again_with_the_same_idempotency_key(loan, settings):
    kyc_done(loan, loan.customer.agent)
    with running_bureau(settings) as server:
        server.delay_answers(1.5, count=1)
        services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
        assert len({request["idempotency_key"] for request in server.requests}) == 1
        assert len(server.requests) == 2
    assert fresh(loan).current_task.kind == TaskKind.APPROVAL


def test_a_bureau_refusing_the_enquiry_is_recorded_and_not_retried(loan, settings):
    kyc_done(loan, loan.customer.agent)
    with running_bureau(settings) as server:
        server.answer_with(422)
        services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
        assert len(server.requests) == 1
    assert "refused the enquiry" in fresh(loan).current_task.check_error


def test_an_unconfigured_bureau_never_passes_the_check(loan, settings):
    settings.AMPARO_CREDIT_BUREAU_URL = ""
    kyc_done(loan, loan.customer.agent)
    with pytest.raises(bureau.BureauUnavailable):
        services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
    assert fresh(loan).current_task.kind == TaskKind.CREDIT_CHECK


def test_whoever_did_the_kyc_may_not_approve_and_a_supervisor_only_within_their_limit(loan, settings):
    supervisor = grant_loan_limit(UserFactory(role=Role.SUPERVISOR), "4000000")
    kyc_done(loan, supervisor)
    checked(loan, settings)
    with pytest.raises(PermissionDenied, match="identity"):
        services.loan_act(loan=loan, action="approve", actor=supervisor)
    other = grant_loan_limit(UserFactory(role=Role.SUPERVISOR), "4000000")
    with pytest.raises(PermissionDenied, match="limit"):
        services.loan_act(loan=loan, action="approve", actor=other)
    grant_loan_limit(other, "9000000", currency="USD")
    with pytest.raises(PermissionDenied, match="limit"):
        services.loan_act(loan=loan, action="approve", actor=other)
    with pytest.raises(PermissionDenied):
        services.loan_act(loan=loan, action="approve", actor=UserFactory(role=Role.FINANCE))
    grant_loan_limit(other, "5000000")
    services.loan_act(loan=loan, action="approve", actor=other)
    assert fresh(loan).current_task.kind == TaskKind.DISBURSEMENT


def test_finance_prepares_and_another_finance_user_confirms_the_transfer_with_its_ledger_entries(loan, settings):
    loan = approved(loan, settings)
    maker, checker = UserFactory(role=Role.FINANCE), UserFactory(role=Role.FINANCE)
    with pytest.raises(ValidationError):
        services.loan_act(loan=loan, action="disbursement_prepare", actor=maker)
    services.loan_act(loan=loan, action="disbursement_prepare", actor=maker, payee_account="Bancolombia 123")
    with pytest.raises(PermissionDenied, match="prepared"):
        services.loan_act(loan=loan, action="disbursement_confirm", actor=maker)
    services.loan_act(loan=loan, action="disbursement_confirm", actor=checker)
    loan = fresh(loan)
    assert (loan.status, loan.account_state, loan.current_task) == ("COMPLETED", AccountState.ACTIVE, None)
    payment = loan.disbursement_payment
    assert (payment.direction, payment.amount) == (Payment.Direction.OUT, loan.principal)
    assert payment.reference == loan.number
    entries = LedgerEntry.objects.filter(account=payment.account).order_by("id")
    assert [(e.kind, e.amount) for e in entries if e.payment_id == payment.pk or e.kind == "ADJUSTMENT"] == [
        ("DISBURSEMENT", Decimal("5000000.00")),
        ("ADJUSTMENT", Decimal("50000.00")),
    ]
    instalments = LoanInstalment.objects.filter(loan=loan)
    assert instalments.count() == 12
    assert sum(i.principal for i in instalments) == loan.principal


def test_a_stale_page_is_refused_once_the_loan_has_moved_past_the_task_it_showed(loan):
    agent = loan.customer.agent
    task = services.loan_task_start(loan=loan, actor=agent)
    services.loan_document_add(loan=loan, upload=pdf(), actor=agent)
    services.loan_act(loan=loan, action="kyc_pass", actor=agent, expected_task=task.pk)
    with pytest.raises(Conflict):
        services.loan_act(loan=loan, action="kyc_pass", actor=agent, expected_task=task.pk)


def test_completing_a_task_with_an_outcome_maps_to_its_move_and_a_meaningless_outcome_is_bad_input(loan):
    agent = loan.customer.agent
    task = services.loan_task_start(loan=loan, actor=agent)
    with pytest.raises(ValidationError):
        services.loan_task_complete(loan=loan, task=task, actor=agent, outcome="CANCELLED")
    services.loan_task_complete(loan=loan, task=task, actor=agent, outcome="REFUSED", note="Documentos falsos")
    assert fresh(loan).status == Loan.Status.REJECTED


def test_the_customer_withdraws_before_the_money_leaves_but_not_after(settings):
    client = UserFactory(role=Role.CLIENT)
    loan = apply_loan(policy=issue_policy(customer=CustomerFactory(user=client)))
    services.loan_task_start(loan=loan, actor=loan.customer.agent)
    with pytest.raises(PermissionDenied):
        services.loan_withdraw(loan=loan, actor=UserFactory(role=Role.CLIENT))
    services.loan_withdraw(loan=loan, actor=client, note="Ya no lo necesito")
    loan = fresh(loan)
    assert (loan.status, loan.current_task) == (Loan.Status.WITHDRAWN, None)
    assert LoanTask.objects.get(loan=loan).outcome == "CANCELLED"
    other = approved(apply_loan(), settings)
    finance = UserFactory(role=Role.FINANCE)
    services.loan_act(loan=other, action="disbursement_prepare", actor=finance, payee_account="Banco 1")
    with pytest.raises(Conflict):
        services.loan_withdraw(loan=other, actor=other.customer.agent)


def test_the_moves_offered_are_exactly_those_the_service_accepts(loan, settings):
    agent = loan.customer.agent
    assert [a.action for a in services.loan_actions_available(loan, agent)] == ["start", "withdraw"]
    assert services.loan_actions_available(loan, UserFactory(role=Role.FINANCE)) == []
    services.loan_task_start(loan=loan, actor=agent)
    assert "kyc_pass" not in [a.action for a in services.loan_actions_available(fresh(loan), agent)]
    services.loan_document_add(loan=loan, upload=pdf(), actor=agent)
    assert {"kyc_pass", "kyc_refuse"} <= {a.action for a in services.loan_actions_available(fresh(loan), agent)}
