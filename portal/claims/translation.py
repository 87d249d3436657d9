"""The rejection reasons administrators keep, in Spanish and English (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from .models import RejectionReason


@register(RejectionReason)
class RejectionReasonTranslationOptions(TranslationOptions):
    fields = ("label",)
