"""API test helpers: a client that signs in with a device token, one per persona."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from carenet.accounts.models import User
from carenet.accounts.services import token_issue


class ApiClient:
    """A JSON client for /api/v1/ carrying `Authorization: Bearer …` for one user.

    It asks for English (`language="en"`) so tests can compare messages; the API's default is Chinese,
    which test_i18n_api.py checks."""

    def __init__(
        self, user: User | None = None, *, language: str | None = "en", **client_kwargs: Any
    ) -> None:
        self.token = token_issue(user=user) if user is not None else ""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if language:
            headers["Accept-Language"] = language
        self.client = Client(headers=headers, **client_kwargs)

    def get(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.get(_url(path), data or {}, **kw)

    def post(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.client.post(
            _url(path), data if data is not None else {}, content_type="application/json", **kw
        )

    def patch(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.client.patch(
            _url(path), data if data is not None else {}, content_type="application/json", **kw
        )


def _url(path: str) -> str:
    return path if path.startswith("/") else f"/api/v1/{path}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The production hasher costs ~1 s per check on a slow CI box; sign-in tests check dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api() -> Callable[..., ApiClient]:
    """`api(personas.director_a).get("children/")`; `api()` is anonymous."""
    return ApiClient


def field_errors(response: Any) -> dict[str, str]:
    """{"id_number": "message", "guardian.id_number": "…", "page": "…"} from a 422 body."""
    assert response.status_code == 422, (response.status_code, response.content)
    out = {}
    for err in response.json()["detail"]:
        loc = [str(p) for p in err["loc"][1:]]
        out[".".join(loc)] = err["msg"]
    return out
