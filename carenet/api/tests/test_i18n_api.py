"""The API speaks Chinese unless the client asks for English (LocaleMiddleware reads Accept-Language)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext


def _zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def test_messages_are_chinese_by_default(api, personas):
    zh = _zh("Wrong username or password.")
    assert zh != "Wrong username or password."  # the catalogue has it
    response = api(language=None).post("auth/token", {"username": "p-village-a", "password": "wrong"})
    assert response.json()["detail"] == zh


def test_messages_follow_accept_language(api, personas):
    response = api(language="en").post("auth/token", {"username": "p-village-a", "password": "wrong"})
    assert response.json()["detail"] == "Wrong username or password."


def test_not_found_and_unauthenticated_are_translated(api, personas, children):
    assert api(personas.director_b, language=None).get(f"children/{children.own.pk}").json()["detail"] == _zh(
        "Not found."
    )
    expected = _zh("Sign in first: send a Bearer token or a session cookie.")
    assert api(language="zh-CN").get("me").json()["detail"] == expected


def test_lockout_message_is_chinese_by_default(api, personas):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        api(language=None).post("auth/token", {"username": "p-village-a", "password": "wrong"})
    detail = (
        api(language=None)
        .post("auth/token", {"username": "p-village-a", "password": settings.DEMO_PASSWORD})
        .json()["detail"]
    )
    assert str(settings.LOGIN_LOCKOUT_MINUTES) in detail
    assert detail != detail.encode("ascii", "ignore").decode()  # not plain English
