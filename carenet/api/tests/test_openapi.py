"""The OpenAPI document and the browsable docs."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client


def test_openapi_document_is_served_and_declares_bearer_auth():
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(
        s for s in schemes.values() if s["type"] == "http"
    ).items()
    assert any(s.get("in") == "cookie" for s in schemes.values())
    assert "/api/v1/children/{child_id}" in schema["paths"]
    token = schema["paths"]["/api/v1/auth/token"]["post"]
    assert "security" not in token or token["security"] == []


def test_every_child_operation_requires_authentication():
    schema = Client().get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path != "/api/v1/auth/token":
                assert operation.get("security"), f"{method.upper()} {path} is not protected"


def test_docs_page_is_served():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content


@pytest.mark.xfail(
    "ninja" not in settings.INSTALLED_APPS,
    reason="ninja renders Swagger UI from its bundled static files only when 'ninja' is in INSTALLED_APPS "
    "(settings.py); otherwise the page loads it from cdn.jsdelivr.net",
    strict=False,
)
def test_docs_page_needs_no_external_cdn():
    content = Client().get("/api/v1/docs").content.decode()
    assert "cdn.jsdelivr.net" not in content
    assert "/static/ninja/swagger-ui-bundle.js" in content
