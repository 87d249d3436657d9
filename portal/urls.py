from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal.accounts import views as account_views
from portal.core import views as core_views
from portal.dashboard import views as dashboard_views
from portal.operations import views as operations_views

handler404 = core_views.page_not_found
handler500 = core_views.server_error

admin.site.site_header = "Amparo"
admin.site.site_title = "Amparo"

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", operations_views.metrics, name="metrics"),
    # Django's set_language, which also keeps a signed-in user's choice as their preference.
    path("i18n/setlang/", account_views.language_set, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.dashboard.urls")),
    path("", include("portal.accounts.urls")),
    path("audit/", include("portal.audit.urls")),
    path("bordereaux/", include("portal.ingestion.urls")),
    path("customers/", include("portal.customers.urls")),
    path("", include("portal.policies.urls")),
    path("claims/", include("portal.claims.urls")),
    path("loans/", include("portal.loans.urls")),
    path("payments/", include("portal.payments.urls")),
    path("gateways/", include("portal.gateways.urls")),
    path("core-sync/", include("portal.integrations.urls")),
    path("reports/", include("portal.reports.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
