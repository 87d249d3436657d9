"""A source's secret (client secret, token, API key or password) is never stored in plain text: the
spec names an environment variable that holds it, or the administrator types it in the portal and it
is kept encrypted with MultiFernet under the keys in AMPARO_INGESTION_SECRET_KEYS (comma-separated,
the first one encrypts; add a new key in front, run `rotate`, then drop the old one)."""

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

# Where each kind of authentication names the environment variable of its secret.
SECRET_ENV_KEYS = {
    "oauth2_client_credentials": "client_secret_env",
    "bearer": "token_env",
    "api_key": "key_env",
    "basic": "password_env",
}


class MissingSecret(Exception):
    pass


def _fernet():
    keys = [key.strip() for key in settings.AMPARO_INGESTION_SECRET_KEYS.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(_("Set AMPARO_INGESTION_SECRET_KEYS to keep source secrets encrypted."))
    return MultiFernet([Fernet(key.encode()) for key in keys])


def secret_encrypt(plain):
    return _fernet().encrypt(plain.encode()).decode()


def secret_rotate(token):
    """The same secret encrypted under the first key (MultiFernet.rotate)."""
    return _fernet().rotate(token.encode()).decode()


def connection_secret(spec, encrypted):
    """The secret the spec's authentication needs: from its environment variable when it names one,
    else the one stored encrypted; '' when it needs none."""
    auth = spec.get("auth") or {"type": "none"}
    env_key = SECRET_ENV_KEYS.get(auth["type"])
    if env_key is None:
        return ""
    if auth.get(env_key):
        value = os.environ.get(auth[env_key], "")
        if not value:
            raise MissingSecret(
                _("The environment variable %(name)s, which holds this source's secret, is not set.")
                % {"name": auth[env_key]}
            )
        return value
    if not encrypted:
        raise MissingSecret(_("This source has no secret: name an environment variable or enter it."))
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken as exc:
        raise MissingSecret(_("This source's stored secret cannot be read with the current keys.")) from exc
