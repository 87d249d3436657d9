"""The reports' demo data: the monthly finance pack, run as finance and emailed to finance, and one
report already generated so the runs list is not empty."""

from django.db import transaction

from portal.accounts.models import User

from .models import ReportSchedule
from .services import FINANCE_PACK, report_schedule_create

FINANCE_PACK_NAME = "Paquete financiero mensual"


@transaction.atomic
def seed_demo_reports():
    if ReportSchedule.objects.filter(name=FINANCE_PACK_NAME).exists():
        return
    finance = User.objects.get(email_primary="finance@amparo.demo")
    admin = User.objects.get(email_primary="admin@amparo.demo")
    report_schedule_create(
        name=FINANCE_PACK_NAME,
        reports=FINANCE_PACK,
        fmt="pdf",
        day_of_month=1,
        recipients=["finance@amparo.demo", "finance2@amparo.demo"],
        owner=finance,
        actor=admin,
    )
