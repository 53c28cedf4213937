"""GET /api/v1/me."""

from __future__ import annotations

from carenet.accounts.permissions import Perm


def test_me_describes_the_user_their_place_and_their_rights(api, personas):
    personas.director_a.last_name, personas.director_a.first_name = "王", "秀英"
    personas.director_a.save()
    body = api(personas.director_a).get("me").json()
    assert body["username"] == "p-village-a"
    assert body["role"] == "village_director"
    assert body["role_display"] == "Village child director"
    assert body["division_code"] == "120112001001"
    assert body["division_name"] == "A村"
    assert body["full_name"] == "王秀英"
    assert Perm.CHILD_CREATE in body["permissions"]
    assert Perm.CHILD_VIEW_FULL_ID not in body["permissions"]


def test_me_lists_every_permission_for_the_city_admin(api, personas):
    assert set(api(personas.city_admin).get("me").json()["permissions"]) == {str(p) for p in Perm}


def test_the_api_negotiates_language_from_accept_language(api, personas):
    client = api(personas.director_a)
    assert client.get("me", HTTP_ACCEPT_LANGUAGE="en").headers["Content-Language"] == "en"
    assert client.get("me", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").headers["Content-Language"] == "zh-hans"
    assert (
        api(personas.director_a, language=None).get("me").headers["Content-Language"] == "zh-hans"
    )  # Chinese first
