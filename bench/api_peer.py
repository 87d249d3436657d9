"""The peer of `python -m bench api`: the customers' policies as the DRF tutorial would serve them, a
ModelViewSet with `fields = "__all__"` and `depth = 1` (each related object nested, read one row at a
time), no select_related, scoped to the caller with a plain filter. Mounted at /naive/ beside the
app's own URLs, for the benchmark's gunicorn only (bench.api_settings)."""

from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from portal.policies.models import Policy
from portal.urls import urlpatterns as portal_urlpatterns


class NaivePolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = Policy
        fields = "__all__"
        depth = 1


class NaivePages(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class NaivePolicyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NaivePolicySerializer
    permission_classes = [IsAuthenticated]
    pagination_class = NaivePages

    def get_queryset(self):
        return Policy.objects.filter(customer__user=self.request.user).order_by("-created_at", "-id")


router = DefaultRouter()
router.register("policies", NaivePolicyViewSet, basename="naive-policy")

urlpatterns = [*portal_urlpatterns, path("naive/", include(router.urls))]
