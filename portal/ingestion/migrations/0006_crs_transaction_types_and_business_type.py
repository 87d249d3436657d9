"""Risk rows in the Coverholder Reporting Standards' own words: the transaction type becomes the
kind of premium movement (Original, Additional, Return Premium...), new business or renewal a field
of its own, and each row gets its transaction's effective date, which joins the natural key.

Stored rows are converted as an import reads the earlier words now (fields.LEGACY_TRANSACTION_TYPES):
New and Renewal become an Original Premium of that type of business; Endorsement and Adjustment an
Additional Premium (stored premiums were never negative); Cancellation a Return Premium, whose
premiums are then stored negative. An Adjustment of a certificate that also has an Endorsement in
the same bordereau would then share its key: it keeps its word. The effective date is the risk's
inception date, as for a file that gives none. The risk totals are summed again for the signs.
A row error's column grows to 255 characters: a duplicate's names the five columns of the key.
"""

from django.db import migrations, models
from django.db.models import Count, Sum

CONVERSIONS = (
    # (condition, assignments)
    (
        "transaction_type IN ('New', 'Renewal')",
        "business_type = transaction_type, transaction_type = 'Original Premium'",
    ),
    ("transaction_type = 'Endorsement'", "transaction_type = 'Additional Premium'"),
    (
        "transaction_type = 'Adjustment' AND NOT EXISTS (SELECT 1 FROM ingestion_riskrow other "
        "WHERE other.transaction_type IN ('Endorsement', 'Additional Premium') "
        "AND other.certificate_ref = ingestion_riskrow.certificate_ref AND other.umr = ingestion_riskrow.umr "
        "AND other.source_id = ingestion_riskrow.source_id AND other.period = ingestion_riskrow.period)",
        "transaction_type = 'Additional Premium'",
    ),
    (
        "transaction_type = 'Cancellation'",
        "transaction_type = 'Return Premium', gross_premium = -ABS(gross_premium), "
        "net_premium = -ABS(net_premium), total_taxes = -ABS(total_taxes)",
    ),
)


def convert_stored_rows(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE ingestion_riskrow SET transaction_date = inception_date")
        for condition, assignments in CONVERSIONS:
            cursor.execute(f"UPDATE ingestion_riskrow SET {assignments} WHERE {condition}")  # noqa: S608 - our constants
    RiskRow, RiskTotal = apps.get_model("ingestion", "RiskRow"), apps.get_model("ingestion", "RiskTotal")
    RiskTotal.objects.all().delete()
    lines = RiskRow.objects.values("source_id", "period", "currency", "class_of_business").annotate(
        rows=Count("id"),
        sum_insured=Sum("sum_insured"),
        gross_premium=Sum("gross_premium"),
        net_premium=Sum("net_premium"),
    )
    RiskTotal.objects.bulk_create((RiskTotal(**line) for line in lines.order_by()), batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0005_bordereau_totals"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="riskrow", name="risk_row_natural_key"),
        migrations.AlterField(
            model_name="riskrow",
            name="transaction_type",
            field=models.CharField(max_length=60, verbose_name="transaction type"),
        ),
        migrations.AddField(
            model_name="riskrow",
            name="business_type",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="type of business"),
        ),
        migrations.AddField(
            model_name="riskrow",
            name="transaction_date",
            field=models.DateField(null=True, verbose_name="effective date of transaction"),
        ),
        migrations.RunPython(convert_stored_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="riskrow",
            name="transaction_date",
            field=models.DateField(verbose_name="effective date of transaction"),
        ),
        migrations.AlterField(
            model_name="rowerror",
            name="column",
            field=models.CharField(blank=True, max_length=255, verbose_name="column"),
        ),
        migrations.AddConstraint(
            model_name="riskrow",
            constraint=models.UniqueConstraint(
                fields=[
                    "certificate_ref",
                    "umr",
                    "transaction_type",
                    "business_type",
                    "transaction_date",
                    "source",
                    "period",
                ],
                name="risk_row_natural_key",
            ),
        ),
    ]
