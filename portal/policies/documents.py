"""What the customer receives about a policy: the document (PDF) of each version and the renewal reminder email.

Both are rendered in the customer's language (Spanish, Colombia, unless told otherwise) from Django
templates; the PDF by WeasyPrint, which may read the portal's own static files and nothing else.
"""

import mimetypes
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .models import RenewalReminder

CUSTOMER_LANGUAGE = "es-co"
COMPANY = {
    "name": "Amparo Seguros S.A.",
    "nit": "900.457.812-3",
    "address": "Carrera 7 # 71-21, Torre B, piso 12, Bogotá D.C., Colombia",
    "phone": "+57 601 745 0000",
    "email": "servicio@amparoseguros.com.co",
}
# The repository's static folder (STATICFILES_DIRS), so documents do not depend on collectstatic having run.
STATIC_DIR = Path(settings.BASE_DIR) / "static"
LOGO = "img/amparo-logo.svg"
BREAKDOWN_AMOUNTS = ("risk_premium", "net_premium", "expense_loading_pct", "expense_loading", "tax_pct", "tax", "total")
COVERAGE_AMOUNTS = ("limit", "deductible_pct", "deductible_min", "premium")


class FetchRefused(ValueError):
    """A document asked for something other than one of the portal's own static files."""


class LocalStaticFetcher(URLFetcher):
    """Serves files under `root` to WeasyPrint and refuses every other URL, so rendering never
    reaches the network (no tracking pixels, no SSRF through a document)."""

    def __init__(self, root=STATIC_DIR):
        super().__init__(allowed_protocols=["file"])
        self.root = Path(root).resolve()

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise FetchRefused(f"Policy documents load only local static files, not {url}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FetchRefused(f"{path} is not a static file of the portal")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


def _css_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def page_counter_css():
    """`Page N of M` as CSS `content`, the words from the catalogue and the numbers from CSS counters."""
    sentence = _("Page %(page)s of %(pages)s") % {"page": "\0page\0", "pages": "\0pages\0"}
    pieces = sentence.split("\0")
    return " ".join(
        f"counter({piece})" if index % 2 else _css_string(piece) for index, piece in enumerate(pieces) if piece
    )


def _as_decimals(values, *names):
    """The version's JSON keeps amounts as strings, exactly as priced; the template formats Decimals."""
    return {**values, **{name: Decimal(str(values.get(name) or 0)) for name in names}}


def policy_document_context(version):
    policy = version.policy
    breakdown = _as_decimals(version.breakdown, *BREAKDOWN_AMOUNTS)
    breakdown["factors"] = [_as_decimals(factor, "multiplier") for factor in breakdown.get("factors", [])]
    return {
        "language": translation.get_language(),
        "company": COMPANY,
        "logo_url": LOGO,
        "page_counter": page_counter_css(),
        "version": version,
        "policy": policy,
        "product": policy.product,
        "customer": policy.customer,
        "agent": policy.customer.agent,
        "currency": version.currency,
        "issued_on": version.created_at,
        "coverages": [_as_decimals(line, *COVERAGE_AMOUNTS) for line in version.coverages],
        "breakdown": breakdown,
        "premium_change": version.premium_change,
        "premium_returned": -version.premium_change,
        "show_reason": bool(version.reason) and version.kind != version.Kind.NEW_BUSINESS,
    }


def policy_document_pdf(*, version, language=CUSTOMER_LANGUAGE):
    """The policy document of one `PolicyVersion` as PDF bytes, in `language` (words, money and dates)."""
    with translation.override(language):
        html = render_to_string("policies/document.html", policy_document_context(version))
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalStaticFetcher())
    return document.write_pdf()


def policy_document_filename(version):
    return f"{version.policy.number}-v{version.number}.pdf"


def renewal_reminder_email(*, policy, stage, today=None, language=CUSTOMER_LANGUAGE):
    """The reminder that `policy` ends soon, for `tasks.notifications.email_message_send(**message)`."""
    version = policy.current_version
    agent = policy.customer.agent
    context = {
        "policy": policy,
        "product": policy.product,
        "customer": policy.customer,
        "agent": agent,
        "version": version,
        "days_left": (version.end_date - (today or timezone.localdate())).days,
        "company": COMPANY,
    }
    with translation.override(language):
        context["language"] = translation.get_language()
        end = date_format(version.end_date, "DATE_FORMAT")
        if stage == RenewalReminder.Stage.DAYS_7:
            subject = _("Last reminder: your policy %(number)s ends on %(day)s") % {"number": policy.number, "day": end}
        else:
            subject = _("Your policy %(number)s ends on %(day)s: time to renew") % {"number": policy.number, "day": end}
        body = render_to_string("emails/renewal_reminder.txt", context)
        html = render_to_string("emails/renewal_reminder.html", context)
    return {"to": [policy.customer.email_primary], "subject": subject, "body": body, "html": html}
