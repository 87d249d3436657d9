"""After a write that moves the dashboards' figures (a policy, quote, customer or claim saved), queue
one refresh once the transaction commits, at most once per AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS
(0 turns this off; the five-minute periodic refresh still runs). Bulk updates send no signal: the
periodic refresh covers them."""

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_save

from portal.claims.models import Claim
from portal.core.tasks import enqueue_on_commit
from portal.customers.models import Customer
from portal.policies.models import Policy, Quote

REFRESH_TASK = "portal.reports.tasks.dashboard_figures_refresh_now"
DEBOUNCE_KEY = "reports:dashboard-figures-refresh-queued"


def figures_moved(sender, **kwargs):
    seconds = settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS
    if seconds and cache.add(DEBOUNCE_KEY, 1, timeout=seconds):
        enqueue_on_commit(REFRESH_TASK)


def connect():
    for model in (Policy, Quote, Customer, Claim):
        post_save.connect(figures_moved, sender=model, dispatch_uid=f"reports-figures-{model._meta.label_lower}")
