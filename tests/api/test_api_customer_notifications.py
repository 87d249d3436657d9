"""The customer's notifications in the app: the receipts, overdue reminders and renewal notices they were
emailed and their claims' moves as one feed with read and unread (constant queries), marking read (own
notifications only), and registering a phone's push token."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.services import claim_start_review
from portal.notifications.models import NotificationRead, PushDevice
from portal.payments.models import Instalment, InstalmentReminder, LedgerAccount
from portal.payments.services import instalment_reminder_record, payment_record, receipt_deliver
from portal.policies.models import RenewalReminder
from portal.policies.services import renewal_reminder_record

from ..factories import UserFactory, file_claim

FEED = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"
DEVICES = "/api/v1/devices/"
TOKEN = "fcm:APA91bH" + "x" * 140

pytestmark = pytest.mark.django_db


def receipt_sent(customer, reference="TRF-1", amount="100000"):
    account = LedgerAccount.objects.get(customer=customer)
    payment = payment_record(
        account=account, amount=amount, method="BANK_TRANSFER", reference=reference, actor=customer.agent
    )
    receipt_deliver(receipt_id=payment.receipt.pk)
    return payment.receipt


def everything_notified(customer):
    """One notification of each kind for `customer`."""
    receipt = receipt_sent(customer)
    instalment = Instalment.objects.get(account__customer=customer)
    instalment_reminder_record(instalment=instalment, stage=InstalmentReminder.Stage.DAYS_1)
    policy = customer.policies.get()
    renewal_reminder_record(policy=policy, stage=RenewalReminder.Stage.DAYS_30)
    claim = claim_start_review(claim=file_claim(policy=policy), actor=UserFactory(role=Role.AGENT))
    return receipt, claim


def test_the_feed_shows_what_the_customer_was_told_newest_first_and_unread(as_customer, policyholder):
    receipt, claim = everything_notified(policyholder)

    body = as_customer(policyholder.user).get(FEED).json()

    rows = body["results"]
    assert [row["kind"] for row in rows] == [
        "claim_status",
        "claim_status",
        "renewal_notice",
        "payment_reminder",
        "receipt",
    ]
    assert not any(row["read"] for row in rows)
    texts = {row["text"] for row in rows}
    assert "An adjuster is reviewing your claim." in texts and "We received your claim." in texts
    assert any(receipt.number in text for text in texts)
    assert rows[0]["title"] == f"Claim {claim.number}"
    assert rows[-1]["id"] == f"receipt-{receipt.pk}"


def test_the_feed_holds_nothing_of_another_customer(as_customer, policyholder, other_policyholder):
    everything_notified(other_policyholder)

    assert as_customer(policyholder.user).get(FEED).json()["results"] == []


def test_the_feed_reads_a_constant_number_of_queries(as_customer, policyholder):
    everything_notified(policyholder)
    caller = as_customer(policyholder.user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(FEED).status_code == 200
        return len(captured)

    few = queries()
    for n in range(2, 6):
        receipt_sent(policyholder, reference=f"TRF-{n}", amount="1000")
        file_claim(policy=policyholder.policies.get(), claimed_amount="1000")

    assert queries() == few
    page = caller.get(FEED, {"page_size": 3}).json()
    assert len(page["results"]) == 3 and page["next"]


def test_notifications_marked_read_are_read_and_left_out_of_the_unread(as_customer, policyholder):
    receipt, _claim = everything_notified(policyholder)
    caller = as_customer(policyholder.user)
    ids = [f"receipt-{receipt.pk}"]

    response = caller.post(READ, {"ids": ids})

    assert response.status_code == 200 and response.json() == {"marked": 1}
    rows = {row["id"]: row["read"] for row in caller.get(FEED).json()["results"]}
    assert rows[ids[0]] is True and sum(rows.values()) == 1
    unread = caller.get(FEED, {"unread": "true"}).json()["results"]
    assert len(unread) == 4 and ids[0] not in {row["id"] for row in unread}
    assert caller.post(READ, {"ids": ids}).status_code == 200
    assert NotificationRead.objects.count() == 1


def test_marking_everything_read_leaves_later_notifications_unread(as_customer, policyholder):
    everything_notified(policyholder)
    caller = as_customer(policyholder.user)

    assert caller.post(READ, {"all": True}).json() == {"marked": None}
    assert caller.get(FEED, {"unread": "1"}).json()["results"] == []

    later = receipt_sent(policyholder, reference="TRF-LATER", amount="1000")

    [unread] = caller.get(FEED, {"unread": "1"}).json()["results"]
    assert unread["id"] == f"receipt-{later.pk}"


def test_another_customers_notification_cannot_be_marked_and_nothing_is_marked(
    as_customer, policyholder, other_policyholder
):
    mine, _claim = everything_notified(policyholder)
    theirs = receipt_sent(other_policyholder, reference="TRF-OTRO")

    response = as_customer(policyholder.user).post(READ, {"ids": [f"receipt-{mine.pk}", f"receipt-{theirs.pk}"]})

    assert response.status_code == 404
    assert not NotificationRead.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"ids": ["receipt-1"], "all": True}, id="both"),
        pytest.param({"ids": ["factura-1"]}, id="unknown kind"),
        pytest.param({"ids": ["receipt-x"]}, id="not a number"),
        pytest.param({"ids": "receipt-1"}, id="not a list"),
    ],
)
def test_bad_mark_read_requests_are_refused(as_customer, policyholder, body):
    response = as_customer(policyholder.user).post(READ, body)

    assert response.status_code == 400
    assert not NotificationRead.objects.exists()


# --- devices -----------------------------------------------------------------------------------------------------


def test_a_phone_registers_its_push_token_once(as_customer, policyholder):
    caller = as_customer(policyholder.user)

    first = caller.post(DEVICES, {"platform": "android", "token": TOKEN})
    again = caller.post(DEVICES, {"platform": "android", "token": TOKEN})

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert "token" not in first.json()
    device = PushDevice.objects.get()
    assert (device.user, device.platform, device.token) == (policyholder.user, "android", TOKEN)
    event = AuditEvent.objects.get(action="notifications.push_device_registered")
    assert TOKEN not in str(event.metadata) and TOKEN not in event.target_label


def test_a_token_moves_to_whoever_signed_in_on_the_phone_last(as_customer, policyholder, other_policyholder):
    as_customer(other_policyholder.user).post(DEVICES, {"platform": "ios", "token": TOKEN})

    response = as_customer(policyholder.user).post(DEVICES, {"platform": "ios", "token": TOKEN})

    assert response.status_code == 200
    assert PushDevice.objects.get().user == policyholder.user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"platform": "windows", "token": TOKEN}, "platform", id="unknown platform"),
        pytest.param({"platform": "ios"}, "token", id="no token"),
        pytest.param({"platform": "ios", "token": "a b"}, "token", id="token with spaces"),
        pytest.param({"platform": "ios", "token": "x" * 600}, "token", id="too long"),
    ],
)
def test_bad_devices_are_refused(as_customer, policyholder, body, field):
    response = as_customer(policyholder.user).post(DEVICES, body)

    assert response.status_code == 400 and field in response.json()["errors"]
    assert not PushDevice.objects.exists()


def test_staff_and_anonymous_callers_are_refused(as_customer, app_client, agent):
    assert as_customer(agent).get(FEED).status_code == 403
    assert as_customer(agent).post(READ, {"all": True}).status_code == 403
    assert as_customer(agent).post(DEVICES, {"platform": "ios", "token": TOKEN}).status_code == 403
    assert app_client.get(FEED).status_code == 401
    assert app_client.post(DEVICES, {}, format="json").status_code == 401


def test_the_schema_documents_the_feed_and_the_devices(app_client):
    paths = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    assert {"200", "401", "403"} <= set(paths["/api/v1/notifications/"]["get"]["responses"])
    assert {"200", "400", "404"} <= set(paths["/api/v1/notifications/read/"]["post"]["responses"])
    assert {"200", "201", "400"} <= set(paths["/api/v1/devices/"]["post"]["responses"])
