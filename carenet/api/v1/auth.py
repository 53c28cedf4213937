"""Device sign-in: trade a username and password for a Bearer token; sign out again."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import logout
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from carenet.accounts import services
from carenet.api.v1.security import current_user

router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime


class Message(Schema):
    detail: str


class LogoutIn(Schema):
    all: bool = Field(False, description="also revoke every other token of this user (all devices)")


class LogoutOut(Schema):
    revoked: int


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: Message, 429: Message},
    url_name="auth_token",
    summary="Issue a device token",
)
def auth_token(request: HttpRequest, payload: TokenIn) -> Status[object]:
    """Lockout is per username (settings.LOGIN_MAX_FAILURES): a locked username is refused even with the
    right password, while other usernames are unaffected."""
    try:
        user = services.login_check(request=request, username=payload.username, password=payload.password)
    except services.LockedOut as exc:
        return Status(429, {"detail": exc.message})
    if user is None:
        return Status(401, {"detail": _("Wrong username or password.")})
    issued = services.token_create(user=user)
    return Status(200, {"token": issued.token, "expires_at": issued.expires_at})


@router.post("/logout", response=LogoutOut, url_name="auth_logout", summary="Revoke the presenting token")
def auth_logout(request: HttpRequest, payload: LogoutIn | None = None) -> dict[str, int]:
    user = current_user(request)
    revoked = 0
    token = getattr(request, "api_token", None)
    if token:
        revoked += int(services.token_revoke(token=token))
    if payload is not None and payload.all:
        revoked += services.token_revoke_all(user=user)
    if not token:
        logout(request)  # a browser session signs out the session itself
    return {"revoked": revoked}
