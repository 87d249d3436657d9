"""Test settings: PostgreSQL when DATABASE_URL points at one (CI always does), else SQLite."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, env, huey_settings

SECRET_KEY = "test-only-key-with-enough-length-and-entropy-0123456789abcdef"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
AMPARO_REQUIRE_2FA = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Static files come straight from the finders here; there is no collectstatic output to serve.
STATIC_ROOT = None
HUEY = huey_settings(
    env("HUEY_URL", f"sqlite:///{BASE_DIR / 'var' / 'huey-test.sqlite3'}"), name="amparo-test", immediate=True
)
AMPARO_PRIVATE_ROOT = Path(env("AMPARO_PRIVATE_ROOT", str(BASE_DIR / "var" / "test-private")))
# The product's default is Spanish (base.LANGUAGE_CODE). Hundreds of tests read English text from pages
# requested with no language chosen, so the test run keeps English as its default; the tests of the
# language rules (tests/test_language_preference.py) state the product default explicitly.
LANGUAGE_CODE = "en"
# The dashboards' figures are refreshed by their own tests; other tests' commits do not queue refreshes.
AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 0
