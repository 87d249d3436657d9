from django.db.models import Q

from portal.accounts.models import Role, User
from portal.accounts.selectors import SEES_EVERY_BOOK, book_scope_q

from .models import Customer


def customers_visible_to(user):
    """Customers in `user`'s book: their own (agent), their teams' (supervisor), all (admin, finance, interventoría)."""
    return Customer.objects.filter(book_scope_q(user)).select_related("agent", "agent__team")


def assignable_agents(user):
    """The agents `user` may put a customer's book under."""
    agents = User.objects.filter(role=Role.AGENT, status="ACTIVE").select_related("team")
    if not user.is_authenticated or not user.is_active:
        return agents.none()
    if user.role == Role.ADMIN:
        return agents
    if user.role == Role.SUPERVISOR:
        return agents.filter(team__supervisor=user)
    if user.role == Role.AGENT:
        return agents.filter(pk=user.pk)
    return agents.none()


def normalized_id_number(id_number):
    """ID numbers are stored without spaces and upper-case: '52 000 001' and '52000001' are one person."""
    return "".join(id_number.split()).upper()


def agents_with_customers_visible_to(user):
    """The agents whose books `user` sees: the filter choice that never reveals another book.

    Read from the users (a handful of rows), not from the customers, which may be millions.
    """
    agents = User.objects.filter(role=Role.AGENT).order_by("full_name")
    if not user.is_authenticated or not user.is_active:
        return agents.none()
    if user.role in SEES_EVERY_BOOK:
        return agents
    if user.role == Role.SUPERVISOR:
        return agents.filter(team__supervisor=user)
    return agents.filter(pk=user.pk)


def customer_duplicates(*, id_type, id_number, email, exclude_pk=None):
    """Customers (anyone's book) that already hold this ID or this email: duplicates are company-wide."""
    match = Q(id_type=id_type, id_number=normalized_id_number(id_number))
    if email:
        match |= Q(email_primary__iexact=email.strip())
    duplicates = Customer.objects.filter(match)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    return duplicates.select_related("agent")


def customer_of_account(user):
    """The customer record an app account is linked to, or None."""
    return Customer.objects.select_related("agent", "user").filter(user=user).first()
