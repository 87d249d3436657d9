"""Deliver the outbox now, for operators and tests:

    python manage.py outbox_relay [--drain] [--timeout S] [--destination casse]

Without --drain: one pass over what is due now. With --drain: until nothing is due, waiting out
backoffs, leases and the circuit breaker, for at most --timeout seconds. Prints one JSON line:
{"sent", "acked", "failed", "dead", "pending", "seconds"} (requests sent, messages acknowledged,
failed tries, messages that went DEAD, messages still pending, seconds taken).
"""

import json
import time
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from portal.integrations.relay import RelayCounts, open_messages, relay_drain, relay_pass
from portal.outbox import destinations


class Command(BaseCommand):
    help = "Deliver outbox messages to the insurer's core; prints one JSON line with the figures."

    def add_arguments(self, parser):
        parser.add_argument("--drain", action="store_true", help="Deliver until nothing is due, waiting out backoffs.")
        parser.add_argument("--timeout", type=float, default=None, help="Stop draining after this many seconds.")
        parser.add_argument("--destination", action="append", help="Only this destination (default: every one).")

    def handle(self, *args, drain, timeout, destination, **options):
        known = {item.name for item in destinations.registered()}
        names = destination or sorted(known)
        unknown = set(names) - known
        if unknown:
            raise CommandError(f"Unknown destination: {', '.join(sorted(unknown))}. Known: {', '.join(sorted(known))}.")
        started = time.monotonic()
        totals = {**asdict(RelayCounts()), "pending": 0}
        for name in names:
            if drain:
                left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
                result = relay_drain(destination=name, timeout=left)
                result.pop("seconds")
            else:
                result = {**asdict(relay_pass(destination=name)), "pending": open_messages(name)}
            for key, value in result.items():
                totals[key] += value
        totals["seconds"] = round(time.monotonic() - started, 3)
        self.stdout.write(json.dumps(totals))
