# The CRS transaction types (#21) and the web-service sources and cedant clients (#17) were built side
# by side; neither touches the other's tables.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0006_crs_transaction_types_and_business_type"),
        ("ingestion", "0007_source_clients"),
    ]

    operations = []
