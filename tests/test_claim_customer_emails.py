"""The customer is emailed when their claim is filed and each time it moves, in their words: what
happened, never who on the staff did it or their internal notes; a customer without email is skipped."""

import pytest
from django.core import mail
from django.utils import translation

from portal.accounts.models import Role
from portal.claims.bulk import bulk_transition_submit
from portal.claims.models import ClaimTransition, RejectionReason
from portal.claims.notices import claim_status_emails_send
from portal.claims.services import claim_approve, claim_reject, claim_start_review

from .factories import CustomerFactory, UserFactory, file_claim, issue_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(agent):
    return issue_policy(customer=CustomerFactory(agent=agent, email_primary="asegurada@correo.test"), actor=agent)


def test_filing_and_each_move_email_the_customer_in_their_words(policy, agent, django_capture_on_commit_callbacks):
    reviewer = UserFactory(role=Role.AGENT, full_name="Perito Interno")
    with django_capture_on_commit_callbacks(execute=True):
        claim = file_claim(policy=policy, actor=agent, claimed_amount="3000000")
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_start_review(claim=claim, actor=reviewer, note="Nota interna")
    with django_capture_on_commit_callbacks(execute=True):
        claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount="2000000", note="Peritaje reservado")

    assert [message.to for message in mail.outbox] == [["asegurada@correo.test"]] * 3
    bodies = [message.body for message in mail.outbox]
    assert "Recibimos el aviso de su siniestro." in bodies[0] or "We received your claim." in bodies[0]
    assert claim.number in mail.outbox[2].subject and claim.number in bodies[2]
    assert all("Perito Interno" not in body and "Nota interna" not in body for body in bodies)
    assert "Peritaje reservado" not in bodies[2]


def test_a_rejection_email_gives_the_reason(policy, agent):
    claim = claim_start_review(claim=file_claim(policy=policy, actor=agent), actor=agent)
    reason = RejectionReason.objects.filter(is_active=True).first()
    claim_reject(claim=claim, actor=UserFactory(role=Role.ADMIN), reason=reason, note="interno")
    entry = ClaimTransition.objects.get(claim=claim, action="reject")

    assert claim_status_emails_send(transition_ids=[entry.pk]) == 1

    with translation.override("es-co"):
        assert reason.label in mail.outbox[-1].body


def test_a_bulk_move_emails_each_customer_once(policy, agent, django_capture_on_commit_callbacks):
    claims = [file_claim(policy=policy, actor=agent, claimed_amount="1000") for _ in range(3)]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        bulk_transition_submit(actor=agent, action="start_review", claim_ids=[claim.pk for claim in claims])

    assert len(mail.outbox) == 3
    for claim in claims:
        assert sum(claim.number in message.subject for message in mail.outbox) == 1


def test_a_customer_without_email_is_not_emailed(agent):
    policy = issue_policy(customer=CustomerFactory(agent=agent, email_primary=""), actor=agent)
    claim = file_claim(policy=policy, actor=agent)

    assert claim_status_emails_send(transition_ids=list(claim.transitions.values_list("pk", flat=True))) == 0
    assert mail.outbox == []
