"""The OpenAPI schema and its two readers are served by the app itself, with no file from a CDN."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_names_the_api(app_client):
    response = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in schema["paths"]
    assert "jwtAuth" in schema["components"]["securitySchemes"]


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_docs_load_every_script_and_style_from_our_own_static_files(app_client, page):
    response = app_client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets, "the page names its scripts"
    for asset in assets:
        assert asset.startswith("/static/"), asset  # nothing from another host
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "//" not in " ".join(assets) and "cdn" not in html.lower()
