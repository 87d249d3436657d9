"""A source's secret (client secret, token, API key or password) is never stored in plain text: the
spec names an environment variable that holds it, or the administrator types it in the portal and it
is kept encrypted with MultiFernet under the keys in AMPARO_INGESTION_SECRET_KEYS (comma-separated,
the first one encrypts; add a new key in front, run `rotate`, then drop the old one)."""

import os
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _

from .models import SourceConnection

# Where each kind of authentication names the environment variable of its secret.
SECRET_ENV_KEYS = {
    "oauth2_client_credentials": "client_secret_env",
    "bearer": "token_env",
    "api_key": "key_env",
    "basic": "password_env",
}


# The only environment variables the portal's spec editor may name: an administrator on the web must
# not be able to send the server's own settings (DJANGO_SECRET_KEY...) to an address of their choosing.
# `ingestion_source_load`, run by operators with shell access, may name any.
PORTAL_SECRET_ENV_PREFIX = "AMPARO_SOURCE_SECRET_"  # noqa: S105 (a name prefix, not a secret)


class MissingSecret(Exception):
    pass


def secret_moved_message():
    return _("The address or the token endpoint changed: type the secret again, it is not sent to a new host.")


def secret_env_names(spec):
    """(setting, variable) of every environment variable `spec`'s authentication names."""
    auth = spec.get("auth") or {}
    return [(key, value) for key, value in auth.items() if key.endswith("_env") and value]


def secret_origins(spec):
    """Where the secret goes: the scheme and host (with port) of the API and of its token endpoint."""
    urls = [spec.get("base_url", ""), (spec.get("auth") or {}).get("token_url", "")]
    return {(parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()) for parts in map(urlsplit, urls)}


def secret_moved(kept_for, spec):
    """Whether `spec` sends its secret to another scheme or host than `kept_for`, the spec the stored
    secret was typed for: then it must be typed again, or it would go wherever the new address says."""
    return kept_for is not None and secret_origins(kept_for) != secret_origins(spec)


def secret_retype_needed(*, kept_for, encrypted, spec, secret):
    """Whether saving `spec` without a typed `secret` would reuse the one kept (`encrypted`, typed for
    the spec `kept_for`) on another host."""
    env_key = SECRET_ENV_KEYS.get((spec.get("auth") or {}).get("type"))
    uses_kept = env_key is not None and not spec["auth"].get(env_key)
    return uses_kept and not secret and bool(encrypted) and secret_moved(kept_for, spec)


def portal_secret_env_check(spec, *, connection=None):
    """ValidationError when `spec` (for `connection`, or a new one) names an environment variable the
    portal may not read: one outside the sources' prefix, or one another source's spec already names
    (its secret would go to whatever address this spec gives)."""
    for key, name in secret_env_names(spec):
        if not name.startswith(PORTAL_SECRET_ENV_PREFIX):
            raise ValidationError(
                _(
                    "auth.%(key)s: here only environment variables whose name starts with %(prefix)s may "
                    "hold a secret; or leave it out and type the secret below."
                )
                % {"key": key, "prefix": PORTAL_SECRET_ENV_PREFIX}
            )
        others = SourceConnection.objects.exclude(pk=getattr(connection, "pk", None)).select_related("source")
        for other in others:
            if name in dict(secret_env_names(other.spec)).values():
                raise ValidationError(
                    _("auth.%(key)s: %(name)s holds the secret of %(source)s; each source reads a variable of its own.")
                    % {"key": key, "name": name, "source": other.source.name}
                )


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


def connection_secret(spec, encrypted, *, kept_for=None):
    """The secret the spec's authentication needs: from its environment variable when it names one,
    else the one stored encrypted (for the spec `kept_for`, when it may differ from `spec`); '' when it
    needs none."""
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
    if encrypted and secret_moved(kept_for, spec):
        raise MissingSecret(secret_moved_message())
    if not encrypted:
        raise MissingSecret(_("This source has no secret: name an environment variable or enter it."))
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken as exc:
        raise MissingSecret(_("This source's stored secret cannot be read with the current keys.")) from exc
