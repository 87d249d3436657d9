from django.db import migrations

from portal.core.triggers import refuse_changes_operation


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        refuse_changes_operation(
            table="audit_auditevent",
            function="audit_event_refuse_change",
            trigger="audit_event_append_only",
            message="append-only",
        )
    ]
