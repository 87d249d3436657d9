"""Where outbox messages go. The integrations above register each outside system at start-up (its
name, the events it takes, whether it is configured, and the task that delivers), so the services
that write messages never import them."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    name: str
    label: str
    event_types: frozenset
    # Read on every write: a destination that is not configured gets no messages.
    is_enabled: Callable[[], bool]
    # Dotted path of the task queued after a commit that wrote messages for it.
    kick_task: str = ""


_registry = {}


def register(destination):
    _registry[destination.name] = destination


def registered():
    return list(_registry.values())


def get(name):
    return _registry[name]


def enabled_for(event_type):
    return [item for item in _registry.values() if event_type in item.event_types and item.is_enabled()]
