from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(self.model.refusal)

    def delete(self):
        raise TypeError(self.model.refusal)


class AppendOnlyModel(models.Model):
    """A record that is written once and never changed or deleted (audit events, versions, ledger
    entries...): the model and its querysets refuse it; on PostgreSQL a trigger refuses it too
    (portal.core.triggers)."""

    refusal = "These records are append-only"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(self.refusal)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(self.refusal)


class PrivateDocument(models.Model):
    """A file kept private (portal/core/private_files.py): what its sender called it, the random name it
    is stored under, its type by content, size and checksum, who uploaded it and when. The concrete
    model adds what the document belongs to."""

    original_name = models.CharField(_("file name"), max_length=255)
    stored_name = models.CharField(_("stored as"), max_length=80, unique=True)
    content_type = models.CharField(_("type"), max_length=80)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self):
        return self.original_name


class NumberSequence(models.Model):
    """Gap-free counters for human document numbers (policies, quotes, claims...), one per key and year."""

    key = models.CharField(_("key"), max_length=40)
    year = models.PositiveSmallIntegerField(_("year"))
    last_value = models.PositiveIntegerField(_("last value"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [models.UniqueConstraint(fields=["key", "year"], name="number_sequence_key_year_unique")]

    def __str__(self):
        return f"{self.key} {self.year}: {self.last_value}"


def next_sequence_value(*, key, year, count=1):
    """The next value of (key, year), or the last of the next `count` values; safe under concurrent callers.

    One upsert statement: the row lock it takes is held until the caller's transaction ends, so
    a second caller waits and then sees the incremented value; a rolled-back caller leaves no gap.
    """
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, year, last_value) VALUES (%s, %s, %s) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (key, year) DO UPDATE SET last_value = {table}.last_value + %s RETURNING last_value",
            [key, year, count, count],
        )
        return cursor.fetchone()[0]


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` a user sent to a creating API endpoint: what the request was (a hash of
    its method, path and body) and, once it succeeded, the answer to replay. The unique constraint
    on (user, key) is what makes two racing requests with one key run the work once."""

    class State(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", _("In progress")
        COMPLETED = "COMPLETED", _("Completed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_record_user_key_unique")]

    def __str__(self):
        return f"{self.key} ({self.state})"
