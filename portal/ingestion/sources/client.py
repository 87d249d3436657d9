"""The adapter for cedants' REST APIs: the only module that speaks HTTP to them. One `SourceClient`
per run: authentication (OAuth2 client credentials per RFC 6749 §4.4 through authlib, bearer, API
key, basic), connect and read timeouts, the shared rate budget, the shared circuit breaker, and
retries (tenacity) of what is safe to retry: these are GETs, so 429, 5xx, timeouts, lost connections
and unreadable pages are tried again with exponential backoff and jitter, never sooner than a
`Retry-After` asks. Exchanges are logged with addresses and headers through an allowlist."""

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import orjson
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from portal.core.retry_after import retry_after_seconds

from .breaker import CircuitBreakerError, source_breaker
from .budget import budget_wait

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
HEADERS_LOGGED = frozenset({"content-type", "content-length", "retry-after", "date", "x-request-id", "link"})
PROBE_TIMEOUT = (5, 15)  # connect, read: seconds
NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

_tokens = {}
_tokens_lock = threading.Lock()


class SourceError(Exception):
    """A page could not be had; the message is for the people who run the source."""


class Retryable(SourceError):
    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(Retryable):
    """A 429: the source is up and asks us to slow down; it does not count against its circuit breaker."""


class Refused(SourceError):
    """The source said no in a way trying again cannot change (bad credentials, 404, 400...)."""


class RefusedPage(Refused):
    """A 4xx: the source is up and answering; it does not count against its circuit breaker."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    breaker_trips: int = 0
    bytes: int = 0


@dataclass
class Page:
    url: str  # redacted
    status: int
    content: bytes
    body: object
    response: object


def redact_url(url, kept):
    """`url` with every query value whose name is not in `kept` replaced, and without `user:password@`:
    next-page addresses may carry signatures or keys."""
    parts = urlsplit(url)
    query = [(name, value if name in kept else REDACTED) for name, value in parse_qsl(parts.query, True)]
    return urlunsplit((parts.scheme, _host(url), parts.path, urlencode(query, safe="[]"), ""))


def _host(url):
    """The host (and port) of `url`, without any `user:password@`."""
    return urlsplit(url).netloc.rpartition("@")[2]


def redact_headers(headers):
    return {name: value if name.lower() in HEADERS_LOGGED else REDACTED for name, value in (headers or {}).items()}


def spec_param_names(spec):
    """The query parameters the spec itself defines: the ones logs may show."""
    resource = spec["resource"]
    paginator = resource["paginator"]
    names = set(resource.get("params") or {})
    names |= {paginator.get(key) for key in ("page_param", "offset_param", "limit_param", "cursor_param")}
    names |= {"page", "offset", "limit", "cursor"}
    if resource.get("incremental"):
        names.add(resource["incremental"]["param"])
    auth = spec.get("auth") or {}
    names.discard(auth.get("name") if auth.get("type") == "api_key" else None)
    names.discard(None)
    return frozenset(names)


def _client_secret_basic(client, method, uri, headers, body):
    """HTTP Basic client authentication as RFC 6749 §2.3.1 has it: the id and the secret are each
    form-encoded before being joined and base64-encoded (authlib joins them raw, which a server that
    decodes them as the RFC says reads wrong when they hold `+`, `/`, `=`, `%` or `:`)."""
    text = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret or '')}"
    headers["Authorization"] = "Basic " + base64.b64encode(text.encode()).decode()
    return uri, headers, body


def _throttled_token_answer(response):
    """A 429 from the token endpoint is a reason to wait, whatever error its body names (authlib would
    read that body as a refusal of our credentials)."""
    if response.status_code == 429:
        response.raise_for_status()
    return response


def _leeway(token):
    """How long before its expiry a token is renewed: the setting, or half the token's lifetime when
    that is shorter."""
    leeway = settings.AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS
    try:
        return min(leeway, int(float(token.get("expires_in")) / 2))
    except (TypeError, ValueError):
        return leeway


class SourceClient:
    def __init__(self, *, key, spec, secret, stats, sleep=time.sleep, probe=False):
        """With `probe` (the portal's "test connection", on a web worker): one try, short timeouts, and
        no circuit breaker, so that a test neither waits minutes nor counts against the live source."""
        self.key, self.spec, self.secret, self.stats, self.sleep = key, spec, secret, stats, sleep
        timeout = spec.get("timeout") or {}
        self.timeout = (timeout.get("connect", 5), timeout.get("read", 30))
        self.attempts = (spec.get("retry") or {}).get("attempts", 6)
        if probe:
            self.timeout = (min(self.timeout[0], PROBE_TIMEOUT[0]), min(self.timeout[1], PROBE_TIMEOUT[1]))
            self.attempts = 1
        self.auth = spec.get("auth") or {"type": "none"}
        self.kept_params = spec_param_names(spec)
        rate = spec.get("rate_limit")
        self.rate = None
        if rate:
            self.rate = {"key": rate.get("budget") or _host(spec["base_url"]), **rate}
        # Each request as a plain record (see SyncExchange), taken and stored by the caller in batches.
        self.exchanges = []
        self.page = None
        self.attempt = 0
        self.breaker = None
        if not probe:
            self.breaker = source_breaker(
                f"source:{key}",
                fail_max=settings.AMPARO_INGESTION_BREAKER_FAILURES,
                reset_timeout=settings.AMPARO_INGESTION_BREAKER_COOLDOWN_SECONDS,
                listeners=[_TripCounter(stats)],
                exclude=[Refused, Throttled],
            )
        self.session = self._session()

    # --- authentication ----------------------------------------------------------------------------

    def _session(self):
        kind = self.auth["type"]
        if kind == "oauth2_client_credentials":
            session = OAuth2Session(
                self.auth["client_id"],
                self.secret,
                scope=self.auth.get("scope"),
                token_endpoint=self.auth["token_url"],
                grant_type="client_credentials",
                leeway=settings.AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS,
                default_timeout=self.timeout,
            )
            session.register_client_auth_method(("client_secret_basic", _client_secret_basic))
            session.register_compliance_hook("access_token_response", _throttled_token_answer)
            with _tokens_lock:
                cached = _tokens.get(self._token_key())
            if cached is not None:
                session.token = cached
                session.leeway = _leeway(cached)
            return session
        session = requests.Session()
        if kind == "bearer":
            session.headers["Authorization"] = f"Bearer {self.secret}"
        elif kind == "basic":
            session.auth = (self.auth["username"], self.secret)
        elif kind == "api_key" and self.auth.get("location", "header") == "header":
            session.headers[self.auth.get("name", "X-API-Key")] = self.secret
        return session

    def _token_key(self):
        auth = self.auth
        return (auth["token_url"], auth["client_id"], auth.get("scope", ""), auth.get("audience", ""))

    def _fresh_token(self, *, force=False):
        """A token that will not expire within the leeway: the cached one, or a new one (RFC 6749 §4.4)."""
        token = self.session.token
        if not force and token and not token.is_expired(leeway=self.session.leeway):
            return
        extra = {"audience": self.auth["audience"]} if self.auth.get("audience") else {}
        started = time.perf_counter()
        try:
            token = self.session.fetch_token(self.auth["token_url"], grant_type="client_credentials", **extra)
        except (OAuthError, requests.HTTPError, *NETWORK_FAILURES, ValueError) as exc:
            self._exchange("POST", self.auth["token_url"], started, error=type(exc).__name__, page=None)
            self._token_refused(exc)
        self._exchange("POST", self.auth["token_url"], started, status=200, page=None)
        if not token.get("access_token") or str(token.get("token_type", "bearer")).lower() != "bearer":
            raise Refused(_("The token endpoint's answer holds no bearer access token (RFC 6750)."))
        # A token living no longer than the leeway would be fetched again before every page.
        self.session.leeway = _leeway(token)
        logger.info("source %s: new access token, expires in %s s", self.key, token.get("expires_in"))
        with _tokens_lock:
            _tokens[self._token_key()] = token

    def _token_refused(self, exc):
        if isinstance(exc, requests.HTTPError):
            response = exc.response
            status = response.status_code if response is not None else 0
            message = _("The token endpoint answered %(status)d.") % {"status": status}
            if status == 429 or status >= 500:
                raise Retryable(message, retry_after=retry_after_seconds(response.headers.get("Retry-After"))) from exc
            raise Refused(message) from exc
        if isinstance(exc, OAuthError):
            raise Refused(
                _("The token endpoint refused our client credentials (%(error)s).") % {"error": exc.error}
            ) from exc
        if isinstance(exc, NETWORK_FAILURES):
            raise Retryable(
                _("The token endpoint did not answer (%(error)s).") % {"error": type(exc).__name__}
            ) from exc
        raise Retryable(_("The token endpoint's answer is not a token.")) from exc

    def _exchange(self, method, url, started, *, page, status=None, size=0, error=""):
        self.exchanges.append(
            {
                "page": page,
                "attempt": max(self.attempt, 1),
                "method": method,
                "url": redact_url(url, self.kept_params)[:500],
                "status_code": status,
                "bytes": size,
                "duration_ms": round((time.perf_counter() - started) * 1000),
                "error": error[:300],
                "started_at": timezone.now() - timedelta(seconds=time.perf_counter() - started),
            }
        )

    # --- one page ----------------------------------------------------------------------------------

    def get(self, url, params, *, page=None):
        """The page at `url` with `params` (page number `page`, for the log), tried as the spec allows.
        Raises SourceError."""
        self.page, self.attempt = page, 0
        if self.auth["type"] == "api_key" and self.auth.get("location") == "query":
            params = {**params, self.auth.get("name", "api_key"): self.secret}
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(Retryable),
            before_sleep=self._before_retry,
            sleep=self.sleep,
            reraise=False,
        )
        try:
            return retrying(self._attempt, url, params)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise SourceError(
                _("Gave up after %(attempts)d tries: %(error)s") % {"attempts": self.attempts, "error": last}
            ) from last

    def _wait(self, retry_state):
        backoff = wait_random_exponential(
            multiplier=settings.AMPARO_INGESTION_RETRY_BASE_SECONDS, max=settings.AMPARO_INGESTION_RETRY_MAX_SECONDS
        )(retry_state)
        retry_after = getattr(retry_state.outcome.exception(), "retry_after", None) or 0
        return max(backoff, retry_after)

    def _before_retry(self, retry_state):
        self.stats.retries += 1
        error = retry_state.outcome.exception()
        logger.warning("source %s: try %d failed (%s); trying again", self.key, retry_state.attempt_number, error)

    def _attempt(self, url, params):
        self.attempt += 1
        if self.breaker is None:
            return self._send(url, params)
        try:
            return self.breaker.call(self._send, url, params)
        except CircuitBreakerError as exc:
            raise Refused(
                _("The source failed too often; its circuit breaker is open for %(seconds)d s.")
                % {"seconds": settings.AMPARO_INGESTION_BREAKER_COOLDOWN_SECONDS}
            ) from exc

    def _send(self, url, params):
        oauth = self.auth["type"] == "oauth2_client_credentials"
        if oauth:
            self._fresh_token()
        response = self._request(url, params)
        if response.status_code == 401 and oauth:
            # The token died before its time (revoked, or the server's clock): one new token, one more try.
            self._fresh_token(force=True)
            response = self._request(url, params)
        return self._read(response)

    def _request(self, url, params):
        if self.rate:
            budget_wait(self.rate["key"], requests=self.rate["requests"], per=self.rate["per"], sleep=self.sleep)
        self.stats.requests += 1
        started = time.perf_counter()
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except (OAuthError, requests.HTTPError) as exc:
            # authlib renews a token by itself when it finds it expired as the request goes out.
            self._token_refused(exc)
        except AuthlibBaseError as exc:
            raise Refused(_("The access token cannot be used: %(error)s") % {"error": exc.error}) from exc
        except NETWORK_FAILURES as exc:
            self._exchange("GET", url, started, page=self.page, error=type(exc).__name__)
            # Not `exc`: its text holds the whole address, query values (keys, signatures) included.
            logger.warning(
                "source %s: GET %s: no answer (%s)", self.key, redact_url(url, self.kept_params), type(exc).__name__
            )
            raise Retryable(_("No answer from the source (%(error)s).") % {"error": type(exc).__name__}) from exc
        self._exchange(
            "GET", response.url, started, page=self.page, status=response.status_code, size=len(response.content)
        )
        logger.info(
            "source %s: GET %s -> %s in %.0f ms %s",
            self.key,
            redact_url(response.url, self.kept_params),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            json.dumps(redact_headers(response.headers)),
        )
        return response

    def _read(self, response):
        status = response.status_code
        url = redact_url(response.url, self.kept_params)
        if status == 429 or status >= 500:
            # RFC 9110 §10.2.3: with a 503 too, Retry-After says how long the service expects to be away.
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            # Longer than that and the silent-worker sweep would take the waiting run back.
            if wait is not None and wait > settings.AMPARO_WORKER_SILENCE_SECONDS / 2:
                raise Refused(_("The source asks us to wait %(seconds)d s before asking again.") % {"seconds": wait})
            if status != 429:
                raise Retryable(_("The source answered %(status)d.") % {"status": status}, retry_after=wait)
            self.stats.throttled += 1
            raise Throttled(_("The source asks us to slow down (429)."), retry_after=wait)
        if status >= 400:
            raise RefusedPage(_("The source refused %(url)s: %(status)d.") % {"url": url, "status": status}, status)
        content = response.content
        self.stats.bytes += len(content)
        try:
            body = orjson.loads(content) if content.strip() else None
        except ValueError as exc:
            raise Retryable(_("The page at %(url)s is not valid JSON.") % {"url": url}) from exc
        return Page(url=url, status=status, content=content, body=body, response=response)


class _TripCounter:
    def __init__(self, stats):
        self.stats = stats

    def before_call(self, breaker, func, *args, **kwargs):
        pass

    def success(self, breaker):
        pass

    def failure(self, breaker, exception):
        pass

    def state_change(self, breaker, old, new):
        if new is not None and new.name == "open":
            self.stats.breaker_trips += 1
            logger.warning("source circuit breaker %s opened", breaker.name)
