"""What administrators type has a Spanish and an English text (django-modeltranslation): product and
coverage names and descriptions, rejection reason labels. The user's language picks one, the other
stands in when it is empty, and the migration carried every earlier text into both."""

import importlib
from io import BytesIO

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from portal.claims.models import RejectionReason
from portal.policies.documents import policy_document_pdf
from portal.policies.models import Coverage, Product

from .factories import ProductFactory, issue_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def bilingual_product():
    product = ProductFactory(code="AUTO")
    Product.objects.filter(pk=product.pk).update(name_es_co="Auto Total", name_en="Comprehensive Motor")
    product.refresh_from_db()
    return product


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_a_product_shows_the_text_of_the_active_language(bilingual_product):
    with translation.override("es-co"):
        assert Product.objects.get(pk=bilingual_product.pk).name == "Auto Total"
    with translation.override("en"):
        assert Product.objects.get(pk=bilingual_product.pk).name == "Comprehensive Motor"


def test_a_text_without_its_english_shows_the_spanish_one():
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(name_es_co="Hogar Protegido", name_en="")
    with translation.override("en"):
        assert Product.objects.get(pk=product.pk).name == "Hogar Protegido"


def test_the_policy_list_and_the_policy_document_name_the_product_in_the_users_language(
    client, agent, bilingual_product
):
    policy = issue_policy(product=bilingual_product, actor=agent, agent=agent)
    client.force_login(agent)

    spanish = in_language(client, "es-co").get(reverse("policies:policy_list")).content.decode()
    english = in_language(client, "en").get(reverse("policies:policy_list")).content.decode()
    assert "Auto Total" in spanish and "Comprehensive Motor" not in spanish
    assert "Comprehensive Motor" in english

    for language, name in (("es-co", "Auto Total"), ("en", "Comprehensive Motor")):
        pdf = policy_document_pdf(version=policy.current_version, language=language)
        assert name in PdfReader(BytesIO(pdf)).pages[0].extract_text()


def test_the_policy_export_names_the_product_in_the_users_language(client, agent, bilingual_product):
    issue_policy(product=bilingual_product, actor=agent, agent=agent)
    client.force_login(agent)

    csv = b"".join(in_language(client, "en").get(reverse("policies:policy_export", args=["csv"])).streaming_content)

    assert "Comprehensive Motor" in csv.decode("utf-8-sig")


def test_the_starting_rejection_reasons_read_in_spanish_and_english():
    reason = RejectionReason.objects.order_by("position").first()
    with translation.override("en"):
        english = str(RejectionReason.objects.get(pk=reason.pk))
    with translation.override("es-co"):
        spanish = str(RejectionReason.objects.get(pk=reason.pk))
    assert english == reason.label_en
    assert spanish == reason.label_es_co
    assert english != spanish


def _historical_apps(app_label, migration_name):
    """The models as the migration `migration_name` sees them (plain fields, no translation descriptors)."""
    return MigrationExecutor(connection).loader.project_state((app_label, migration_name)).apps


def test_the_migration_carries_each_products_and_coverages_text_into_both_languages():
    product = ProductFactory()
    coverage = Coverage.objects.filter(product=product).first()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE policies_product SET name = %s, description = %s, name_en = NULL, name_es_co = NULL, "
            "description_en = NULL, description_es_co = NULL WHERE id = %s",
            ["Moto Segura", "Para motos.", product.pk],
        )
        cursor.execute(
            "UPDATE policies_coverage SET name = %s, name_en = NULL, name_es_co = NULL WHERE id = %s",
            ["Daños a terceros", coverage.pk],
        )
    migration = importlib.import_module("portal.policies.migrations.0007_texts_in_spanish_and_english")

    migration.carry_texts_into_both_languages(_historical_apps("policies", "0007_texts_in_spanish_and_english"), None)

    product = Product.objects.values("name_es_co", "name_en", "description_es_co", "description_en").get(pk=product.pk)
    assert product == {
        "name_es_co": "Moto Segura",
        "name_en": "Moto Segura",
        "description_es_co": "Para motos.",
        "description_en": "Para motos.",
    }
    assert Coverage.objects.values_list("name_es_co", "name_en").get(pk=coverage.pk) == (
        "Daños a terceros",
        "Daños a terceros",
    )


def test_the_migration_gives_the_starting_reasons_the_catalogues_spanish_and_keeps_custom_ones_as_typed():
    starting = RejectionReason.objects.order_by("position").first()
    custom = RejectionReason.objects.create(code="custom", label_en="x", position=99)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_rejectionreason SET label = %s, label_en = NULL, label_es_co = NULL WHERE id = %s",
            ["Misrepresentation or fraud", starting.pk],
        )
        cursor.execute(
            "UPDATE claims_rejectionreason SET label = %s, label_en = NULL, label_es_co = NULL WHERE id = %s",
            ["Póliza vencida", custom.pk],
        )
    migration = importlib.import_module("portal.claims.migrations.0006_texts_in_spanish_and_english")

    migration.carry_labels_into_both_languages(_historical_apps("claims", "0006_texts_in_spanish_and_english"), None)

    assert RejectionReason.objects.values_list("label_en", "label_es_co").get(pk=starting.pk) == (
        "Misrepresentation or fraud",
        "Reticencia, inexactitud o fraude",
    )
    assert RejectionReason.objects.values_list("label_en", "label_es_co").get(pk=custom.pk) == (
        "Póliza vencida",
        "Póliza vencida",
    )
