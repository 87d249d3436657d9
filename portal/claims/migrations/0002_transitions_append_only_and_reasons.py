from django.db import migrations

from portal.core.triggers import refuse_changes_operation

# The reasons a new installation starts with; administrators edit the list in the Django admin.
DEFAULT_REASONS = [
    ("not-covered", "The loss is not covered by the policy"),
    ("exclusion", "An exclusion of the policy applies"),
    ("below-deductible", "The loss is below the deductible"),
    ("late-notice", "The loss was reported too late"),
    ("no-evidence", "The loss could not be substantiated"),
    ("misrepresentation", "Misrepresentation or fraud"),
]


def add_default_reasons(apps, schema_editor):
    RejectionReason = apps.get_model("claims", "RejectionReason")
    for position, (code, label) in enumerate(DEFAULT_REASONS):
        RejectionReason.objects.get_or_create(code=code, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("claims", "0001_initial")]

    operations = [
        refuse_changes_operation(
            table="claims_claimtransition",
            function="claims_transition_refuse_changes",
            trigger="claims_transition_append_only",
            message="append-only",
        ),
        migrations.RunPython(add_default_reasons, migrations.RunPython.noop),
    ]
