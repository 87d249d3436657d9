"""What a person does with the outbox: send a dead message again, or skip it so that the messages
behind it can go. Both need a note and are audited; both only apply to a DEAD message."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record
from portal.core.exceptions import Conflict
from portal.core.tasks import enqueue_on_commit
from portal.outbox.models import OutboxMessage

from .destinations import KICK_TASK


def message_actions_available(message):
    """What may be done with `message` now: the rule the services below apply, for the buttons."""
    dead = message.state == OutboxMessage.State.DEAD
    return {"retry": dead, "skip": dead}


def _require_note(note):
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why: the note is kept in the audit log.")})
    return note[:500]


def _lock_dead(message, action):
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if not message_actions_available(message)[action]:
        raise Conflict(
            _("Message %(id)s is «%(state)s»; only a dead message can be sent again or skipped.")
            % {"id": message.pk, "state": message.get_state_display()}
        )
    return message


@transaction.atomic
def outbox_message_retry(*, message, actor, note):
    """A DEAD message goes back to PENDING with its attempts counted from zero, and is sent with the
    same idempotency key (if the core did receive it, it does nothing twice)."""
    note = _require_note(note)
    message = _lock_dead(message, "retry")
    previous = {"attempts": message.attempts, "last_error": message.last_error}
    message.state = OutboxMessage.State.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.finished_at = None
    message.save(update_fields=["state", "attempts", "next_attempt_at", "finished_at"])
    audit_record(
        actor=actor,
        action="outbox.message_retried",
        target=message,
        metadata={"note": note, "destination": message.destination, "aggregate": message.aggregate_id, **previous},
    )
    enqueue_on_commit(KICK_TASK, destination=message.destination)
    return message


@transaction.atomic
def outbox_message_skip(*, message, actor, note):
    """A DEAD message is given up (SKIPPED: never sent), which lets the later messages of its aggregate go."""
    note = _require_note(note)
    message = _lock_dead(message, "skip")
    message.state = OutboxMessage.State.SKIPPED
    message.finished_at = timezone.now()
    message.save(update_fields=["state", "finished_at"])
    audit_record(
        actor=actor,
        action="outbox.message_skipped",
        target=message,
        metadata={
            "note": note,
            "destination": message.destination,
            "aggregate": message.aggregate_id,
            "event": message.event_type,
            "last_error": message.last_error,
        },
    )
    enqueue_on_commit(KICK_TASK, destination=message.destination)
    return message
