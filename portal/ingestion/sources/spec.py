"""A source's connection spec: read from YAML or JSON, checked against spec.schema.json (the public
contract, shipped with the project and documented in the README), with messages that say where."""

import json
from functools import cache
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")


@cache
def _validator():
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def spec_schema():
    return _validator().schema


def spec_parse(text):
    """The spec in `text` (YAML or JSON), checked; ValidationError says what is wrong. Text that opens
    with `{` is read as JSON first: JSON is YAML only without tabs and with keys under 1,024 characters."""
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        try:
            return spec_check(json.loads(text.lstrip("\ufeff")))
        except ValueError:
            pass  # not JSON after all: YAML's flow mappings open with `{` too
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(_("The spec is not valid YAML or JSON: %(error)s") % {"error": exc}) from exc
    return spec_check(spec)


def spec_check(spec):
    if not isinstance(spec, dict):
        raise ValidationError(_("The spec must be a mapping of settings (name, kind, base_url...)."))
    errors = sorted(_validator().iter_errors(spec), key=lambda error: list(error.absolute_path))
    if errors:
        raise ValidationError([_error_message(error) for error in errors[:10]])
    return spec


def _error_message(error):
    where = ".".join(str(part) for part in error.absolute_path) or _("(top level)")
    if error.validator == "not" and error.validator_value == {"$ref": "#/$defs/userinfo"}:
        return _(
            "%(where)s: the address must not hold a user or password (user:password@); put credentials in auth."
        ) % {"where": where}
    return f"{where}: {error.message}"
