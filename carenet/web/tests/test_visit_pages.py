"""The visits web pages: work list with rollup, one visit and its photos, review, statistics, rules, the
director's home and the visits section of a child's file."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from carenet.accounts.models import Role
from carenet.audit.models import AccessLog, ChangeLog
from carenet.registry import services as registry
from carenet.tests_support.factories import UserFactory
from carenet.visits import review, services
from carenet.visits.models import ReviewState, VisitRule, VisitSchedule


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def record(actor, child, days_ago=0, photos=(), problems=(), **fields):
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    client_id = uuid.uuid4()
    data = services.VisitInput(
        client_id=client_id,
        child_id=child.pk,
        visited_on=day,
        fields={"living": "adequate", **fields},
        photos=list(photos),
        problems=list(problems),
    )
    visit, _ = services.record_visit(
        actor=actor, data=data, digest=services.body_hash({"id": str(client_id)})
    )
    return visit


def categorise(actor, child, category="left_behind", days_ago=100):
    registry.category_open(
        actor=actor,
        child=child,
        category=category,
        start_date=timezone.localdate() - dt.timedelta(days=days_ago),
        reason="test",
    )


@pytest.fixture
def scheduled(personas, children):
    """own (A) and sibling (B) are left-behind (monthly) since 100 days, never visited: both overdue.
    other_street (C) is poor-family (quarterly) since 85 days: due within a week."""
    admin = personas.city_admin
    categorise(admin, children.own)
    categorise(admin, children.sibling_village)
    categorise(admin, children.other_street, "poor_family", days_ago=85)
    categorise(admin, children.other_district)
    return children


def body(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- work list


def test_street_supervisor_sees_the_rollup_of_their_villages_and_the_overdue_children(
    client, personas, scheduled
):
    client.force_login(personas.street_supervisor)
    response = client.get(reverse("web:visit_worklist"))
    assert response.status_code == 200
    rows = {r.division.code: r.counts for r in response.context["rows"]}
    assert {code: (c.scheduled, c.overdue) for code, c in rows.items()} == {
        "120112001001": (1, 1),
        "120112001002": (1, 1),
    }
    total = response.context["total"]
    assert (total.scheduled, total.overdue, total.never_visited) == (2, 2, 2)
    text = body(response)
    assert "张伟" in text and "李娜" in text
    assert "王芳" not in text and "刘洋" not in text
    assert "0.0%" in text  # on-time rate of the villages
    assert "年" in text  # Chinese dates
    logged = AccessLog.objects.filter(actor=personas.street_supervisor, detail="worklist")
    assert set(logged.values_list("child_id", flat=True)) == {scheduled.own.pk, scheduled.sibling_village.pk}


def test_district_drills_down_to_a_street_and_sees_due_soon(client, personas, scheduled, city):
    client.force_login(personas.district_specialist)
    response = client.get(reverse("web:visit_worklist"), {"division": city.street2.code, "tab": "soon"})
    assert response.status_code == 200
    assert [r.division.code for r in response.context["rows"]] == [city.village_c.code]
    assert "王芳" in body(response) and "张伟" not in body(response)
    assert [d.code for d in response.context["trail"]] == [city.district.code]


def test_drilling_outside_the_jurisdiction_is_a_404(client, personas, scheduled, city):
    client.force_login(personas.street_supervisor)
    for code in (city.village_c.code, city.district.code, "999999999999", "x"):
        assert client.get(reverse("web:visit_worklist"), {"division": code}).status_code == 404


def test_charity_staff_have_no_work_list(client, personas):
    client.force_login(personas.charity)
    assert client.get(reverse("web:visit_worklist")).status_code == 403


def test_all_tab_pages_through_every_scheduled_child(client, personas, scheduled):
    client.force_login(personas.city_admin)
    response = client.get(reverse("web:visit_worklist"), {"tab": "all"})
    assert {"张伟", "李娜", "王芳", "刘洋"} <= set(s.child.name for s in response.context["shown"])


# ---------------------------------------------------------------- one visit


@pytest.fixture
def visit(personas, scheduled, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return record(
        personas.director_a,
        scheduled.own,
        days_ago=1,
        photos=[jpeg()],
        problems=[services.ProblemInput(category="schooling", severity="serious", description="常缺课")],
        notes="家中整洁",
        school_enrolled=True,
    )


def test_visit_page_shows_the_record_photos_problems_and_writes_an_access_record(client, personas, visit):
    client.force_login(personas.street_supervisor)
    response = client.get(reverse("web:visit_detail", args=[visit.pk]))
    text = body(response)
    assert response.status_code == 200
    assert "张伟" in text and "家中整洁" in text and "常缺课" in text
    photo = visit.photos.get()
    assert reverse("web:visit_photo", args=[photo.pk]) in text
    assert reverse("web:visit_review_action", args=[visit.pk]) in text  # the reviewer's buttons
    assert AccessLog.objects.filter(
        actor=personas.street_supervisor, child_id=visit.child_id, detail=f"visit {visit.pk}"
    ).exists()


def test_director_sees_the_visit_without_review_buttons(client, personas, visit):
    client.force_login(personas.director_a)
    text = body(client.get(reverse("web:visit_detail", args=[visit.pk])))
    assert "家中整洁" in text and reverse("web:visit_review_action", args=[visit.pk]) not in text


@pytest.mark.parametrize("who", ["director_b", "other_district_specialist", "charity"])
def test_outsiders_get_a_404_or_403_for_the_visit_and_its_photo(client, personas, visit, who):
    client.force_login(getattr(personas, who))
    expected = 403 if who == "charity" else 404
    assert client.get(reverse("web:visit_detail", args=[visit.pk])).status_code == expected
    assert client.get(reverse("web:visit_photo", args=[visit.photos.get().pk])).status_code == expected


def test_photo_is_served_with_no_store_and_an_access_record(client, personas, visit):
    client.force_login(personas.district_specialist)
    photo = visit.photos.get()
    response = client.get(reverse("web:visit_photo", args=[photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert AccessLog.objects.filter(
        child_id=visit.child_id, kind="photo", detail=f"visit photo {photo.pk}"
    ).exists()


# ---------------------------------------------------------------- review


def test_review_queue_lists_pending_visits_with_the_childs_name(client, personas, visit, scheduled):
    other = record(personas.district_specialist, scheduled.other_street)
    client.force_login(personas.street_supervisor)
    response = client.get(reverse("web:visit_review"))
    assert response.status_code == 200
    assert [v.pk for v in response.context["page"].object_list] == [visit.pk]
    assert "张伟" in body(response) and "王芳" not in body(response)
    client.force_login(personas.district_specialist)
    pks = {v.pk for v in client.get(reverse("web:visit_review")).context["page"].object_list}
    assert pks == {visit.pk, other.pk}


def test_review_filters_by_state_village_and_dates(client, personas, visit, scheduled, city):
    older = record(personas.director_b, scheduled.sibling_village, days_ago=20)
    review.review_check(actor=personas.street_supervisor, visit=older)
    client.force_login(personas.street_supervisor)
    url = reverse("web:visit_review")

    def shown(**params):
        return {v.pk for v in client.get(url, params).context["page"].object_list}

    assert shown() == {visit.pk}
    assert shown(state="checked") == {older.pk}
    assert shown(state="all") == {visit.pk, older.pk}
    assert shown(state="all", division=city.village_b.code) == {older.pk}
    since = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    assert shown(state="all", date_from=since) == {visit.pk}


def test_check_and_send_back_through_the_page(client, personas, visit):
    client.force_login(personas.street_supervisor)
    url = reverse("web:visit_review_action", args=[visit.pk])
    response = client.post(url, {"action": "return", "comment": ""}, follow=True)
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING
    with translation.override("zh-hans"):
        assert translation.gettext("Write a comment saying what must be corrected.") in body(response)
    response = client.post(
        url, {"action": "return", "comment": "请补充监护人信息", "next": "/visits/review/"}
    )
    assert response.status_code == 302 and response["Location"] == "/visits/review/"
    visit.refresh_from_db()
    assert (visit.review_state, visit.review_comment) == (ReviewState.RETURNED, "请补充监护人信息")
    # An outside `next` is ignored.
    client.force_login(personas.district_specialist)
    response = client.post(url, {"action": "check", "next": "https://evil.example/"})
    assert response["Location"] == reverse("web:visit_detail", args=[visit.pk])


def test_directors_cannot_review_and_other_streets_get_a_404(client, personas, visit, city):
    client.force_login(personas.director_a)
    assert client.get(reverse("web:visit_review")).status_code == 403
    url = reverse("web:visit_review_action", args=[visit.pk])
    assert client.post(url, {"action": "check"}).status_code == 403
    client.force_login(UserFactory(username="p-street-2", role=Role.STREET_SUPERVISOR, division=city.street2))
    assert client.post(url, {"action": "check"}).status_code == 404
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING


def test_sample_draws_pending_visits_and_shows_them(client, personas, visit, scheduled):
    second = record(personas.director_b, scheduled.sibling_village)
    client.force_login(personas.street_supervisor)
    response = client.post(reverse("web:visit_sample"), {"n": "5"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert {v.pk for v in page.context["page"].object_list} == {visit.pk, second.pk}
    assert ChangeLog.objects.filter(entity="visit", action="review", changes__has_key="sampled").count() == 2
    bad = client.post(reverse("web:visit_sample"), {"n": "0"}, follow=True)
    assert bad.status_code == 200 and ChangeLog.objects.filter(changes__has_key="sampled").count() == 2


def test_director_corrects_a_visit_sent_back_from_their_home(client, personas, visit):
    review.review_return(actor=personas.street_supervisor, visit=visit, comment="请补充照片说明")
    client.force_login(personas.director_a)
    home = body(client.get(reverse("web:home")))
    assert "请补充照片说明" in home and reverse("web:visit_detail", args=[visit.pk]) in home
    detail = body(client.get(reverse("web:visit_detail", args=[visit.pk])))
    assert reverse("web:visit_correct", args=[visit.pk]) in detail
    client.post(reverse("web:visit_correct", args=[visit.pk]), {"note": "已补充"})
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING
    assert "请补充照片说明" not in body(client.get(reverse("web:home")))


# ---------------------------------------------------------------- home and the child's file


def test_director_home_starts_with_the_work_list_and_open_problems(client, personas, visit, scheduled):
    client.force_login(personas.director_a)
    response = client.get(reverse("web:home"))
    text = body(response)
    work = response.context["work"]
    assert work.counts.scheduled == 1
    assert [p.description for p in response.context["open_problems"]] == ["常缺课"]
    assert reverse("web:mobile_app") in text  # the big "record a visit" button
    assert text.index("record-visit") < text.index("quicksearch")
    assert AccessLog.objects.filter(actor=personas.director_a, detail="home").exists()


def test_director_home_lists_overdue_children(client, personas, scheduled):
    client.force_login(personas.director_a)
    response = client.get(reverse("web:home"))
    assert [s.child.name for s in response.context["work"].overdue] == ["张伟"]
    assert "张伟" in body(response) and "李娜" not in body(response)


def test_other_levels_see_their_counts_and_on_time_rate_at_home(client, personas, scheduled):
    client.force_login(personas.district_specialist)
    response = client.get(reverse("web:home"))
    counts = response.context["visit_counts"]
    assert (counts.scheduled, counts.overdue, counts.due_soon) == (3, 2, 1)
    assert "33.3%" in body(response)
    client.force_login(personas.charity)
    assert "visit_counts" not in client.get(reverse("web:home")).context


def test_child_file_lists_its_visits_and_next_due_date(client, personas, visit):
    client.force_login(personas.director_a)
    text = body(client.get(reverse("web:child_detail", args=[visit.child_id])))
    assert reverse("web:visit_detail", args=[visit.pk]) in text
    due = VisitSchedule.objects.get(child_id=visit.child_id).next_due_on
    assert f"{due.year}年{due.month}月{due.day}日" in text


# ---------------------------------------------------------------- statistics


def test_stats_page_for_the_district_and_refused_below_review_rights(client, personas, visit, city):
    client.force_login(personas.district_specialist)
    response = client.get(reverse("web:visit_stats"), {"month": visit.visited_on.strftime("%Y-%m")})
    assert response.status_code == 200
    stats = response.context["stats"]
    assert [r.division.code for r in stats.by_division] == [city.street.code, city.street2.code]
    # The child was overdue when visited: one visit, late.
    assert (stats.total.visits, stats.total.on_time, stats.total.raised) == (1, 0, 1)
    assert "0.0%" in body(response) and "张伟" not in body(response)
    assert [r.user for r in stats.by_person] == [personas.director_a, personas.director_b]
    assert client.get(reverse("web:visit_stats"), {"month": "garbage"}).status_code == 200
    assert client.get(reverse("web:visit_stats"), {"division": city.other_district.code}).status_code == 404
    client.force_login(personas.director_a)
    assert client.get(reverse("web:visit_stats")).status_code == 403


# ---------------------------------------------------------------- rules


def in_force(category, district=""):
    rule = VisitRule.objects.filter(category=category, district_code=district, valid_to__isnull=True).first()
    return rule.interval_days if rule else None


def test_city_admin_changes_a_default_and_the_history_keeps_the_old_rule(client, personas, scheduled):
    client.force_login(personas.city_admin)
    url = reverse("web:visit_rules")
    client.post(url, {"category": "poor_family", "interval_days": "60", "district": "", "note": "加密走访"})
    assert in_force("poor_family") == 60
    page = client.get(url)
    text = body(page)
    assert "加密走访" in text
    assert VisitRule.objects.filter(category="poor_family", district_code="").count() == 2
    # The poor-family child (C) is rescheduled: 85 days since the category opened, now due every 60 days.
    assert VisitSchedule.objects.get(child=scheduled.other_street).interval_days == 60


def test_district_sets_and_removes_its_own_override_only(client, personas, scheduled, city):
    client.force_login(personas.district_specialist)
    url = reverse("web:visit_rules")
    # Even when the form names another district or the city default, a district sets its own override.
    client.post(url, {"category": "migrant", "interval_days": "30", "district": city.other_district.code})
    assert in_force("migrant", city.district.code) == 30
    assert in_force("migrant", city.other_district.code) is None and in_force("migrant") == 90
    response = client.get(url)
    assert response.context["district"] == city.district
    assert [
        r["effective"].interval_days for r in response.context["table"] if r["category"] == "migrant"
    ] == [30]
    client.post(url, {"category": "migrant", "interval_days": "", "district": city.district.code})
    assert in_force("migrant", city.district.code) is None


def test_city_default_cannot_be_removed_and_others_cannot_set_rules(client, personas, scheduled):
    url = reverse("web:visit_rules")
    client.force_login(personas.city_admin)
    client.post(url, {"category": "migrant", "interval_days": "", "district": ""})
    assert in_force("migrant") == 90
    client.force_login(personas.street_supervisor)
    assert client.get(url).status_code == 200
    assert client.post(url, {"category": "migrant", "interval_days": "30"}).status_code == 403
    assert in_force("migrant") == 90


def test_city_admin_looks_at_a_districts_overrides(client, personas, scheduled, city):
    VisitRule.objects.create(category="disabled", district_code=city.other_district.code, interval_days=30)
    client.force_login(personas.city_admin)
    response = client.get(reverse("web:visit_rules"), {"district": city.other_district.code})
    row = next(r for r in response.context["table"] if r["category"] == "disabled")
    assert (row["city"].interval_days, row["district"].interval_days, row["effective"].interval_days) == (
        90,
        30,
        30,
    )
    assert client.get(reverse("web:visit_rules"), {"district": "999999"}).status_code == 404
    client.post(
        reverse("web:visit_rules"), {"category": "disabled", "interval_days": "30", "district": "999999"}
    )
    assert not VisitRule.objects.filter(district_code="999999").exists()


def test_review_filter_lists_streets_and_villages_or_asks_for_a_code(
    client, personas, visit, city, monkeypatch
):
    from carenet.web.views import visits as views

    client.force_login(personas.district_specialist)
    text = body(client.get(reverse("web:visit_review")))
    for d in (city.street, city.village_a, city.street2, city.village_c):
        assert f'value="{d.code}"' in text
    assert city.village_d.code not in text
    pks = {
        v.pk for v in client.get(reverse("web:visit_review"), {"division": city.street.code}).context["page"]
    }
    assert pks == {visit.pk}
    assert (
        not client.get(reverse("web:visit_review"), {"division": city.street2.code})
        .context["page"]
        .object_list
    )
    monkeypatch.setattr(views, "MAX_DIVISION_OPTIONS", 2)
    text = body(client.get(reverse("web:visit_review")))
    assert f'value="{city.village_a.code}"' not in text and 'inputmode="numeric"' in text
