"""Production: every value from the environment; refuses to start without the essentials."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_int, env_list

DEBUG = False
if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of at least 50 characters")
if not env("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names the portal answers on")

AMPARO_REQUIRE_2FA = env_bool("AMPARO_REQUIRE_2FA", True)
if not CACHE_URL:
    raise ImproperlyConfigured(
        "REDIS_URL (or CACHE_URL) must be set in production: every web process counts sign-in attempts there"
    )
if not env("HUEY_URL"):
    raise ImproperlyConfigured(
        "HUEY_URL must be set in production (redis://... or postgresql://...): tasks queued in a local file "
        "would never reach the workers on other machines"
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 8 * 60 * 60)
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
if {"console", "locmem", "dummy", "filebased"} & set(EMAIL_BACKEND.split(".")):
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND {EMAIL_BACKEND!r} does not deliver mail: production must send receipts and codes"
    )
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)

ADMINS = [("Amparo operations", address) for address in env_list("DJANGO_ADMINS")]
