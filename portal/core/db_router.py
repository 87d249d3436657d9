"""Read replicas: list pages and reports read from a replica (`DATABASE_REPLICA_URLS`), everything else
from the primary.

A view opts in with `@reads_from_replica` (the pattern of `@body_limit`); an API view with
`@api_reads_from_replica` under DRF's `@api_view` and policy decorators, since DRF authenticates the
request inside the view, after the routing middleware has run. Its reads still go to the
primary when the primary is inside a transaction (a read there must see what the transaction wrote and
keep its locks' meaning), once the request has written anything, and for `AMPARO_REPLICA_STICKY_SECONDS`
after the same user's last write on any web node (kept in the shared cache): a replica a little behind
must never hide from people what they have just done. Writes and migrations go to the primary only;
replicas get their schema by streaming replication.
"""

import random
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connections

PRIMARY = "default"
REPLICA_PREFIX = "replica_"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class ReadRouting:
    replica_allowed: bool = False
    wrote: bool = False
    replica: str = ""


_routing: ContextVar[ReadRouting | None] = ContextVar("amparo_read_routing", default=None)


def reads_from_replica(view):
    """Let this view's reads go to a replica (list pages and reports: a second behind is fine there)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    wrapped.reads_from_replica = True
    return wrapped


def api_reads_from_replica(view):
    """The same for a DRF function view: put it under `@api_view` and its policy decorators, where
    the caller is authenticated (token users too), so their own writes keep their reads on the primary.
    Authentication's own reads (the token's user, its revocation) happen before, on the primary."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        routing = _routing.get()
        if routing is not None and request.method == "GET":
            routing.replica_allowed = not user_pinned_to_primary(_user_id(request))
        return view(request, *args, **kwargs)

    return wrapped


def replica_aliases():
    return sorted(alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX))


def _pin_key(user_id):
    return f"replica-pin:{user_id}"


def _user_id(request):
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def user_pinned_to_primary(user_id):
    pinned_until = cache.get(_pin_key(user_id)) if user_id is not None else None
    return pinned_until is not None and pinned_until > time.time()


def user_pin_to_primary(user_id):
    seconds = settings.AMPARO_REPLICA_STICKY_SECONDS
    cache.set(_pin_key(user_id), time.time() + seconds, timeout=seconds + 1)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        routing = _routing.get()
        if routing is None or not routing.replica_allowed or routing.wrote:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        if not routing.replica:
            aliases = replica_aliases()
            if not aliases:
                routing.replica_allowed = False
                return PRIMARY
            # One replica for the whole request, so its reads see one point in time.
            routing.replica = random.choice(aliases)  # noqa: S311 (spreading load, not a secret)
        return routing.replica

    def db_for_write(self, model, **hints):
        routing = _routing.get()
        if routing is not None:
            routing.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaRoutingMiddleware:
    """Tell the router which request it serves and whether its view reads from a replica; after a
    request that wrote (or was a POST), keep that user's reads on the primary for a few seconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        routing = ReadRouting()
        token = _routing.set(routing)
        try:
            response = self.get_response(request)
        finally:
            _routing.reset(token)
        if routing.wrote or request.method in WRITE_METHODS:
            user_id = _user_id(request)
            if user_id is not None:
                user_pin_to_primary(user_id)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        routing = _routing.get()
        if routing is None or not getattr(view_func, "reads_from_replica", False) or request.method != "GET":
            return None
        # The user is known by now (the authentication and second-factor middleware come first).
        routing.replica_allowed = not user_pinned_to_primary(_user_id(request))
        return None
