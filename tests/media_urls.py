"""The portal's URLs with MEDIA_ROOT served under /media/, as the development server serves it
(portal/urls.py adds that route when DEBUG is on): for tests of what /media/ hands out."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from portal.urls import urlpatterns as portal_urlpatterns


def media(request, path):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [*portal_urlpatterns, re_path(r"^media/(?P<path>.*)$", media)]
