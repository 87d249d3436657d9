from django.urls import path

from . import views

app_name = "policies"

urlpatterns = [
    path("quotes/", views.quote_list, name="quote_list"),
    path("quotes/new/", views.quote_create, name="quote_create"),
    path("quotes/price/", views.quote_price, name="quote_price"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/present/", views.quote_present, name="quote_present"),
    path("quotes/<int:pk>/accept/", views.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/decline/", views.quote_decline, name="quote_decline"),
    path("quotes/<int:pk>/issue/", views.quote_issue, name="quote_issue"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/export/<str:fmt>/", views.policy_export, name="policy_export"),
    path("policies/<int:pk>/", views.policy_detail, name="policy_detail"),
    path("policies/<int:pk>/endorse/", views.policy_endorse, name="policy_endorse"),
    path("policies/<int:pk>/endorse/preview/", views.policy_endorse_preview, name="policy_endorse_preview"),
    path("policies/<int:pk>/cancel/", views.policy_cancel, name="policy_cancel"),
    path("policies/<int:pk>/cancel/preview/", views.policy_cancel_preview, name="policy_cancel_preview"),
    path("policies/<int:pk>/suspend/", views.policy_suspend, name="policy_suspend"),
    path("policies/<int:pk>/reinstate/", views.policy_reinstate, name="policy_reinstate"),
    path("policies/<int:pk>/renew/", views.policy_renew, name="policy_renew"),
    path("policies/<int:pk>/versions/", views.version_compare, name="version_compare"),
    path("policies/<int:pk>/versions/<int:number>/pdf", views.version_pdf, name="version_pdf"),
    path("renewals/", views.renewal_queue, name="renewal_queue"),
]
