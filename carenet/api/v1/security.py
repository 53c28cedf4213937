"""How a caller proves who they are: a device token (Bearer) or the browser's Django session.

Both set `request.user`, so the rest of the stack (NoStoreMiddleware, scope()) treats them alike.
The session path checks CSRF on unsafe methods, because a browser sends the cookie on its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from carenet.accounts.models import User
from carenet.accounts.services import token_user


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer cn_…` as issued by POST /api/v1/auth/token."""

    openapi_name = "BearerToken"

    def __init__(self) -> None:
        super().__init__()
        self.openapi_name = "BearerToken"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_user(token.strip())
        if user is None:
            return None
        request.user = user
        request.api_token = token.strip()  # type: ignore[attr-defined]  # so logout revokes this one
        return user


class SessionCsrfAuth(APIKeyCookie):
    """The browser's session. Anonymous -> None (401); signed in but no valid CSRF token on POST -> 403."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)
        self.openapi_name = "Session"

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # unauthenticated is a 401, not a CSRF 403
        if check_csrf(request) is not None:
            raise HttpError(403, _("CSRF check failed: reload the page and try again."))
        return user

    def authenticate(
        self, request: HttpRequest, key: str | None
    ) -> Any:  # pragma: no cover - __call__ decides
        return None


def current_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (token or session)."""
    return request.auth  # type: ignore[attr-defined,no-any-return]
