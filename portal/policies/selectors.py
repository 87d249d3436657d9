from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.accounts.selectors import book_scope_q
from portal.customers.selectors import customers_visible_to

from .models import Coverage, Policy, PolicyVersion, Product, Quote, RenewalReminder

CUSTOMER_AGENT = "customer__agent"


def products_on_sale():
    return Product.objects.filter(is_active=True).prefetch_related(
        Prefetch("coverages", queryset=Coverage.objects.order_by("position", "id")), "rating_rules"
    )


def products_sold_in_app():
    """What a customer may quote and buy in the app: on sale and marked as sold there."""
    return products_on_sale().filter(sold_in_app=True).order_by("name", "id")


def policies_visible_to(user):
    """Policies of the customers in `user`'s book (the customer's agent owns the policy)."""
    # Every issued policy has a current version; saying so makes its join an inner one, which lets
    # PostgreSQL walk the version dates' index for a sorted first page instead of sorting them all.
    return Policy.objects.filter(
        book_scope_q(user, agent_field=CUSTOMER_AGENT), current_version__isnull=False
    ).select_related("product", "customer", "customer__agent", "current_version")


def quotes_visible_to(user):
    return Quote.objects.filter(book_scope_q(user, agent_field=CUSTOMER_AGENT)).select_related(
        "product", "customer", "customer__agent"
    )


def policy_with_versions(user, pk):
    """One policy `user` may see with its versions in order (one query for them), or None."""
    versions = Prefetch("versions", queryset=PolicyVersion.objects.order_by("number"))
    return policies_visible_to(user).select_related("renewal_of").prefetch_related(versions).filter(pk=pk).first()


def app_policies_of(user):
    """The policy list of the customers' app: `user`'s policies newest first, with the product and the
    current version's terms; not the version's coverages and breakdown (JSON the list does not show)."""
    return (
        policies_visible_to(user)
        .select_related(None)
        .select_related("product", "current_version")
        .defer("current_version__coverages", "current_version__breakdown")
        .order_by("-created_at", "-id")
    )


def app_quotes_of(user):
    """The quotes `user` may see, newest first, each with the policy issued from it (if any)."""
    return quotes_visible_to(user).select_related("policy").order_by("-created_at", "-id")


def policy_versions_of(policy):
    return PolicyVersion.objects.filter(policy=policy).select_related("created_by").order_by("number")


def version_in_force_on(policy, day):
    """The version whose terms cover `day`, or None when the policy gave no cover that day: the last
    recorded of those already in effect (a later record supersedes an earlier one from its date)."""
    version = PolicyVersion.objects.filter(policy=policy, effective_date__lte=day).order_by("-number").first()
    if version is None or version.ends_cover or not version.start_date <= day < version.end_date:
        return None
    return version


def ending_soon_q(*, today, days):
    """Policies in force whose cover ends within `days` days and that nobody has renewed yet.

    The window is on the current version's end date, so PostgreSQL reads that date's index as a
    range; "not renewed" is an anti-join on the renewal's one-to-one index.
    """
    return (
        Q(status__in=[Policy.Status.ACTIVE, Policy.Status.PENDING])
        & Q(current_version__end_date__gt=today, current_version__end_date__lte=today + timedelta(days=days))
        & ~Q(current_version__kind=PolicyVersion.Kind.CANCELLATION)
        & ~Exists(Policy.objects.filter(renewal_of=OuterRef("pk")))
    )


def renewal_queue(user, *, days=30, today=None):
    """The policies ending soon in `user`'s book, soonest first, with the reminders each has had."""
    today = today or timezone.localdate()
    reminders = RenewalReminder.objects.filter(policy=OuterRef("pk")).order_by().values("policy")
    return (
        policies_visible_to(user)
        .filter(ending_soon_q(today=today, days=days))
        .annotate(reminders_sent=Coalesce(Subquery(reminders.annotate(n=Count("pk")).values("n")), 0))
        .order_by("current_version__end_date", "number")
    )


STATUS_COLOURS = {
    Policy.Status.ACTIVE: "#198754",
    Policy.Status.PENDING: "#0dcaf0",
    Policy.Status.SUSPENDED: "#ffc107",
    Policy.Status.CANCELLED: "#dc3545",
    Policy.Status.EXPIRED: "#6c757d",
    Policy.Status.LAPSED: "#212529",
}


def policy_figures(user):
    """The dashboard's book card: policies by status (with a chart), open quotes, renewals due, customers."""
    counts = policies_visible_to(user).aggregate(
        total=Count("id"), **{status.lower(): Count("id", filter=Q(status=status)) for status in Policy.Status.values}
    )
    return {
        **counts,
        "open_quotes": quotes_visible_to(user).filter(status__in=Quote.OPEN).count(),
        "renewals_due": renewal_queue(user).count(),
        "customers": customers_visible_to(user).count(),
        "chart": {
            "labels": [str(label) for label in Policy.Status.labels],
            "values": [counts[status.lower()] for status in Policy.Status.values],
            "colors": [STATUS_COLOURS[status] for status in Policy.Status.values],
        },
    }


def customers_with_policy_counts(user):
    """The book with each customer's number of policies, counted per row shown (a correlated
    subquery), not by grouping the whole book before the first page can be cut."""
    policies = Policy.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    return customers_visible_to(user).annotate(
        policy_count=Coalesce(Subquery(policies.annotate(n=Count("pk")).values("n")), 0)
    )
