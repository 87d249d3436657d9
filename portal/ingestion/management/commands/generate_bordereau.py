import json

from django.core.management.base import BaseCommand, CommandError

from portal.ingestion.fields import Kind
from portal.ingestion.samples.generator import FORMATS, generate


class Command(BaseCommand):
    help = (
        "Write a realistic, messy risk or claims bordereau (CSV or XLSX) for tests, demos and benchmarks: "
        "column names, order, title rows, delimiter, encoding, date and number styles chosen per file from "
        "the seed; --bad-rate makes that fraction of the rows invalid. Prints one JSON line with the choices "
        "made and the counts an import should find."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--rows", type=int, required=True, help="data rows (not counting titles, header, totals)")
        parser.add_argument("--kind", choices=[Kind.RISK, Kind.CLAIMS], default=Kind.RISK)
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name (.xlsx), else csv")
        parser.add_argument("--seed", type=int, default=0, help="the same seed writes the same file")
        parser.add_argument("--bad-rate", type=float, default=0.0, help="fraction of rows made invalid (0..1)")
        parser.add_argument(
            "--revision",
            type=int,
            default=0,
            help="a corrected resubmission: same keys and layout, changed premiums / reserves",
        )

    def handle(self, *args, path, rows, kind, seed, bad_rate, revision, **options):
        fmt = options["format"] or ("xlsx" if path.lower().endswith(".xlsx") else "csv")
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        if not 0 <= bad_rate <= 1:
            raise CommandError("--bad-rate must be between 0 and 1")
        try:
            summary = generate(path, rows=rows, kind=kind, fmt=fmt, seed=seed, bad_rate=bad_rate, revision=revision)
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror or error}") from error
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
