import argparse
import importlib
import os
import sys

BENCHMARKS = {
    "api": "bench.api",
    "audit": "bench.audit",
    "claims": "bench.claims",
    "ingestion": "bench.ingestion",
    "ingestion_api": "bench.ingestion_api",
    "loans": "bench.loans",
    "outbox": "bench.outbox",
    "policies": "bench.policies",
    "policy_document": "bench.policy_document",
    "reports": "bench.reports",
    "soak": "bench.soak",
    "webhooks": "bench.webhooks",
}


def main():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    args, rest = parser.parse_known_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    module = importlib.import_module(BENCHMARKS[args.name])
    module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
