from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal.core import views as core_views
from portal.dashboard import views as dashboard_views

admin.site.site_header = "Amparo"
admin.site.site_title = "Amparo"

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.dashboard.urls")),
    path("", include("portal.accounts.urls")),
    path("audit/", include("portal.audit.urls")),
    path("bordereaux/", include("portal.ingestion.urls")),
    path("customers/", include("portal.customers.urls")),
    path("", include("portal.policies.urls")),
    path("claims/", include("portal.claims.urls")),
    path("payments/", include("portal.payments.urls")),
    path("gateways/", include("portal.gateways.urls")),
    path("core-sync/", include("portal.integrations.urls")),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
