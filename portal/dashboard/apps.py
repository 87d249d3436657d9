from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """The portal's shell above every domain: the role dashboards, the navigation and the demo data's
    composition. It reads the domains through their selectors; no domain imports it."""

    name = "portal.dashboard"
    label = "dashboard"
    verbose_name = _("Dashboard")
