"""Cedants' systems as OAuth2 clients of our own authorization server (django-oauth-toolkit): one
confidential application per source, client credentials only, its secret shown once and stored
hashed; the scopes a token may carry are those of its source's client (`SourceScopes`)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import SettingsScopes

from portal.audit.services import audit_record

from .models import SourceClient


class SourceScopes(SettingsScopes):
    """A token asks for scopes; it gets no more than its application's source client allows."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        known = super().get_available_scopes(application, request, *args, **kwargs)
        client = SourceClient.objects.filter(application=application).first() if application else None
        if client is None:
            return []
        return [scope for scope in known if scope in client.scopes.split()]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request, *args, **kwargs)


@transaction.atomic
def source_client_create(*, actor, source, scopes=(SourceClient.WRITE, SourceClient.READ)):
    """A new OAuth2 client for `source`: (client, client_id, client_secret). The secret is returned
    this once; only its hash is kept."""
    if SourceClient.objects.filter(source=source).exists():
        raise ValidationError(_("This source already has an API client."))
    unknown = set(scopes) - {SourceClient.WRITE, SourceClient.READ}
    if unknown or not scopes:
        raise ValidationError(_("Choose bordereaux:write and/or bordereaux:read."))
    secret = generate_client_secret()
    Application = get_application_model()
    application = Application.objects.create(
        name=f"{source.name} (bordereaux)"[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    client = SourceClient.objects.create(source=source, application=application, scopes=" ".join(scopes))
    audit_record(
        actor=actor,
        action="ingestion.source_client_created",
        target=client,
        metadata={"source": source.name, "client_id": application.client_id, "scopes": list(scopes)},
    )
    return client, application.client_id, secret
