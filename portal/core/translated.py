"""Reading what administrators type in two languages (django-modeltranslation) through a relation.

A registered model's own attribute (`product.name`) already gives the active language's text and the
other one when it is empty. A query over another model that reaches it through a relation
(`policy__product__name`) reads the database columns, so it names them here.
"""

from django.conf import settings
from django.db.models import CharField, F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language
from modeltranslation.utils import build_localized_fieldname


def _languages():
    active = get_language() or settings.LANGUAGE_CODE
    codes = [code for code, _name in settings.LANGUAGES]
    first = active if active in codes else settings.MODELTRANSLATION_DEFAULT_LANGUAGE
    return [first, *(code for code in codes if code != first)]


def translated_columns(path):
    """The columns of a translated field through a relation, for `.only()`: every language's."""
    return [build_localized_fieldname(path, code) for code in _languages()]


def translated(path):
    """An expression for a translated field through a relation: the active language's text, else the
    other language's, else the column as first typed."""
    columns = [
        NullIf(F(build_localized_fieldname(path, code)), Value(""), output_field=CharField()) for code in _languages()
    ]
    return Coalesce(*columns, F(path), output_field=CharField())
