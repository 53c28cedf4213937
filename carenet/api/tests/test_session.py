"""The browser uses the API with its Django session; unsafe methods then need the CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from carenet.registry.models import Child

CSRF_SECRET = "a" * 32  # any 32-character secret; the header must carry the same one


def _browser(user, *, with_csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    if with_csrf:
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


def _new_child(code: str) -> dict:
    return {"division_code": code, "name": "赵小明", "sex": "M", "birth_date": "2016-01-02"}


def test_session_reads_need_no_csrf_token(personas, children):
    response = _browser(personas.director_a, with_csrf=False).get("/api/v1/children/")
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == ["张伟"]


def test_session_post_without_csrf_token_is_403_and_writes_nothing(personas, city):
    client = _browser(personas.director_a, with_csrf=False)
    response = client.post(
        "/api/v1/children/", _new_child(city.village_a.code), content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Child.objects.exists()


def test_session_post_with_csrf_token_is_accepted(personas, city):
    client = _browser(personas.director_a, with_csrf=True)
    response = client.post(
        "/api/v1/children/",
        _new_child(city.village_a.code),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=CSRF_SECRET,
    )
    assert response.status_code == 201, response.content
    assert Child.objects.get().name == "赵小明"


def test_session_patch_with_a_wrong_csrf_token_is_403(personas, children):
    client = _browser(personas.director_a, with_csrf=True)
    response = client.patch(
        f"/api/v1/children/{children.own.pk}",
        {"school": "x"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN="b" * 32,
    )
    assert response.status_code == 403
    children.own.refresh_from_db()
    assert children.own.school == ""


def test_anonymous_post_is_401_not_a_csrf_error(city):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/children/", _new_child(city.village_a.code), content_type="application/json"
    )
    assert response.status_code == 401


def test_bearer_token_needs_no_csrf_token(api, personas, city):
    client = api(personas.director_a, enforce_csrf_checks=True)
    assert client.post("children/", _new_child(city.village_a.code)).status_code == 201


def test_session_logout_ends_the_session(personas):
    client = _browser(personas.director_a, with_csrf=True)
    assert (
        client.post(
            "/api/v1/auth/logout", {}, content_type="application/json", HTTP_X_CSRFTOKEN=CSRF_SECRET
        ).status_code
        == 200
    )
    assert client.get("/api/v1/me").status_code == 401
