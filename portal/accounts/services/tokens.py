"""The server side of API tokens: the per-user token version and refresh-token families.

Every access token carries the user's `token_version`; bumping it makes every token issued before
fail on its next request. A sign-in starts a refresh family; each refresh replaces the family's
one valid refresh token (strict single use), and a replayed one revokes the whole family.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record

from ..models import OtpChallenge, RefreshFamily, User


class TokenRefused(Exception):
    """The refresh token cannot be used; the message says what to do."""


def _new_jti():
    return uuid.uuid4().hex


@transaction.atomic
def user_tokens_revoke(*, user, reason, actor=None, keep_families=False):
    """Make every API token of `user` fail from its next request: the token version moves on and,
    unless `keep_families`, every refresh family ends too (the user signs in again everywhere)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    families = 0
    if not keep_families:
        families = RefreshFamily.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=reason
        )
    user.refresh_from_db(fields=["token_version"])
    audit_record(
        actor=actor if actor is not None else user,
        action="auth.tokens_revoked",
        target=user,
        metadata={"reason": reason, "refresh_families": families},
    )
    return user


@transaction.atomic
def refresh_family_start(*, user):
    """A new sign-in's family, with its first refresh token id."""
    return RefreshFamily.objects.create(user=user, current_jti=_new_jti(), current_issued_at=timezone.now())


@transaction.atomic
def api_sign_out(*, user, family_id):
    """Sign out of the API: this sign-in's refresh family ends, and every access token of the user
    fails on its next request (other devices get a new one with their own refresh token)."""
    ended = RefreshFamily.objects.filter(pk=family_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="sign_out"
    )
    user_tokens_revoke(user=user, reason="sign_out", keep_families=True)
    audit_record(actor=user, action="auth.sign_out", target=user, metadata={"channel": "api", "families": ended})


def refresh_rotate(*, family_id, jti, user_id):
    """The family after using its refresh token `jti`: rotated to a new one, or, when `jti` is the
    one it replaced less than AMPARO_API_REFRESH_GRACE_SECONDS ago (two requests raced with it),
    as it is, so both get the same new pair. Any other token of the family revokes it.

    Raises TokenRefused after the revocation is committed (hence a transaction of its own inside).
    """
    refusal = None
    with transaction.atomic():
        family = (
            RefreshFamily.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=family_id, user_id=user_id)
            .first()
        )
        now = timezone.now()
        grace = timedelta(seconds=settings.AMPARO_API_REFRESH_GRACE_SECONDS)
        if family is None or family.revoked_at is not None:
            refusal = _("This sign-in has ended. Sign in again.")
        elif not family.user.is_active:
            refusal = _("This account cannot sign in.")
        elif jti == family.current_jti:
            family.previous_jti = jti
            family.current_jti = _new_jti()
            family.current_issued_at = now
            family.rotated_at = now
            family.generation += 1
            family.save(update_fields=["previous_jti", "current_jti", "current_issued_at", "rotated_at", "generation"])
        elif not (jti == family.previous_jti and family.rotated_at and now - family.rotated_at <= grace):
            family.revoked_at = now
            family.revoked_reason = "refresh_reused"
            family.save(update_fields=["revoked_at", "revoked_reason"])
            audit_record(
                actor=family.user,
                action="auth.refresh_reused",
                target=family.user,
                metadata={"family": str(family.pk), "generation": family.generation},
            )
            refusal = _("This refresh token was already used, so this sign-in has ended. Sign in again.")
    if refusal is not None:
        raise TokenRefused(refusal)
    return family


# Sign-in records older than this after they stopped mattering are deleted by the nightly sweep; the
# audit trail keeps what happened.
KEPT_AFTER_USE = timedelta(days=7)


@transaction.atomic
def sign_in_records_purge(*, now=None):
    """Delete one-time-code challenges and refresh families that can no longer be used, a week on:
    (challenges, families) deleted."""
    now = now or timezone.now()
    cutoff = now - KEPT_AFTER_USE
    challenges = OtpChallenge.objects.filter(expires_at__lt=cutoff).delete()[0]
    refresh_lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    families = (
        RefreshFamily.objects.filter(revoked_at__lt=cutoff).delete()[0]
        + RefreshFamily.objects.filter(current_issued_at__lt=cutoff - refresh_lifetime).delete()[0]
    )
    return challenges, families
