from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "portal.loans"
    label = "loans"
    verbose_name = _("Loans")

    def ready(self):
        # Registered once every app is loaded: the gateways find loans through core, never by import.
        from .repayments import register_online_repayments

        register_online_repayments()
