"""GET /api/v1/divisions/ and /divisions/{code}: the caller's subtree plus its ancestors, nothing else."""

from __future__ import annotations

import pytest


def codes(client, **params):
    response = client.get("divisions/", params)
    assert response.status_code == 200, response.content
    return [d["code"] for d in response.json()["results"]]


def test_director_sees_own_village_and_its_ancestors_only(api, personas, city):
    assert codes(api(personas.director_a)) == ["12", "120112", "120112001", "120112001001"]


def test_district_specialist_sees_the_whole_district(api, personas, city):
    assert codes(api(personas.district_specialist), level="village") == [
        "120112001001",
        "120112001002",
        "120112002001",
    ]


def test_children_of_a_parent(api, personas, city):
    assert codes(api(personas.city_admin), parent="120112") == ["120112001", "120112002"]
    assert codes(api(personas.street_supervisor), parent="120112") == [
        "120112001"
    ]  # the sibling street is outside


def test_search_by_name_or_code(api, personas, city):
    client = api(personas.city_admin)
    assert codes(client, q="双港") == ["120112001"]
    assert codes(client, q="120101") == ["120101", "120101001", "120101001001"]


def test_division_detail(api, personas, city):
    body = api(personas.street_supervisor).get("divisions/120112001").json()
    assert body == {
        "code": "120112001",
        "name": "双港镇",
        "level": "street",
        "level_display": "Town / street",
        "parent_code": "120112",
        "full_name": "天津市/津南区/双港镇",
        "children_count": 2,
    }


def test_children_count_of_an_ancestor_counts_only_what_the_caller_sees(api, personas, city):
    assert api(personas.director_a).get("divisions/120112001").json()["children_count"] == 1
    assert api(personas.city_admin).get("divisions/120112001").json()["children_count"] == 2


@pytest.mark.parametrize("code", ["120112001002", "120112002", "120101", "999999"])
def test_division_outside_scope_is_the_same_404_as_a_missing_one(api, personas, city, code):
    client = api(personas.director_a)
    response = client.get(f"divisions/{code}")
    assert response.status_code == 404
    assert response.content == client.get("divisions/000000").content


def test_role_without_division_view_gets_403(api, personas, city):
    client = api(personas.social_worker)
    assert client.get("divisions/").status_code == 403
    assert client.get("divisions/120112").status_code == 403


def test_bad_level_is_422(api, personas, city):
    response = api(personas.city_admin).get("divisions/", {"level": "province"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "level"]
