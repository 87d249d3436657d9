import time

from django.core.management.base import BaseCommand

from portal.accounts.demo import DEMO_PASSWORD
from portal.dashboard.demo import seed_demo, seed_demo_scale


class Command(BaseCommand):
    help = "Create demo data for every role (idempotent); --scale N adds N rows per volume table, in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=0, help="rows to create per volume table (bulk inserts)")
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")

    def handle(self, *args, scale, quiet_logins, **options):
        logins = seed_demo()
        if scale:
            started = time.perf_counter()
            results = seed_demo_scale(scale)
            for label, created in results.items():
                self.stdout.write(f"scale: {created} new {label}")
            self.stdout.write(f"scale: done in {time.perf_counter() - started:.1f} s")
        if not quiet_logins:
            self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
            for email, role in logins:
                self.stdout.write(f"  {role:<14} {email}")
