"""The relay against a core that fails in every way the issue lists: 5xx bursts, 429 with Retry-After,
timeouts, answers lost after the core did the work, refusals, duplicate acknowledgements and hours of
downtime (on a simulated clock). Every message reaches the core once in effect, in its policy's order."""

from datetime import timedelta

from portal.audit.models import AuditEvent
from portal.integrations.casse import CasseClient
from portal.integrations.checks import lease_outlasts_a_batch
from portal.integrations.models import DestinationBreaker, Exchange
from portal.integrations.relay import _claim, _settle
from portal.integrations.services import outbox_message_retry, outbox_message_skip
from portal.outbox.models import OutboxMessage
from tests.factories import UserFactory


def states():
    return sorted(OutboxMessage.objects.order_by().values_list("state", flat=True).distinct())


def assert_each_message_took_effect_once_in_its_policys_order(core):
    assert set(core.applied_keys().values()) == {1}
    assert set(core.applied_keys()) == {
        str(key) for key in OutboxMessage.objects.values_list("idempotency_key", flat=True)
    }
    for number in OutboxMessage.objects.order_by().values_list("aggregate_id", flat=True).distinct():
        keys = [
            str(key)
            for key in OutboxMessage.objects.filter(aggregate_id=number)
            .order_by("sequence")
            .values_list("idempotency_key", flat=True)
        ]
        assert [effect["key"] for effect in core.effects_of(number)] == keys


def test_a_burst_of_server_errors_is_ridden_out_and_each_message_arrives_once(core, drain, policy_history):
    for _ in range(3):
        policy_history(endorse=False, pay=False)
    core.fail_next(4, status=503)

    result = drain()

    assert states() == ["ACKED"]
    assert (result["acked"], result["failed"], result["dead"], result["pending"]) == (3, 4, 0, 0)
    assert Exchange.objects.filter(status_code=503).count() == 4
    assert_each_message_took_effect_once_in_its_policys_order(core)


def test_a_429_is_waited_out_for_as_long_as_the_core_asks(core, drain, clock, policy_history):
    policy_history(endorse=False, pay=False)
    core.rate_limit_next(1, retry_after=900)

    drain()

    puts = [request["at"] for request in core.requests if request["method"] == "PUT"]
    assert len(puts) == 2
    assert puts[1] - puts[0] >= timedelta(seconds=900)
    assert states() == ["ACKED"]


def test_an_answer_lost_after_the_core_did_the_work_is_asked_again_with_the_same_key_and_done_once(
    core, drain, policy_history
):
    policy_history()
    core.drop_after_processing_next(1)

    drain()

    first = OutboxMessage.objects.get(sequence=1)
    sent = [request for request in core.requests if request["key"] == str(first.idempotency_key)]
    assert len(sent) == 2
    assert first.attempts == 2
    assert list(first.exchanges.values_list("outcome", flat=True).order_by("id")) == ["NO_ANSWER", "OK"]
    assert states() == ["ACKED"]
    assert_each_message_took_effect_once_in_its_policys_order(core)


def test_a_request_that_times_out_while_the_core_works_is_done_once(core, drain, policy_history):
    policy_history(endorse=False, pay=False)
    core.time_out_next(1, seconds=1.5)

    drain()

    assert len([request for request in core.requests if request["method"] == "PUT"]) == 2
    assert OutboxMessage.objects.get().exchanges.filter(outcome="NO_ANSWER").exists()
    assert_each_message_took_effect_once_in_its_policys_order(core)


def test_a_message_the_core_refuses_is_dead_at_once_and_holds_back_its_policys_later_ones(core, drain, policy_history):
    held = policy_history()
    core.refuse_next(1, status=422, error_type="VALIDATION", code="BAD_COVERAGE")
    other = policy_history(endorse=False, pay=False)

    result = drain()

    dead = OutboxMessage.objects.get(aggregate_id=held.number, sequence=1)
    assert dead.state == "DEAD"
    assert "BAD_COVERAGE" in dead.last_error
    assert list(
        OutboxMessage.objects.filter(aggregate_id=held.number, sequence__gt=1).values_list("state", flat=True)
    ) == ["PENDING", "PENDING"]
    assert OutboxMessage.objects.get(aggregate_id=other.number).state == "ACKED"
    assert not core.effects_of(held.number)
    assert (result["dead"], result["pending"]) == (1, 2)


def test_a_dead_message_sent_again_goes_first_and_its_policy_follows_in_order(core, drain, policy_history):
    policy = policy_history()
    core.refuse_next(1)
    drain()
    dead = OutboxMessage.objects.get(state="DEAD")

    outbox_message_retry(message=dead, actor=UserFactory(role="ADMIN"), note="Cobertura corregida en el core")
    drain()

    assert states() == ["ACKED"]
    assert [effect["kind"] for effect in core.effects_of(policy.number)] == ["policy", "policy", "payment"]
    assert AuditEvent.objects.get(action="outbox.message_retried").metadata["note"] == "Cobertura corregida en el core"
    assert_each_message_took_effect_once_in_its_policys_order(core)


def test_skipping_a_dead_message_lets_the_ones_behind_it_go(core, drain, policy_history):
    policy = policy_history(pay=False)
    core.refuse_next(1)
    drain()

    outbox_message_skip(
        message=OutboxMessage.objects.get(state="DEAD"),
        actor=UserFactory(role="ADMIN"),
        note="Emitida a mano en el core",
    )
    drain()

    assert list(OutboxMessage.objects.order_by("sequence").values_list("state", flat=True)) == ["SKIPPED", "ACKED"]
    assert [effect["version"] for effect in core.effects_of(policy.number)] == [2]


def test_a_message_that_keeps_failing_is_dead_after_the_destinations_attempts(core, drain, settings, policy_history):
    policy_history(endorse=False, pay=False)
    core.refuse_next(20, status=409, error_type="TECHNICAL", code="LOCKED")

    result = drain()

    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("DEAD", settings.CASSE_MAX_ATTEMPTS)
    assert message.exchanges.count() == settings.CASSE_MAX_ATTEMPTS
    assert result["dead"] == 1


def test_hours_of_downtime_are_lived_through_with_every_message_delivered_once(
    core, drain, clock, settings, policy_history
):
    for _ in range(4):
        policy_history()
    back = clock.now() + timedelta(hours=6)
    core.go_down(until=back)

    result = drain(timeout=8 * 3600)

    assert clock.now() >= back
    assert states() == ["ACKED"]
    assert result["dead"] == 0
    assert_each_message_took_effect_once_in_its_policys_order(core)
    # The breaker kept the relay from hammering a dead core: as many failed sends as open it, then
    # probes spaced further and further apart (each one asking for a token first).
    assert (
        Exchange.objects.filter(message__isnull=False, outcome="NO_ANSWER").count() == settings.CASSE_BREAKER_FAILURES
    )
    assert len([request for request in core.requests if request["at"] < back]) < 60
    assert DestinationBreaker.objects.get(destination="casse").state == "CLOSED"


def test_an_acknowledgement_after_another_worker_took_the_message_over_counts_once(core, drain, clock, policy_history):
    policy_history(endorse=False, pay=False)
    adapter = CasseClient()
    (claimed,) = _claim("casse", now=clock.now() + timedelta(seconds=1), limit=1, worker="slow", lease_seconds=1)
    late_answer = adapter.deliver(claimed, worker="slow")
    clock.advance(seconds=5)

    drain()
    stale = _settle(claimed, late_answer, adapter=adapter, worker="slow", now=clock.now())

    message = OutboxMessage.objects.get()
    assert stale is None
    assert (message.state, message.attempts) == ("ACKED", 2)
    assert len([request for request in core.requests if request["method"] == "PUT"]) == 2
    assert_each_message_took_effect_once_in_its_policys_order(core)


def test_a_lease_shorter_than_a_batch_at_its_timeouts_is_warned_about(settings):
    settings.OUTBOX_BATCH_SIZE, settings.CASSE_CONNECT_TIMEOUT_SECONDS, settings.CASSE_READ_TIMEOUT_SECONDS = 20, 3, 10
    settings.OUTBOX_LEASE_SECONDS = 260
    assert lease_outlasts_a_batch(None) == []

    settings.OUTBOX_LEASE_SECONDS = 259

    assert [warning.id for warning in lease_outlasts_a_batch(None)] == ["integrations.W001"]
