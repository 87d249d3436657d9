from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewaysConfig(AppConfig):
    name = "portal.gateways"
    label = "gateways"
    verbose_name = _("Payment gateways")
