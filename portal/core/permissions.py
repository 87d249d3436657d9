"""View guards that say *why* access is refused; the 403 page shows the reason."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def staff_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff_role:
            raise PermissionDenied(_("The portal is for Amparo staff. Customers use the Amparo mobile app."))
        return view(request, *args, **kwargs)

    return wrapper


def permission_required(perm, reason):
    """Require a staff user holding `perm`; `reason` tells them who may use the page instead."""

    def decorator(view):
        @staff_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise PermissionDenied(reason)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
