from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    label = "tasks"

    def ready(self):
        # The consumer only knows the tasks whose modules have been imported.
        from . import claims, ingestion, notifications, payments, policies  # noqa: F401
