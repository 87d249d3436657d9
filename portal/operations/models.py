from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class BackupRun(models.Model):
    """One run of `manage.py backup`: where its archive went and what the database held when it was
    taken (the manifest `restore --verify` compares a restored copy against)."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", pgettext_lazy("backup status", "Running")
        SUCCEEDED = "SUCCEEDED", pgettext_lazy("backup status", "Succeeded")
        FAILED = "FAILED", pgettext_lazy("backup status", "Failed")

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    path = models.CharField(_("archive"), max_length=500, blank=True)
    size_bytes = models.BigIntegerField(_("size in bytes"), null=True, blank=True)
    encrypted = models.BooleanField(_("encrypted"), default=False)
    manifest = models.JSONField(_("manifest"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("backup run")
        verbose_name_plural = _("backup runs")
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.status}"
