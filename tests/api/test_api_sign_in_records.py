"""The nightly sweep deletes one-time-code challenges and refresh families a week after they stopped
being usable, and nothing that still works."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.tokens import token_pair_for
from portal.accounts import services as account_services
from portal.accounts.models import OtpChallenge, OtpPurpose, RefreshFamily

pytestmark = pytest.mark.django_db


def test_the_sweep_deletes_only_what_can_no_longer_be_used(customer_account):
    now = timezone.now()
    old = account_services.otp_challenge_issue(user=customer_account, purpose=OtpPurpose.PASSWORD_RESET)
    OtpChallenge.objects.filter(pk=old.pk).update(expires_at=now - timedelta(days=8))
    live = account_services.otp_challenge_issue(user=customer_account, purpose=OtpPurpose.SIGN_IN)
    token_pair_for(customer_account)
    ended = RefreshFamily.objects.get()
    RefreshFamily.objects.filter(pk=ended.pk).update(revoked_at=now - timedelta(days=8), revoked_reason="sign_out")
    kept = account_services.refresh_family_start(user=customer_account)

    deleted = account_services.sign_in_records_purge(now=now)

    assert deleted == (1, 1)
    assert list(OtpChallenge.objects.values_list("pk", flat=True)) == [live.pk]
    assert list(RefreshFamily.objects.values_list("pk", flat=True)) == [kept.pk]
