"""Figures for the dashboard of each role. Later features add their own figures here."""

from datetime import timedelta

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import STAFF_ROLES, Role, User, UserStatus
from portal.accounts.selectors import agents_supervised_by, teams_led_by
from portal.audit.models import AuditEvent
from portal.audit.selectors import audit_activity_by_day, audit_counts_since, audit_top_actions_since
from portal.ingestion.selectors import import_figures, import_jobs_visible_to
from portal.payments.selectors import collections_figures
from portal.reports.dashboards import book_card, claims_card, loans_card, precomputed_book


def _start_of_today():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def own_security_figures(user):
    since = timezone.now() - timedelta(days=30)
    sign_in = Q(action="auth.sign_in", target_type="accounts.user", target_id=str(user.pk), occurred_at__gte=since)
    failed = Q(action="auth.sign_in_failed", actor_label=user.email_primary)
    # One read of the audit table for both figures; each side of the OR has an index of its own.
    events = AuditEvent.objects.filter(sign_in | failed).aggregate(
        sign_ins=Count("pk", filter=sign_in), last_failed=Max("occurred_at", filter=failed)
    )
    return {
        "two_factor": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "last_login": user.last_login,
        "sign_ins_30d": events["sign_ins"],
        "last_failed_sign_in": events["last_failed"],
    }


def user_population_figures():
    """Users by role and status, and the active staff without a second factor, in one grouped query."""
    without_2fa = ~Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    by_role = {
        row["role"]: row
        for row in User.objects.order_by()
        .values("role")
        .annotate(
            active=Count("id", filter=Q(status=UserStatus.ACTIVE)),
            suspended=Count("id", filter=Q(status=UserStatus.SUSPENDED)),
            pending=Count("id", filter=Q(status=UserStatus.PENDING_VERIFICATION)),
            active_without_2fa=Count("id", filter=Q(without_2fa, status=UserStatus.ACTIVE)),
        )
    }
    roles = [
        {
            "role": role,
            "label": label,
            "active": by_role.get(role, {}).get("active", 0),
            "suspended": by_role.get(role, {}).get("suspended", 0),
            "pending": by_role.get(role, {}).get("pending", 0),
        }
        for role, label in Role.choices
    ]
    staff = [by_role[role] for role in STAFF_ROLES if role in by_role]
    return {
        "roles": roles,
        "active_staff": sum(row["active"] for row in staff),
        "staff_without_2fa": sum(row["active_without_2fa"] for row in staff),
        "suspended": sum(row["suspended"] for row in by_role.values()),
    }


def admin_dashboard(user):
    return {
        "population": user_population_figures(),
        "today": audit_counts_since(_start_of_today()),
        "activity": audit_activity_by_day(days=14),
    }


def interventoria_dashboard(user):
    week_ago = timezone.now() - timedelta(days=7)
    return {
        "today": audit_counts_since(_start_of_today()),
        "week": audit_counts_since(week_ago),
        "top_actions": audit_top_actions_since(week_ago),
        "recent_sensitive": AuditEvent.objects.filter(
            action__in=["user.role_changed", "user.suspended", "user.reactivated", "auth.2fa_reset", "auth.locked_out"]
        )[:10],
        "activity": audit_activity_by_day(days=14),
        "population": user_population_figures(),
    }


def supervisor_dashboard(user):
    agents = list(agents_supervised_by(user))
    return {
        "teams": teams_led_by(user).annotate(agent_count=Count("agents", filter=Q(agents__status=UserStatus.ACTIVE))),
        "agents": agents,
        "agents_without_2fa": sum(1 for agent in agents if not agent.has_two_factor),
        "agents_signed_in_today": sum(
            1 for agent in agents if agent.last_login and agent.last_login >= _start_of_today()
        ),
    }


def agent_dashboard(user):
    team = user.team
    return {"team": team, "supervisor": team.supervisor if team else None}


def finance_dashboard(user):
    return {
        "collections": collections_figures(user),
        "clients": User.objects.filter(role=Role.CLIENT).aggregate(
            total=Count("id"),
            active=Count("id", filter=Q(status=UserStatus.ACTIVE)),
            pending=Count("id", filter=Q(status=UserStatus.PENDING_VERIFICATION)),
        ),
    }


DASHBOARDS = {
    Role.ADMIN: ("dashboard/dashboards/admin.html", admin_dashboard),
    Role.SUPERVISOR: ("dashboard/dashboards/supervisor.html", supervisor_dashboard),
    Role.AGENT: ("dashboard/dashboards/agent.html", agent_dashboard),
    Role.FINANCE: ("dashboard/dashboards/finance.html", finance_dashboard),
    Role.INTERVENTORIA: ("dashboard/dashboards/interventoria.html", interventoria_dashboard),
}


def dashboard_for(user):
    template, figures = DASHBOARDS[user.role]
    context = {**figures(user), "security": own_security_figures(user)}
    # The book, claims and loans cards read the precomputed figures (portal/reports/figures.py), not live counts.
    wants_book, wants_claims = user.has_perm("policies.view_policy"), user.has_perm("claims.view_claim")
    wants_loans = user.has_perm("loans.view_loan")
    precomputed = precomputed_book(user) if wants_book or wants_claims or wants_loans else None
    if wants_book:
        context["book"] = book_card(user, precomputed)
    if wants_claims:
        context["claims"] = claims_card(user, precomputed, month=timezone.localdate().replace(day=1).isoformat())
    if wants_loans:
        context["loans"] = loans_card(user, precomputed)
    if user.has_perm("ingestion.view_importjob"):
        context["imports"] = import_figures(user)
        context["recent_imports"] = import_jobs_visible_to(user)[:5]
    return template, context
