import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.ingestion.models import Source
from portal.ingestion.sources.clients import source_client_create
from portal.ingestion.sources.models import SourceClient


class Command(BaseCommand):
    help = (
        "Give a source an OAuth2 client (client credentials) for POST /api/v1/bordereaux/ and the reads beside "
        "it. Prints one JSON line with client_id and client_secret: the secret is shown this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the source's name")
        parser.add_argument(
            "--scope", action="append", choices=[SourceClient.WRITE, SourceClient.READ], help="default: both"
        )

    def handle(self, *args, name, scope, **options):
        source = Source.objects.filter(name__iexact=name).first()
        if source is None:
            raise CommandError(f"No source named {name!r}.")
        try:
            _client, client_id, secret = source_client_create(
                actor=None, source=source, scopes=tuple(scope or (SourceClient.WRITE, SourceClient.READ))
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(json.dumps({"source": source.name, "client_id": client_id, "client_secret": secret}))
