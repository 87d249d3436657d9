from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.tasks import enqueue, enqueue_on_commit

from .models import NotificationRead, NotificationsSeen, PushDevice
from .selectors import notifications_found

SEND_TASK = "portal.notifications.tasks.email_message_send"


def email_send(*, to, subject, body, html=None):
    """Send one email now (the worker's task does this); everything else calls `email_queue`."""
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def email_queue(*, to, subject, body, html=None, after_commit=True):
    """Send an email from the worker: once the current transaction commits (never if it rolls back),
    or at once for mail that records nothing (allauth's password-reset link)."""
    message = {"to": to, "subject": subject, "body": body, "html": html}
    if after_commit:
        enqueue_on_commit(SEND_TASK, **message)
    else:
        enqueue(SEND_TASK, **message)


@transaction.atomic
def notifications_mark_read(*, user, customer, ids):
    """Mark `ids` ((kind, object_id) pairs) read for `user`; all must be `customer`'s notifications, or
    ObjectDoesNotExist is raised and nothing is marked. How many were asked for."""
    ids = set(ids)
    if notifications_found(customer, ids) != ids:
        raise ObjectDoesNotExist(_("Some of these notifications are not yours."))
    # Marking one read twice is no change: the second row is skipped by the unique constraint.
    NotificationRead.objects.bulk_create(
        [NotificationRead(user=user, kind=kind, object_id=object_id) for kind, object_id in sorted(ids)],
        ignore_conflicts=True,
    )
    return len(ids)


@transaction.atomic
def notifications_mark_all_read(*, user, now=None):
    """Everything notified to `user` until now is read."""
    now = now or timezone.now()
    NotificationsSeen.objects.update_or_create(user=user, defaults={"read_before": now})
    return now


@transaction.atomic
def push_device_register(*, user, platform, token):
    """Record the push token of the phone `user` signed in on: (device, created). A token already known
    moves to `user`, since a token names one installation and whoever signed in on it last gets its pushes."""
    token = (token or "").strip()
    errors = {}
    if not token or len(token) > 512 or any(character.isspace() for character in token):
        errors["token"] = _("Send the push token the phone's platform gave the app.")
    if platform not in PushDevice.Platform.values:
        errors["platform"] = _("The platform is ios or android.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    device, created = PushDevice.objects.get_or_create(
        token=token, defaults={"user": user, "platform": platform, "created_at": now, "last_seen_at": now}
    )
    metadata = {"platform": platform}
    if not created:
        device = PushDevice.objects.select_for_update().get(pk=device.pk)
        previous_user = device.user_id
        device.user, device.platform, device.last_seen_at = user, platform, now
        device.save(update_fields=["user", "platform", "last_seen_at"])
        if previous_user == user.pk:
            return device, False
        metadata["previous_user"] = previous_user
    audit_record(actor=user, action="notifications.push_device_registered", target=device, metadata=metadata)
    return device, created
