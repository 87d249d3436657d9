import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.ingestion.sources.services import source_connection_load
from portal.ingestion.sources.spec import spec_parse


class Command(BaseCommand):
    help = (
        "Create or update a web-service source from its spec (YAML or JSON; see the README and "
        "portal/ingestion/sources/spec.schema.json). The source is named in the spec."
    )

    def add_arguments(self, parser):
        parser.add_argument("spec", help="path to SPEC.yaml or SPEC.json")

    def handle(self, *args, spec, **options):
        path = Path(spec)
        if not path.is_file():
            raise CommandError(f"No such file: {spec}")
        try:
            connection = source_connection_load(actor=None, spec=spec_parse(path.read_text(encoding="utf-8")))
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            json.dumps({"source": connection.source.name, "kind": connection.kind, "connection": connection.pk})
        )
