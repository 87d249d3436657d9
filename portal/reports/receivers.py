"""After a save that moves the dashboards' figures (a policy, quote, customer or claim), ask for the
debounced refresh (portal.core.tasks.dashboard_figures_moved). Bulk writes send no signal: the services that make
them ask for it themselves."""

from django.db.models.signals import post_save

from portal.claims.models import Claim
from portal.core.tasks import dashboard_figures_moved
from portal.customers.models import Customer
from portal.policies.models import Policy, Quote


def figures_moved(sender, **kwargs):
    dashboard_figures_moved()


def connect():
    for model in (Policy, Quote, Customer, Claim):
        post_save.connect(figures_moved, sender=model, dispatch_uid=f"reports-figures-{model._meta.label_lower}")
