"""A policy's versions: two compared side by side, and each one's document as PDF."""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.exports import pdf_download
from portal.core.money import format_money
from portal.core.permissions import permission_required

from .. import documents
from ..forms import PK
from ..selectors import policies_visible_to, policy_versions_of
from ..tables import status_badge
from .common import (
    VIEW_POLICY_REASON,
)

# --- versions ------------------------------------------------------------------------------------------


def _version_number(value, *, default):
    if value in (None, ""):
        return default
    if PK.fullmatch(str(value)) is None:
        raise Http404
    return int(value)


def _money(version, amount):
    return format_money(amount, version.currency)


def _day(value):
    return date_format(value, "SHORT_DATE_FORMAT")


COMPARED_TERMS = [
    (gettext_lazy("Kind"), lambda v: v.kind, lambda v: v.get_kind_display()),
    (gettext_lazy("Effective from"), lambda v: v.effective_date, lambda v: _day(v.effective_date)),
    (gettext_lazy("Cover starts"), lambda v: v.start_date, lambda v: _day(v.start_date)),
    (gettext_lazy("Cover ends"), lambda v: v.cover_end, lambda v: _day(v.cover_end)),
    (gettext_lazy("Sum insured"), lambda v: v.sum_insured, lambda v: _money(v, v.sum_insured)),
    (gettext_lazy("Insured's age"), lambda v: v.insured_age, lambda v: "—" if v.insured_age is None else v.insured_age),
    (gettext_lazy("Premium for the term"), lambda v: v.premium, lambda v: _money(v, v.premium)),
    (
        gettext_lazy("Premium charged (+) or returned (-)"),
        lambda v: v.premium_change,
        lambda v: _money(v, v.premium_change),
    ),
    (gettext_lazy("Reason"), lambda v: v.reason, lambda v: v.reason or "—"),
    (gettext_lazy("By"), lambda v: v.created_by_id, lambda v: v.created_by.full_name),
]
COMPARED_COVERAGE_FIGURES = ("limit", "premium", "deductible_pct", "deductible_min")


def _comparison_rows(a, b):
    """The two versions' terms side by side, each row flagged when the values differ."""
    rows = [
        {"label": label, "a": show(a), "b": show(b), "changed": key(a) != key(b)} for label, key, show in COMPARED_TERMS
    ]
    # Every version is recorded at its own moment, so a difference here says nothing.
    when = {v.number: date_format(localtime(v.created_at), "SHORT_DATETIME_FORMAT") for v in (a, b)}
    rows.append({"label": _("Recorded at"), "a": when[a.number], "b": when[b.number], "changed": False})
    return rows


def _coverage_line(version, line):
    if line is None:
        return None
    return {"limit": _money(version, line["limit"]), "premium": _money(version, line["premium"])}


def _coverage_rows(a, b):
    """Each coverage of either version: added, removed, changed (limit, premium or deductible) or the same."""
    lines_a = {line["code"]: line for line in a.coverages}
    lines_b = {line["code"]: line for line in b.coverages}
    rows = []
    for code in [*lines_a, *(code for code in lines_b if code not in lines_a)]:
        line_a, line_b = lines_a.get(code), lines_b.get(code)
        if line_a is None:
            change = "added"
        elif line_b is None:
            change = "removed"
        elif any(Decimal(line_a[key]) != Decimal(line_b[key]) for key in COMPARED_COVERAGE_FIGURES):
            change = "changed"
        else:
            change = None
        rows.append(
            {
                "name": (line_b or line_a)["name"],
                "a": _coverage_line(a, line_a),
                "b": _coverage_line(b, line_b),
                "change": change,
            }
        )
    return rows


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def version_compare(request, pk):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    versions = {version.number: version for version in policy_versions_of(policy)}
    current = policy.current_version.number
    b_number = _version_number(request.GET.get("b"), default=current)
    a_number = _version_number(request.GET.get("a"), default=max(1, b_number - 1))
    if a_number not in versions or b_number not in versions:
        raise Http404
    a, b = versions[a_number], versions[b_number]
    context = {
        "policy": policy,
        "badge": status_badge(policy),
        "versions": list(versions.values()),
        "a": a,
        "b": b,
        "rows": _comparison_rows(a, b),
        "coverage_rows": _coverage_rows(a, b),
    }
    template = "policies/version_compare.html#comparison" if request.htmx else "policies/version_compare.html"
    return render(request, template, context)


@permission_required("policies.view_policy", VIEW_POLICY_REASON)
def version_pdf(request, pk, number):
    policy = get_object_or_404(policies_visible_to(request.user), pk=pk)
    version = get_object_or_404(
        policy_versions_of(policy).select_related("policy__product", "policy__customer"), number=number
    )
    return pdf_download(documents.policy_document_pdf(version=version), documents.policy_document_filename(version))
