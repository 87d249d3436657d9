"""Every environment variable the code reads is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READERS = re.compile(
    r"""\b(?:env|env_bool|env_int|env_list|os\.environ\.get|os\.environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
NOT_SETTINGS = {"CI", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _variables_read_by_the_code():
    names = set()
    for folder in ("portal", "bench", "tasks", "api"):
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).exists() else []:
            names.update(READERS.findall(path.read_text()))
    names.update(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", (ROOT / "Procfile").read_text()))
    return names - NOT_SETTINGS


def _variables_documented():
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}


def test_every_variable_the_code_reads_is_in_env_example():
    missing = _variables_read_by_the_code() - _variables_documented()
    assert not missing, f"add these to .env.example: {sorted(missing)}"


def test_env_example_lists_no_variable_the_code_ignores():
    unused = _variables_documented() - _variables_read_by_the_code()
    assert not unused, f"remove these from .env.example or use them: {sorted(unused)}"


def test_env_example_holds_no_real_secret():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"\s*[A-Z_]*(PASSWORD|SECRET)[A-Z_]*=", line):
            assert "change-me" in line, line
