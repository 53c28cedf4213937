"""POST /api/v1/auth/token and /auth/logout; Bearer tokens; lockout per username."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from carenet.accounts.models import ApiToken
from carenet.tests_support.factories import UserFactory

PASSWORD = settings.DEMO_PASSWORD


def _sign_in(api, username, password=PASSWORD):
    return api().post("auth/token", {"username": username, "password": password})


def test_right_password_returns_a_token_and_its_expiry(api, personas):
    response = _sign_in(api, "p-village-a")
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("cn_")
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires > timezone.now() + dt.timedelta(days=settings.API_TOKEN_DAYS - 1)


def test_the_token_signs_in_requests(api, personas):
    token = _sign_in(api, "p-village-a").json()["token"]
    response = api().get("me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["username"] == "p-village-a"


def test_wrong_password_is_401_with_a_clear_message(api, personas):
    response = _sign_in(api, "p-village-a", "wrong-password")
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_unknown_username_is_the_same_401(api, personas):
    assert _sign_in(api, "nobody", "x").json() == _sign_in(api, "p-village-a", "x").json()


def test_missing_fields_are_422_naming_them(api, personas):
    response = api().post("auth/token", {"username": "p-village-a"})
    assert response.status_code == 422
    assert ["body", "password"] in [e["loc"] for e in response.json()["detail"]]


def test_account_locks_after_max_failures_even_with_the_right_password(api, personas):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert _sign_in(api, "p-village-a", "wrong-password").status_code == 401
    response = _sign_in(api, "p-village-a")
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]
    assert "token" not in response.json()


def test_one_failure_short_of_the_limit_still_signs_in(api, personas):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _sign_in(api, "p-village-a", "wrong-password")
    assert _sign_in(api, "p-village-a").status_code == 200


def test_lockout_is_per_username_so_another_user_still_signs_in(api, personas):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _sign_in(api, "p-village-a", "wrong-password")
    assert _sign_in(api, "p-village-a").status_code == 429
    assert _sign_in(api, "p-village-b").status_code == 200


def test_no_token_is_401(api, personas):
    response = api().get("me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_made_up_token_is_401(api, personas):
    assert api().get("me", HTTP_AUTHORIZATION="Bearer cn_made-up").status_code == 401


def test_an_expired_token_is_401(api, personas):
    client = api(personas.director_a)
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("me").status_code == 401


def test_a_deactivated_users_token_is_401(api, personas):
    client = api(personas.director_a)
    personas.director_a.is_active = False
    personas.director_a.save()
    assert client.get("me").status_code == 401


def test_logout_revokes_the_presenting_token_only(api, personas):
    first, second = api(personas.director_a), api(personas.director_a)
    response = first.post("auth/logout")
    assert response.status_code == 200
    assert response.json() == {"revoked": 1}
    assert first.get("me").status_code == 401
    assert second.get("me").status_code == 200


def test_logout_all_revokes_every_token_of_the_user(api, personas):
    first, second, other = api(personas.director_a), api(personas.director_a), api(personas.director_b)
    assert first.post("auth/logout", {"all": True}).status_code == 200
    assert first.get("me").status_code == 401
    assert second.get("me").status_code == 401
    assert other.get("me").status_code == 200


def test_token_of_an_inactive_user_cannot_be_issued(api, personas):
    UserFactory(username="gone", is_active=False)
    assert _sign_in(api, "gone").status_code == 401
