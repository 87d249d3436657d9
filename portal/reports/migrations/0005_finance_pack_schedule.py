"""Every install gets the monthly finance pack: production, earned premium, receivables ageing, claims
and loss ratio as PDF on the 1st, run as the reports' system account (no owner) and emailed to every
finance user active when it is ready. Nothing is added where a pack already exists (by its name or
its reports), so running it again, or on a database the demo seeded, adds no second one.

The pack's reports are copied here: the catalogue's FINANCE_PACK may change, this migration may not.
No audit event: installing the product is not a user's act, and django_migrations records it.
"""

from django.db import migrations
from django.db.models import Q

NAME = "Paquete financiero mensual"
PACK = ["premium_production", "earned_premium", "receivables_ageing", "claims", "loss_ratio"]


def install_finance_pack(apps, schema_editor):
    ReportSchedule = apps.get_model("reports", "ReportSchedule")
    if ReportSchedule.objects.filter(Q(name=NAME) | Q(reports=PACK)).exists():
        return
    ReportSchedule.objects.create(
        name=NAME, reports=PACK, format="pdf", day_of_month=1, recipients=[], emails_finance=True, owner=None
    )


def remove_finance_pack(apps, schema_editor):
    """Reversed, the pack this migration installed goes (its runs keep their files, without a schedule):
    0004 reversed gives every schedule an owner again, which the system account's pack has not."""
    apps.get_model("reports", "ReportSchedule").objects.filter(name=NAME, owner=None).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_schedule_emails_finance_and_system_owner")]

    operations = [migrations.RunPython(install_finance_pack, remove_finance_pack)]
