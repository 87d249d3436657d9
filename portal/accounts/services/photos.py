"""A user's profile photo: checked by its content, kept in private storage, replaced or removed."""

from django.db import transaction

from portal.audit.services import audit_record

from ..models import User
from ..photos import PROFILE_PHOTO


def _stored(name):
    return f"{name[:2]}/{name}"


def _delete_after_commit(name):
    if name:
        transaction.on_commit(lambda: PROFILE_PHOTO.storage().delete(name), robust=True)


@transaction.atomic
def user_profile_photo_set(*, user, upload):
    """Make `upload` the user's profile photo (a ValidationError says why a file is refused); the
    previous photo's file is deleted once the change is committed."""
    mime, sha256, size = PROFILE_PHOTO.checked(upload)
    stored_name = PROFILE_PHOTO.store(upload, mime)
    try:
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.profile_photo.name
        user.profile_photo.name = _stored(stored_name)
        user.save(update_fields=["profile_photo"])
        audit_record(
            actor=user,
            action="user.profile_photo_changed",
            target=user,
            metadata={"content_type": mime, "size": size, "sha256": sha256},
        )
    except Exception:
        PROFILE_PHOTO.delete(stored_name)
        raise
    _delete_after_commit(previous)
    return user


@transaction.atomic
def user_profile_photo_remove(*, user):
    user = User.objects.select_for_update().get(pk=user.pk)
    previous = user.profile_photo.name
    if not previous:
        return user
    user.profile_photo.name = ""
    user.save(update_fields=["profile_photo"])
    audit_record(actor=user, action="user.profile_photo_removed", target=user, metadata={})
    _delete_after_commit(previous)
    return user
