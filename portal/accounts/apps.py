from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import receivers  # noqa: F401
        from .roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="accounts.sync_role_permissions")
