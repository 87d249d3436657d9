"""The outside systems the outbox delivers to, each with its adapter (the only module that knows its
protocol). Registered with the outbox at start-up (IntegrationsConfig.ready)."""

from portal.outbox import destinations as outbox_destinations

from . import casse

KICK_TASK = "portal.integrations.tasks.outbox_relay_kick"

ADAPTERS = {casse.NAME: casse.CasseClient}
LABELS = {casse.NAME: "CASSE"}


def adapter_for(name, **options):
    return ADAPTERS[name](**options)


def register_destinations():
    for name, adapter in ADAPTERS.items():
        outbox_destinations.register(
            outbox_destinations.Destination(
                name=name,
                label=LABELS[name],
                event_types=adapter.event_types,
                is_enabled=adapter.enabled,
                kick_task=KICK_TASK,
            )
        )
