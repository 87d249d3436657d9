"""What administrators type about products and coverages, in Spanish and English (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Coverage, Product


@register(Product)
class ProductTranslationOptions(TranslationOptions):
    fields = ("name", "description")


@register(Coverage)
class CoverageTranslationOptions(TranslationOptions):
    fields = ("name", "description")
