"""The zero-setup path (`make run`): SQLite, SQLite-backed huey, console email, local files."""

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
AMPARO_REQUIRE_2FA = env_bool("AMPARO_REQUIRE_2FA", False)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Static files come straight from the finders here; there is no collectstatic output to serve.
STATIC_ROOT = None
