from django.db import migrations

from portal.core.triggers import refuse_changes_operation


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [
        refuse_changes_operation(
            table="policies_policyversion",
            function="policy_version_refuse_change",
            trigger="policy_version_immutable",
            message="immutable",
        )
    ]
