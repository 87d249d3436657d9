"""Settings shared by every environment. Everything that differs comes from the environment.

`dev` (the zero-setup `make run` path), `test` and `production` import this module and
override only what must differ; `.env.example` lists every variable read here.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name, default=None):
    return os.environ.get(name, default)


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def huey_settings(url, *, name, immediate=False, workers=2):
    """Pick the huey storage from a URL: sqlite:///path, redis://..., or postgresql://..."""
    consumer = {"workers": workers, "worker_type": "thread", "periodic": True}
    if url.startswith(("redis://", "rediss://")):
        return {
            "huey_class": "huey.RedisHuey",
            "name": name,
            "url": url,
            "immediate": immediate,
            "consumer": consumer,
        }
    if url.startswith(("postgres://", "postgresql://")):
        return {
            "huey_class": "huey.contrib.sql_huey.SqlHuey",
            "name": name,
            "database": url.replace("postgres://", "postgresql://", 1),
            "immediate": immediate,
            "consumer": consumer,
        }
    if url.startswith("sqlite:///"):
        filename = Path(url.removeprefix("sqlite:///"))
        # SQLite makes the file but not its folder (a fresh clone has no var/ until something makes it).
        filename.parent.mkdir(parents=True, exist_ok=True)
        return {
            "huey_class": "huey.SqliteHuey",
            "name": name,
            "filename": str(filename),
            "immediate": immediate,
            "consumer": consumer,
        }
    raise ImproperlyConfigured(f"HUEY_URL must start with sqlite:///, redis:// or postgresql://, got {url!r}")


SECRET_KEY = env("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Before the admin: its translation fields (name_es_co, name_en) show in the admin's forms.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_guid",
    "huey.contrib.djhuey",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "portal.core",
    "portal.accounts",
    "portal.audit",
    "portal.notifications",
    "portal.outbox",
    "portal.ingestion",
    "portal.customers",
    "portal.policies",
    "portal.claims",
    "portal.payments",
    "portal.loans",
    "portal.gateways",
    "portal.integrations",
    "portal.reports",
    "portal.dashboard",
    "portal.operations",
]

MIDDLEWARE = [
    # First and last: request counts and latency by view for /metrics (portal.operations).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "portal.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.core.uploads.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LocaleMiddleware would follow Accept-Language; this one reads the user's preference.
    "portal.accounts.middleware.LanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.accounts.middleware.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
    # After authentication and the second factor: it reads who the user is to route list pages' reads.
    "portal.core.db_router.ReplicaRoutingMiddleware",
    "portal.core.request_metrics.RequestMetricsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.dashboard.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'amparo.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Short write transactions from the web server and the huey consumer share one file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The same backends, timing every query for /metrics.
METRICS_DATABASE_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
DATABASES["default"]["ENGINE"] = METRICS_DATABASE_ENGINES.get(
    DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]
)
# Read replicas (streaming replicas of the primary): list pages and reports read from them
# (portal.core.db_router); a user's reads stay on the primary for AMPARO_REPLICA_STICKY_SECONDS after a write.
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS")
for _index, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _replica = dj_database_url.parse(_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True)
    _replica["ENGINE"] = METRICS_DATABASE_ENGINES.get(_replica["ENGINE"], _replica["ENGINE"])
    # Under test a replica is the test database itself (the real streaming replica has a test of its own).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["portal.core.db_router.ReplicaRouter"]
AMPARO_REPLICA_STICKY_SECONDS = env_int("AMPARO_REPLICA_STICKY_SECONDS", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: staff sign in with their primary email; there is no self sign-up.
ACCOUNT_ADAPTER = "portal.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_MODEL_EMAIL_FIELD = "email_primary"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# django-axes owns failed-login lockout; allauth's own counter would race it with other numbers.
ACCOUNT_RATE_LIMITS = {"login_failed": None}

# Second factor: staff must enrol a TOTP device when this is on.
AMPARO_REQUIRE_2FA = env_bool("AMPARO_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Amparo")

# Lockout after repeated failed sign-ins, per email and IP address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "portal.accounts.lockout.username_from_credentials"
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout.locked_out_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# How many reverse proxies (load balancer, nginx) stand in front of gunicorn, each appending to
# X-Forwarded-For. One number drives the lockout, allauth's rate limits, webhook throttles and the
# audit trail's addresses (portal.core.client_address); 0 believes only the socket's address.
AMPARO_TRUSTED_PROXY_COUNT = env_int("AMPARO_TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "portal.core.client_address.client_address"
ALLAUTH_TRUSTED_PROXY_COUNT = AMPARO_TRUSTED_PROXY_COUNT

# Correlation id: accepted from X-Request-ID when it is a UUID, otherwise generated.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
}

# Spanish (Colombia) for every new session; English is one click away on the language switch and is
# remembered per user (User.language). See portal.accounts.middleware.chosen_language.
LANGUAGE_CODE = "es-co"
LANGUAGES = [("en", _("English")), ("es-co", _("Spanish (Colombia)"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# What administrators type (product, coverage and rejection reason names and descriptions) has a
# Spanish and an English text (django-modeltranslation: name_es_co, name_en); an empty one shows the other.
MODELTRANSLATION_DEFAULT_LANGUAGE = "es-co"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("es-co", "en")
# The switch's choice on a browser before anyone signs in (the sign-in page) lasts a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env("AMPARO_TIME_ZONE", "America/Bogota")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("AMPARO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Files only the app serves, after a permission check (claim documents, bordereaux): never under MEDIA_URL.
AMPARO_PRIVATE_ROOT = Path(env("AMPARO_PRIVATE_ROOT", str(BASE_DIR / "var" / "private")))
AMPARO_CLAIM_DOCUMENT_MAX_BYTES = env_int("AMPARO_CLAIM_DOCUMENT_MAX_MB", 10) * 1024 * 1024
# A profile photo sent from the app (within the request body limit below).
AMPARO_PROFILE_PHOTO_MAX_BYTES = env_int("AMPARO_PROFILE_PHOTO_MAX_MB", 2) * 1024 * 1024
# Request bodies, refused with 413 from their Content-Length before anything is read or spooled to disk
# (portal.core.uploads): any request, and the pages that take several documents at once.
AMPARO_REQUEST_BODY_MAX_BYTES = env_int("AMPARO_REQUEST_BODY_MAX_MB", 3) * 1024 * 1024
AMPARO_UPLOAD_BODY_MAX_BYTES = env_int("AMPARO_UPLOAD_BODY_MAX_MB", 50) * 1024 * 1024
# Form fields other than files (Django's own cap, stated here so it is not forgotten).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# A bordereau upload larger than this is refused before its body is read (import_bordereau on the
# server takes files up to 1 GB).
AMPARO_BORDEREAU_MAX_BYTES = env_int("AMPARO_BORDEREAU_MAX_MB", 200) * 1024 * 1024
# Days an instalment may stay unpaid before its policy lapses.
AMPARO_LAPSE_GRACE_DAYS = env_int("AMPARO_LAPSE_GRACE_DAYS", 30)
# A bulk claim action over at most this many claims runs in the request; larger ones in a huey task.
AMPARO_CLAIM_BULK_IN_REQUEST = env_int("AMPARO_CLAIM_BULK_IN_REQUEST", 50)
# Background work (imports, report runs, bulk claim actions) whose worker gave no sign of life for this
# long lost it (a consumer killed mid-task): the scheduler's sweep, every minute, queues it again.
# Longer than the slowest step between two heartbeats, or a live worker's job is queued twice.
AMPARO_WORKER_SILENCE_SECONDS = env_int("AMPARO_WORKER_SILENCE_SECONDS", 300)
# PostgreSQL parallel workers beside the leader when a bordereau import types its rows. The leader
# writes every typed row itself, so on a two-core database server one worker beats two; raise it
# with the server's cores.
AMPARO_INGESTION_TYPING_WORKERS = env_int("AMPARO_INGESTION_TYPING_WORKERS", 1)
# Web-service sources (portal/ingestion/sources): secrets typed in the portal are kept encrypted with
# these Fernet keys (comma-separated; the first encrypts, all decrypt, so a new key goes in front).
AMPARO_INGESTION_SECRET_KEYS = env("AMPARO_INGESTION_SECRET_KEYS", "")
# Raw pages of each pull are kept gzipped this many days for replays, then deleted.
AMPARO_INGESTION_PAGE_RETENTION_DAYS = env_int("AMPARO_INGESTION_PAGE_RETENTION_DAYS", 30)
# Backoff between tries of a page: random exponential from this base, at most the maximum; a
# Retry-After longer than the maximum fails the run instead of holding a worker.
AMPARO_INGESTION_RETRY_BASE_SECONDS = float(env("AMPARO_INGESTION_RETRY_BASE_SECONDS", "1"))
AMPARO_INGESTION_RETRY_MAX_SECONDS = float(env("AMPARO_INGESTION_RETRY_MAX_SECONDS", "60"))
# A source's circuit breaker opens after this many failures in a row, for the cooldown.
AMPARO_INGESTION_BREAKER_FAILURES = env_int("AMPARO_INGESTION_BREAKER_FAILURES", 8)
AMPARO_INGESTION_BREAKER_COOLDOWN_SECONDS = env_int("AMPARO_INGESTION_BREAKER_COOLDOWN_SECONDS", 60)
# An OAuth2 token is renewed this many seconds before it expires.
AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS = env_int("AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS", 60)
# Reports: how long a run's file is kept, from how many rows its requester is emailed a link when it
# ends, and the portal's address for the links in those emails (and the scheduled packs).
AMPARO_REPORT_RETENTION_DAYS = env_int("AMPARO_REPORT_RETENTION_DAYS", 7)
AMPARO_REPORT_EMAIL_MIN_ROWS = env_int("AMPARO_REPORT_EMAIL_MIN_ROWS", 50_000)
AMPARO_PORTAL_URL = env("AMPARO_PORTAL_URL", "http://127.0.0.1:8000")
# Dashboards: after a write that moves their figures, one refresh at most this often (0: periodic only).
AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = env_int("AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS", 60)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Rate-limit counters (sign-in, webhooks) and throttles live here: with several web processes it must
# be shared (Redis), or each process keeps a limit of its own. A per-process memory cache otherwise.
CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "portal.core.cache.MeasuredRedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "portal.core.cache.MeasuredLocMemCache"}}

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Amparo <no-reply@amparo.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

HUEY = huey_settings(
    env("HUEY_URL", f"sqlite:///{BASE_DIR / 'var' / 'huey.sqlite3'}"),
    name="amparo",
    workers=env_int("HUEY_WORKERS", 2),
)

# Wompi (cards, Nequi, PSE). The sandbox is the default; production keys start with pub_prod_ / prv_prod_.
WOMPI_API_URL = env("WOMPI_API_URL", "https://sandbox.wompi.co/v1")
WOMPI_PUBLIC_KEY = env("WOMPI_PUBLIC_KEY", "")
WOMPI_PRIVATE_KEY = env("WOMPI_PRIVATE_KEY", "")
WOMPI_EVENTS_SECRET = env("WOMPI_EVENTS_SECRET", "")
WOMPI_INTEGRITY_SECRET = env("WOMPI_INTEGRITY_SECRET", "")
WOMPI_CONNECT_TIMEOUT_SECONDS = float(env("WOMPI_CONNECT_TIMEOUT_SECONDS", "3.05"))
WOMPI_READ_TIMEOUT_SECONDS = float(env("WOMPI_READ_TIMEOUT_SECONDS", "10"))
WOMPI_ATTEMPTS = env_int("WOMPI_ATTEMPTS", 3)
# Events signed longer ago than this are refused as replays (Wompi's last resend comes after 24 hours).
WOMPI_EVENT_MAX_AGE_SECONDS = env_int("WOMPI_EVENT_MAX_AGE_SECONDS", 7 * 24 * 3600)
# Before an approval event becomes a payment, Wompi's GET /transactions/{id} must say APPROVED too.
WOMPI_CONFIRM_APPROVALS = env_bool("WOMPI_CONFIRM_APPROVALS", True)
# Per source address and hour: deliveries kept without being applied (refused, or of a type Amparo
# ignores); past it they are answered 429 and not stored. Counted in the default cache.
WOMPI_UNAPPLIED_EVENTS_PER_HOUR = env_int("WOMPI_UNAPPLIED_EVENTS_PER_HOUR", 120)

# The credit bureau the loans' credit check asks (protocol in portal/loans/bureau.py). While the URL is
# empty every check fails as "bureau not configured" and waits: a loan never passes unchecked.
AMPARO_CREDIT_BUREAU_URL = env("AMPARO_CREDIT_BUREAU_URL", "")
AMPARO_CREDIT_BUREAU_KEY = env("AMPARO_CREDIT_BUREAU_KEY", "")
AMPARO_CREDIT_BUREAU_CONNECT_TIMEOUT_SECONDS = float(env("AMPARO_CREDIT_BUREAU_CONNECT_TIMEOUT_SECONDS", "3.05"))
AMPARO_CREDIT_BUREAU_READ_TIMEOUT_SECONDS = float(env("AMPARO_CREDIT_BUREAU_READ_TIMEOUT_SECONDS", "10"))
AMPARO_CREDIT_BUREAU_ATTEMPTS = env_int("AMPARO_CREDIT_BUREAU_ATTEMPTS", 3)

# The insurer's core system (CASSE; docs/casse-protocol.md). Sync is off while CASSE_API_URL is empty:
# no outbox message is written for it and nothing is sent or pulled.
CASSE_API_URL = env("CASSE_API_URL", "")
# OAuth2 client credentials for the core's token endpoint.
CASSE_TOKEN_URL = env("CASSE_TOKEN_URL", "")
CASSE_CLIENT_ID = env("CASSE_CLIENT_ID", "")
CASSE_CLIENT_SECRET = env("CASSE_CLIENT_SECRET", "")
CASSE_CONNECT_TIMEOUT_SECONDS = float(env("CASSE_CONNECT_TIMEOUT_SECONDS", "3.05"))
CASSE_READ_TIMEOUT_SECONDS = float(env("CASSE_READ_TIMEOUT_SECONDS", "10"))
# A message that failed this many times is DEAD (it holds back its policy's later messages until a
# person retries or skips it). Failed tries wait 2^n x the base, with jitter, up to the maximum.
CASSE_MAX_ATTEMPTS = env_int("CASSE_MAX_ATTEMPTS", 10)
CASSE_RETRY_BASE_SECONDS = env_int("CASSE_RETRY_BASE_SECONDS", 30)
CASSE_RETRY_MAX_SECONDS = env_int("CASSE_RETRY_MAX_SECONDS", 3600)
# The circuit breaker opens after this many failures in a row (no answer, 5xx, 429), waits the cooldown,
# then probes; each failed probe doubles the wait, up to CASSE_RETRY_MAX_SECONDS.
CASSE_BREAKER_FAILURES = env_int("CASSE_BREAKER_FAILURES", 5)
CASSE_BREAKER_COOLDOWN_SECONDS = env_int("CASSE_BREAKER_COOLDOWN_SECONDS", 30)
# The daily reconciliation lists policies and payments the core has not acknowledged after this long.
CASSE_RECONCILE_AFTER_MINUTES = env_int("CASSE_RECONCILE_AFTER_MINUTES", 60)
# A relay worker claims up to OUTBOX_BATCH_SIZE messages for OUTBOX_LEASE_SECONDS: a worker that dies
# leaves them SENT until the lease ends, then another sends them again (same idempotency key).
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 20)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)

# --- API sign-in (JWT + one-time codes) ---
# Access tokens are short and carry an audience and the user's token version (checked on every request,
# so logout, a password change or a suspension ends them at once); refresh tokens are single-use and
# rotate within a family (portal.accounts.services.tokens). The signing key is SECRET_KEY unless set.
AMPARO_JWT_SIGNING_KEY = env("AMPARO_JWT_SIGNING_KEY", "")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("AMPARO_API_ACCESS_TOKEN_MINUTES", 5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("AMPARO_API_REFRESH_TOKEN_DAYS", 30)),
    "AUDIENCE": env("AMPARO_JWT_AUDIENCE", "amparo-app"),
    "ISSUER": env("AMPARO_JWT_ISSUER", "amparo"),
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
    **({"SIGNING_KEY": AMPARO_JWT_SIGNING_KEY} if AMPARO_JWT_SIGNING_KEY else {}),
}
# The API's conventions (api/): JSON in (multipart only where a view uploads files), JSON out; every
# list paginated with a capped page size (api.pagination); every refusal `{"detail": ...}` plus field
# errors (api.exceptions); the OpenAPI schema from drf-spectacular.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.AmparoJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only; an upload endpoint takes multipart with its own @parser_classes.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # No renderer picked by ?format=: the app says what it accepts in Accept, and an endpoint may give
    # `format` its own meaning (the statement's ?format=pdf).
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
# Our own OAuth2 authorization server, for cedants' systems pushing bordereaux (client credentials):
# an application per source, scopes bordereaux:write and bordereaux:read (see api/bordereaux.py).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "bordereaux:write": "Upload bordereaux for your source",
        "bordereaux:read": "Read your source's imports, row errors and rows",
    },
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("AMPARO_CEDANT_TOKEN_SECONDS", 3600),
    "SCOPES_BACKEND_CLASS": "portal.ingestion.sources.clients.SourceScopes",
    # Cedants' systems use only client credentials; everything else RFC 9700 (OAuth 2.0 Security BCP)
    # warns about is switched to its compliant behaviour.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Amparo API",
    "DESCRIPTION": "The customers' mobile app and the staff API. Sign in at /api/v1/auth/token/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the docs work with no internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" (and a "method", a "currency"): each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "QuoteStatusEnum": "portal.policies.models.QuoteStatus",
        "PolicyStatusEnum": "portal.policies.models.PolicyStatus",
        "ClaimStatusEnum": "portal.claims.models.ClaimStatus",
        "BulkJobStatusEnum": "portal.claims.models.BulkTransitionJob.Status",
        "GatewayMethodEnum": "portal.gateways.models.PaymentMethod",
        "CurrencyEnum": "portal.core.money.CURRENCIES",
        "LoanStatusEnum": "portal.loans.models.LoanStatus",
        "LoanInstalmentStatusEnum": "portal.loans.models.LoanInstalmentStatus",
        "ImportJobStatusEnum": "portal.ingestion.models.ImportJob.Status",
        "ReportRunStatusEnum": "portal.reports.models.ReportRun.Status",
    },
}
# How long an API Idempotency-Key is remembered, and after how long a request that holds one without
# finishing (a killed worker) is presumed dead, so that a retry with the key runs again.
AMPARO_API_IDEMPOTENCY_TTL_HOURS = env_int("AMPARO_API_IDEMPOTENCY_TTL_HOURS", 24)
AMPARO_API_IDEMPOTENCY_LEASE_SECONDS = env_int("AMPARO_API_IDEMPOTENCY_LEASE_SECONDS", 120)
# Two refreshes racing with one refresh token within this many seconds both get the same new pair;
# a later use of it is a replay and ends the whole sign-in.
AMPARO_API_REFRESH_GRACE_SECONDS = env_int("AMPARO_API_REFRESH_GRACE_SECONDS", 10)
# One-time codes by email: valid this long, dead after this many wrong tries, resent at most this many
# times and not sooner than the cooldown after the previous one.
AMPARO_OTP_TTL_SECONDS = env_int("AMPARO_OTP_TTL_SECONDS", 600)
AMPARO_OTP_MAX_ATTEMPTS = env_int("AMPARO_OTP_MAX_ATTEMPTS", 5)
AMPARO_OTP_RESEND_COOLDOWN_SECONDS = env_int("AMPARO_OTP_RESEND_COOLDOWN_SECONDS", 60)
AMPARO_OTP_MAX_SENDS = env_int("AMPARO_OTP_MAX_SENDS", 5)
# The sign-in, sign-up, code and password endpoints, per client address and per account, counted in
# the shared cache (DRF's rate format: "30/min", "500/hour").
AMPARO_API_AUTH_RATE_PER_ADDRESS = env("AMPARO_API_AUTH_RATE_PER_ADDRESS", "30/min")
AMPARO_API_AUTH_RATE_PER_ACCOUNT = env("AMPARO_API_AUTH_RATE_PER_ACCOUNT", "10/min")
# Customers who sign up in the app without a record are created in this agent's book (the direct book).
AMPARO_DIRECT_BOOK_AGENT_EMAIL = env("AMPARO_DIRECT_BOOK_AGENT_EMAIL", "agent@amparo.demo")

# --- Operations (portal.operations) ---
# /metrics answers a scraper that sends this as a bearer token, or one calling from an address or network
# listed here (after AMPARO_TRUSTED_PROXY_COUNT); nobody else. Under gunicorn set PROMETHEUS_MULTIPROC_DIR.
AMPARO_METRICS_TOKEN = env("AMPARO_METRICS_TOKEN", "")
AMPARO_METRICS_ALLOWED_IPS = env_list("AMPARO_METRICS_ALLOWED_IPS")
# Backups (`manage.py backup`, `manage.py restore --verify FILE`): archives go to AMPARO_BACKUP_DIR, the newest
# AMPARO_BACKUP_KEEP of them are kept; with a passphrase they are encrypted (gpg, AES-256). The huey scheduler
# takes one nightly at AMPARO_BACKUP_HOUR:30 (local time) when AMPARO_BACKUP_NIGHTLY is on; cron can instead.
AMPARO_BACKUP_DIR = Path(env("AMPARO_BACKUP_DIR", str(BASE_DIR / "var" / "backups")))
AMPARO_BACKUP_KEEP = env_int("AMPARO_BACKUP_KEEP", 14)
AMPARO_BACKUP_PASSPHRASE = env("AMPARO_BACKUP_PASSPHRASE", "")
AMPARO_BACKUP_NIGHTLY = env_bool("AMPARO_BACKUP_NIGHTLY", False)
AMPARO_BACKUP_HOUR = env_int("AMPARO_BACKUP_HOUR", 2)
# Private files on S3-compatible object storage when set (s3://bucket/prefix?endpoint_url=...&region_name=...);
# local disk under AMPARO_PRIVATE_ROOT otherwise. Downloads redirect to URLs signed for this many seconds.
AMPARO_STORAGE_URL = env("AMPARO_STORAGE_URL", "")
AMPARO_STORAGE_ACCESS_KEY = env("AMPARO_STORAGE_ACCESS_KEY", "")
AMPARO_STORAGE_SECRET_KEY = env("AMPARO_STORAGE_SECRET_KEY", "")
AMPARO_STORAGE_SIGNED_URL_SECONDS = env_int("AMPARO_STORAGE_SIGNED_URL_SECONDS", 60)
# Every upload is scanned by ClamAV's daemon at this address (tcp://host:3310 or unix:///run/clamav/clamd.ctl)
# before anything is stored; infected files are refused. Empty: scanning is off.
CLAMD_ADDRESS = env("CLAMD_ADDRESS", "")
CLAMD_TIMEOUT_SECONDS = float(env("CLAMD_TIMEOUT_SECONDS", "30"))
# Request latency buckets of every view (django-prometheus): each one is a series per view and method, the
# largest share of /metrics. Enough for a p95 per view and the thresholds that matter (100 ms, 500 ms, 1 s);
# a p95 beyond 2.5 s reads as 2.5 s, slow either way.
PROMETHEUS_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))
for _network in AMPARO_METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"AMPARO_METRICS_ALLOWED_IPS: {_network!r} is not an address or network") from exc

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-hover table-sm align-middle"}

MESSAGE_TAGS = {40: "danger"}

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation_id": {"()": "django_guid.log_filters.CorrelationId"},
        "redact_secrets": {"()": "portal.core.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["correlation_id", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own plain-text handlers so every line is JSON with a correlation id.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django_guid": {"level": "WARNING"},
        # WeasyPrint and fontTools narrate every rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
