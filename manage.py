#!/usr/bin/env python
import os
import sys


def main():
    if "DJANGO_SETTINGS_MODULE" not in os.environ and os.environ.get("DATABASE_URL"):
        # A deployment (it names its database) must say which settings it runs: falling back to the
        # development ones would mean DEBUG on, an insecure key and emails printed instead of sent.
        sys.exit(
            "DATABASE_URL is set but DJANGO_SETTINGS_MODULE is not: set it to portal.settings.production "
            "(or portal.settings.dev to develop against that database)."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
