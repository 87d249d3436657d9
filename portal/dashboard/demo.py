"""The demo data of every domain, composed in the order each needs the one before: staff, the
cedant's bordereaux, customers and policies, claims (paid through payments' payouts), payments.
`seed_demo --scale N` adds bulk volume for benchmarks. Each domain seeds itself in its `demo.py`."""

from django.db import transaction

from portal.accounts.demo import seed_demo_users, seed_scale_clients
from portal.audit.services import audit_record
from portal.claims.demo import seed_demo_claims, seed_scale_claims
from portal.ingestion.demo import seed_demo_bordereaux
from portal.integrations.demo import seed_demo_outbox
from portal.loans.demo import seed_demo_loans
from portal.payments.demo import pay_out_claim, seed_demo_payments
from portal.policies.demo import seed_demo_policies, seed_scale_policies


def seed_demo():
    """Every domain's demo data (idempotent); returns the logins as (email, role)."""
    logins = seed_demo_users()
    seed_demo_bordereaux()
    seed_demo_policies()
    logins += seed_demo_claims(pay_out=pay_out_claim)
    # After the claims: it prepares the payout of an approved one.
    seed_demo_payments()
    # After the claims' second finance user exists: a loan's transfer is confirmed by a second one.
    seed_demo_loans()
    # Last: the policies' messages for the insurer's core, waiting while sync is off.
    seed_demo_outbox()
    return logins


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
