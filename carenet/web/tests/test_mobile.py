"""The phone app's server side: the shell (/m/), its service worker (/m/sw.js) and the device key (/m/key/)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.urls import reverse

from carenet.tests_support.factories import ChildFactory
from carenet.web.views.mobile import device_key


def login(client, user):
    client.force_login(user)
    return client


def config_of(body: str) -> dict:
    match = re.search(r'<script id="m-config" type="application/json">(.*?)</script>', body, re.S)
    assert match, "the shell has no m-config JSON"
    return json.loads(match.group(1))


def test_the_shell_renders_for_a_director_with_translated_messages(client, personas, children):
    login(client, personas.director_a)
    response = client.get(reverse("web:mobile_app"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="visit-form"' in body and "visit-app.js" in body
    config = config_of(body)
    assert config["urls"]["visits"] == "/api/v1/visits/"
    assert config["urls"]["due"] == "/api/v1/visits/due/"
    assert config["urls"]["key"] == reverse("web:mobile_key")
    assert config["max_photos"] == 4 and config["photo_target_bytes"] <= 600 * 1024
    assert "%(n)s" in config["messages"]["queue_other"]
    assert 'capture="environment"' in body and 'accept="image/*"' in body
    # The routine visit needs only the date: it defaults to today and cannot be in the future.
    date = re.search(r'<input type="date" id="f-visited_on"[^>]*>', body).group(0)
    assert 'max="' in date and "required" in date


def test_the_shell_holds_no_childs_name_nor_the_users_name(client, personas, children):
    ChildFactory(name="王小明", division=personas.director_a.division)
    login(client, personas.director_a)
    body = client.get(reverse("web:mobile_app")).content.decode()
    for name in ("张伟", "王小明", children.sibling_village.name):
        assert name not in body
    assert personas.director_a.username not in body


@pytest.mark.parametrize(
    "persona", ["street_supervisor", "social_worker", "district_specialist", "city_admin"]
)
def test_every_role_that_records_visits_gets_the_shell(client, personas, persona):
    login(client, getattr(personas, persona))
    assert client.get(reverse("web:mobile_app")).status_code == 200


@pytest.mark.parametrize("persona", ["charity", "auditor"])
def test_roles_without_visit_record_get_403_for_the_shell_and_the_key(client, personas, persona):
    login(client, getattr(personas, persona))
    assert client.get(reverse("web:mobile_app")).status_code == 403
    assert client.get(reverse("web:mobile_key")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, db):
    for name in ("web:mobile_app", "web:mobile_key"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_the_key_is_stable_per_user_differs_between_users_and_is_never_cached(client, personas):
    login(client, personas.director_a)
    first = client.get(reverse("web:mobile_key"))
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    data = first.json()
    assert data["user"] == personas.director_a.pk
    key = base64.b64decode(data["key"])
    assert len(key) == 32

    client.logout()
    login(client, personas.director_a)  # the next sign-in gets the same key: the old queue stays readable
    assert client.get(reverse("web:mobile_key")).json()["key"] == data["key"]

    client.logout()
    login(client, personas.director_b)
    other = client.get(reverse("web:mobile_key")).json()
    assert other["user"] == personas.director_b.pk and other["key"] != data["key"]
    assert base64.b64decode(other["key"]) == device_key(personas.director_b.pk)


def test_the_key_depends_on_the_secret_key(settings, personas):
    before = device_key(personas.director_a.pk)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
    assert device_key(personas.director_a.pk) != before


def test_the_key_endpoint_refuses_posts(client, personas):
    login(client, personas.director_a)
    assert client.post(reverse("web:mobile_key")).status_code == 405


def test_the_service_worker_is_javascript_scoped_to_the_app_and_public(client, db):
    response = client.get(reverse("web:mobile_sw"))  # anonymous: browsers re-check it when signed out
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == reverse("web:mobile_app")
    body = response.content.decode()
    header = json.loads(re.match(r"const CARENET_SW = (\{.*?\});\n", body).group(1))
    assert header["shell"] == "/m/"
    assert "/static/carenet/visit-app.js" in header["assets"]
    assert "/static/vendor/pico/pico.min.css" in header["assets"]
    assert not any("/api/" in a for a in header["assets"])  # API answers are never cached
    assert len(header["version"]) == 16
    assert 'self.addEventListener("fetch"' in body


def test_the_sign_in_page_loads_the_device_wipe(client, db):
    body = client.get(reverse("web:login")).content.decode()
    assert re.search(r'<script src="/static/carenet/visit-app.js" data-device-wipe', body)
