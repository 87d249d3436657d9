from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """The transactional outbox: domain events written in the transaction of the change they record,
    for the integrations above to deliver. It imports nothing but core."""

    name = "portal.outbox"
    label = "outbox"
    verbose_name = _("Outbox")
