"""GET /api/v1/children/: search, filters, paging, masking, and a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carenet.audit.models import AccessLog
from carenet.core import idnumber
from carenet.registry.models import CategoryMembership
from carenet.tests_support.factories import ChildFactory


def names(client, **params):
    response = client.get("children/", params)
    assert response.status_code == 200, response.content
    return sorted(r["name"] for r in response.json()["results"])


@pytest.fixture
def homophones(city, children):
    ChildFactory(name="张玮", division=city.village_a)
    ChildFactory(name="李明", division=city.village_a)


def test_list_shows_only_children_in_the_callers_jurisdiction(api, personas, children):
    assert names(api(personas.director_a)) == ["张伟"]
    assert names(api(personas.street_supervisor)) == ["张伟", "李娜"]
    assert names(api(personas.city_admin)) == ["刘洋", "张伟", "李娜", "王芳"]
    assert names(api(personas.social_worker)) == ["张伟"]


def test_each_row_carries_what_a_list_screen_needs(api, personas, children):
    row = api(personas.director_a).get("children/").json()["results"][0]
    own = children.own
    assert row == {
        "id": own.pk,
        "name": "张伟",
        "sex": "M",
        "birth_date": "2014-03-04",
        "age": own.age_on(timezone.localdate()),
        "division_code": "120112001001",
        "division_name": "A村",
        "id_number": idnumber.mask(own.id_number),
        "categories": [],
        "status": "active",
    }


def test_json_carries_chinese_as_utf8_so_body_checks_mean_something(api, personas, children):
    # Other tests assert a name is *absent* from a raw body; that only means something if names are not \u-escaped.
    assert "张伟".encode() in api(personas.director_a).get("children/").content


def test_role_without_child_view_gets_403(api, personas, children):
    response = api(personas.charity).get("children/")
    assert response.status_code == 403
    assert "张伟" not in response.content.decode()


def test_search_by_chinese_name(api, personas, homophones):
    assert names(api(personas.director_a), q="张伟") == ["张伟", "张玮"]
    assert names(api(personas.director_a), q="李") == ["李明"]


def test_search_by_pinyin(api, personas, homophones):
    assert names(api(personas.director_a), q="zhangwei") == ["张伟", "张玮"]


def test_search_by_a_homophone_finds_the_child(api, personas, homophones):
    assert "张伟" in names(api(personas.director_a), q="张玮")


def test_search_by_id_number_is_exact(api, personas, homophones, children):
    assert names(api(personas.district_specialist), q=children.own.id_number) == ["张伟"]
    assert names(api(personas.other_district_specialist), q=children.own.id_number) == []


def test_search_never_crosses_jurisdiction(api, personas, children):
    assert names(api(personas.director_a), q="李娜") == []


def test_filter_by_open_category(api, personas, children):
    CategoryMembership.objects.create(
        child=children.own,
        category="left_behind",
        start_date=dt.date(2020, 1, 1),
        reason="parents work away",
        approved_by=personas.district_specialist,
    )
    CategoryMembership.objects.create(
        child=children.sibling_village,
        category="left_behind",
        start_date=dt.date(2019, 1, 1),
        end_date=dt.date(2020, 1, 1),
        reason="ended",
        approved_by=personas.district_specialist,
    )
    client = api(personas.district_specialist)
    assert names(client, category="left_behind") == ["张伟"]
    row = client.get("children/", {"category": "left_behind"}).json()["results"][0]
    assert row["categories"] == ["left_behind"]


def test_filter_by_age(api, personas, children):
    age = children.own.age_on(timezone.localdate())
    client = api(personas.director_a)
    assert names(client, age_min=age, age_max=age) == ["张伟"]
    assert names(client, age_min=age + 1) == []
    assert names(client, age_max=age - 1) == []


def test_filter_by_division_prefix(api, personas, children):
    assert names(api(personas.district_specialist), division="120112002") == ["王芳"]
    assert names(api(personas.director_a), division="120101") == []  # a filter never widens the scope


def test_status_filter_defaults_to_active(api, personas, children):
    children.own.status = "archived"
    children.own.save()
    client = api(personas.director_a)
    assert names(client) == []
    assert names(client, status="archived") == ["张伟"]
    assert names(client, status="all") == ["张伟"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": 0}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"age_min": -1}, "age_min"),
        ({"age_max": "old"}, "age_max"),
        ({"age_min": 10, "age_max": 5}, "age_max"),
        ({"category": "pirate"}, "category"),
        ({"status": "deleted"}, "status"),
        ({"division": "12x"}, "division"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(api, personas, params, field):
    response = api(personas.director_a).get("children/", params)
    assert response.status_code == 422
    assert ["query", field] in [e["loc"] for e in response.json()["detail"]]


def test_paging(api, personas, city, children):
    for i in range(4):
        ChildFactory(name=f"孩子{i}", division=city.village_a)
    client = api(personas.director_a)
    first = client.get("children/", {"page_size": 2}).json()
    second = client.get("children/", {"page_size": 2, "page": 2}).json()
    last = client.get("children/", {"page_size": 2, "page": 4}).json()
    assert first["count"] == second["count"] == 5
    assert (first["page"], first["page_size"]) == (1, 2)
    assert len(first["results"]) == len(second["results"]) == 2
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert last["results"] == []


def test_count_is_exact_below_the_cap(api, personas, children):
    body = api(personas.city_admin).get("children/").json()
    assert (body["count"], body["count_exact"]) == (4, True)


def test_count_stops_at_the_cap_and_says_so(api, personas, city, children, monkeypatch):
    monkeypatch.setattr("carenet.api.v1.children.CHILD_COUNT_CAP", 3)
    body = api(personas.city_admin).get("children/", {"page_size": 2, "page": 2}).json()
    assert (body["count"], body["count_exact"]) == (3, False)
    assert len(body["results"]) == 2  # paging is not limited by the cap


def test_page_size_is_capped_at_100(api, personas, children):
    body = api(personas.director_a).get("children/", {"page_size": 5000}).json()
    assert body["page_size"] == 100


def test_director_sees_masked_id_numbers(api, personas, children):
    row = api(personas.director_a).get("children/").json()["results"][0]
    number = children.own.id_number
    assert row["id_number"] == f"120112********{number[-4:]}"


def test_district_specialist_sees_full_id_numbers_and_that_is_recorded(api, personas, children):
    rows = api(personas.district_specialist).get("children/").json()["results"]
    assert {r["name"]: r["id_number"] for r in rows}["张伟"] == children.own.id_number
    logged = set(
        AccessLog.objects.filter(kind="full_id", actor=personas.district_specialist).values_list(
            "child_id", flat=True
        )
    )
    assert logged == {r["id"] for r in rows}


def test_director_list_writes_no_full_id_record(api, personas, children):
    api(personas.director_a).get("children/")
    assert not AccessLog.objects.exists()


def _queries(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("children/", params).status_code == 200
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_page(api, personas, city, children):
    client = api(personas.district_specialist)
    client.get("me")  # the token's last-used time is stamped once, not per request
    few = _queries(client)
    for i in range(30):
        child = ChildFactory(name=f"孩子{i}", division=city.village_a if i % 2 else city.village_c)
        CategoryMembership.objects.create(
            child=child,
            category="poor_family",
            start_date=dt.date(2021, 1, 1),
            reason="低保",
            approved_by=personas.district_specialist,
        )
    many = _queries(client, page_size=30)
    assert many == few
    # token lookup, count, page, open categories, the full-ID access record
    assert many <= 5
