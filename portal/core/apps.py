from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        # The huey instance exists only once settings are read; its tasks are counted from here on.
        from huey.contrib.djhuey import HUEY

        from .metrics import task_metrics_connect  # (after HUEY, for the same reason)

        task_metrics_connect(HUEY)
