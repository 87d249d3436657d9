from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from .checks import lease_outlasts_a_batch


class IntegrationsConfig(AppConfig):
    """The insurer's core system (CASSE) and other insurer APIs: delivering the outbox, pulling what the
    core changed, reconciling. It sits above policies and payments and calls down into their services."""

    name = "portal.integrations"
    label = "integrations"
    verbose_name = _("Insurer core sync")

    def ready(self):
        checks.register(lease_outlasts_a_batch)
        # The outbox below learns of its destinations here, so its writers never import this package.
        from .destinations import register_destinations

        register_destinations()
