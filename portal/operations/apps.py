from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running Amparo on several machines: `/metrics` with the business gauges of every domain, backups
    with verified restores. It sits above the domains and reads their models; no domain imports it."""

    name = "portal.operations"
    label = "operations"
    verbose_name = _("Operations")
