import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import User, UserStatus


class UserTable(tables.Table):
    full_name = tables.LinkColumn("accounts:user_detail", args=[tables.A("pk")], verbose_name=_("Name"))
    email_primary = tables.Column(verbose_name=_("Email"))
    role = tables.Column(verbose_name=_("Role"))
    team = tables.Column(verbose_name=_("Team"), order_by=("team__name",))
    status = tables.Column(verbose_name=_("Status"))
    has_two_factor = tables.BooleanColumn(verbose_name=_("2FA"), orderable=False)
    last_login = tables.DateTimeColumn(verbose_name=_("Last sign-in"), format="SHORT_DATETIME_FORMAT")

    class Meta:
        model = User
        fields = ["full_name", "email_primary", "role", "team", "status", "has_two_factor", "last_login"]
        order_by = "full_name"

    def render_status(self, record):
        css = "success" if record.status == UserStatus.ACTIVE else "secondary"
        if record.status == UserStatus.SUSPENDED:
            css = "danger"
        return format_html('<span class="badge text-bg-{}">{}</span>', css, record.get_status_display())
