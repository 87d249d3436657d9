from django.shortcuts import redirect, render

from portal.core.permissions import staff_required

from .selectors import dashboard_for


def home(request):
    return redirect("dashboard:dashboard" if request.user.is_authenticated else "account_login")


@staff_required
def dashboard(request):
    template, figures = dashboard_for(request.user)
    return render(request, "dashboard/dashboard.html", {"dashboard_template": template, **figures})
