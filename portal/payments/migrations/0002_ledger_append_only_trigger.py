from django.db import migrations

from portal.core.triggers import refuse_changes_operation


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        refuse_changes_operation(
            table="payments_ledgerentry",
            function="ledger_entry_refuse_change",
            trigger="ledger_entry_append_only",
            message="append-only",
        )
    ]
