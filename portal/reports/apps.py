from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The report catalogue, its runs and schedules, and the dashboards' precomputed figures. It sits
    above the domains it reads (through their `*_visible_to` selectors), like the dashboard."""

    name = "portal.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self):
        # The receivers import the domains' models, which exist only once every app is loaded.
        from . import receivers

        receivers.connect()
