"""Supervision of visits: check, send back (a comment is required), correct, random samples; who may do it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from carenet.accounts.models import Role
from carenet.audit.models import ChangeLog
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.tests_support.factories import ChildFactory, UserFactory
from carenet.visits import review
from carenet.visits.models import ReviewState, Visit


def make_visit(child, actor, days_ago=2, state=ReviewState.PENDING):
    return Visit.objects.create(
        client_id=uuid.uuid4(),
        child=child,
        division_code=child.division_code,
        visited_on=timezone.localdate() - dt.timedelta(days=days_ago),
        recorded_by=actor,
        body_hash="0" * 64,
        review_state=state,
    )


@pytest.fixture
def visit(children, personas):
    return make_visit(children.own, personas.director_a)


def history(visit):
    return list(ChangeLog.objects.filter(entity="visit", entity_id=visit.pk, action="review").order_by("id"))


def test_street_supervisor_marks_a_visit_checked(visit, personas):
    review.review_check(actor=personas.street_supervisor, visit=visit, comment="  记录完整 ")
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.CHECKED
    assert (visit.reviewed_by, visit.review_comment) == (personas.street_supervisor, "记录完整")
    assert visit.reviewed_at is not None
    [row] = history(visit)
    assert row.actor == personas.street_supervisor
    assert row.changes["review_state"] == ["pending", "checked"]
    assert row.division_code == visit.division_code and row.child_id == visit.child_id


def test_a_visit_is_checked_only_once(visit, personas):
    review.review_check(actor=personas.street_supervisor, visit=visit)
    with pytest.raises(CarenetError) as exc:
        review.review_check(actor=personas.district_specialist, visit=visit)
    assert exc.value.field == "review_state"
    assert len(history(visit)) == 1


def test_sending_back_needs_a_comment(visit, personas):
    for blank in ("", "   "):
        with pytest.raises(CarenetError) as exc:
            review.review_return(actor=personas.street_supervisor, visit=visit, comment=blank)
        assert exc.value.field == "comment"
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING and not history(visit)


def test_sending_back_keeps_the_comment_and_a_checked_visit_can_still_be_sent_back(visit, personas):
    review.review_check(actor=personas.street_supervisor, visit=visit)
    review.review_return(actor=personas.district_specialist, visit=visit, comment="监护人情况未填写")
    visit.refresh_from_db()
    assert (visit.review_state, visit.review_comment) == (ReviewState.RETURNED, "监护人情况未填写")
    assert visit.reviewed_by == personas.district_specialist
    assert [h.changes["review_state"] for h in history(visit)] == [
        ["pending", "checked"],
        ["checked", "returned"],
    ]
    with pytest.raises(CarenetError):
        review.review_return(actor=personas.street_supervisor, visit=visit, comment="again")


def test_a_too_long_comment_is_refused(visit, personas):
    with pytest.raises(CarenetError) as exc:
        review.review_return(actor=personas.street_supervisor, visit=visit, comment="长" * 301)
    assert exc.value.field == "comment"


def test_director_answers_a_visit_sent_back_and_it_leaves_their_list(visit, personas):
    review.review_return(actor=personas.street_supervisor, visit=visit, comment="补充照片")
    assert list(review.returned_open(personas.director_a)) == [visit]
    with pytest.raises(CarenetError) as exc:
        review.review_correct(actor=personas.director_a, visit=visit, note=" ")
    assert exc.value.field == "note"
    review.review_correct(actor=personas.director_a, visit=visit, note="已补充")
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING
    assert visit.review_comment == "补充照片"  # the reviewer's comment stays; the answer is in the history
    assert history(visit)[-1].changes == {"review_state": ["returned", "pending"], "note": [None, "已补充"]}
    assert list(review.returned_open(personas.director_a)) == []
    with pytest.raises(CarenetError):
        review.review_correct(actor=personas.director_a, visit=visit, note="twice")


def test_a_newer_visit_of_the_child_answers_a_visit_sent_back(visit, personas, children):
    review.review_return(actor=personas.street_supervisor, visit=visit, comment="补充照片")
    make_visit(children.own, personas.director_a, days_ago=0)
    assert list(review.returned_open(personas.director_a)) == []


def test_directors_and_social_workers_may_not_review(visit, personas):
    for actor in (personas.director_a, personas.social_worker, personas.auditor, personas.charity):
        with pytest.raises(PermissionDeniedError):
            review.review_check(actor=actor, visit=visit)
        with pytest.raises(PermissionDeniedError):
            review.review_return(actor=actor, visit=visit, comment="x")
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING


def test_reviewers_of_another_street_or_district_find_no_such_visit(visit, personas, city):
    other_street = UserFactory(username="p-street-2", role=Role.STREET_SUPERVISOR, division=city.street2)
    for actor in (other_street, personas.other_district_specialist):
        with pytest.raises(CarenetError) as exc:
            review.review_check(actor=actor, visit=visit)
        assert exc.value.field == "visit"
    visit.refresh_from_db()
    assert visit.review_state == ReviewState.PENDING and not history(visit)


def test_a_sample_holds_only_pending_visits_of_the_last_30_days_in_scope(personas, children, city):
    director = personas.director_a
    recent = [make_visit(children.own, director, days_ago=d) for d in (1, 5, 29)]
    in_b = make_visit(children.sibling_village, personas.director_b, days_ago=3)
    make_visit(children.own, director, days_ago=40)  # too old
    make_visit(children.own, director, days_ago=2, state=ReviewState.CHECKED)
    make_visit(children.own, director, days_ago=2, state=ReviewState.RETURNED)
    make_visit(children.other_street, director, days_ago=2)  # another street
    make_visit(children.other_district, director, days_ago=2)  # another district

    picked = review.review_sample(actor=personas.street_supervisor, n=50)
    assert {v.pk for v in picked} == {v.pk for v in recent} | {in_b.pk}
    only_b = review.review_sample(actor=personas.street_supervisor, division=city.village_b, n=10)
    assert [v.pk for v in only_b] == [in_b.pk]
    two = review.review_sample(actor=personas.street_supervisor, n=2)
    assert len(two) == 2 and {v.pk for v in two} <= {v.pk for v in picked}
    # Each draw is recorded on the visits drawn.
    assert ChangeLog.objects.filter(entity="visit", action="review", changes__has_key="sampled").count() == 7


def test_a_sample_is_refused_outside_the_jurisdiction_or_with_a_bad_size(personas, city):
    with pytest.raises(CarenetError) as exc:
        review.review_sample(actor=personas.street_supervisor, division=city.village_c, n=3)
    assert exc.value.field == "division"
    for n in (0, 51):
        with pytest.raises(CarenetError) as exc:
            review.review_sample(actor=personas.street_supervisor, n=n)
        assert exc.value.field == "n"
    with pytest.raises(PermissionDeniedError):
        review.review_sample(actor=personas.director_a, n=3)


def test_the_district_samples_across_its_streets(personas, children):
    a = make_visit(children.own, personas.director_a)
    c = make_visit(children.other_street, personas.director_a)
    make_visit(ChildFactory(name="外区", division=children.other_district.division), personas.city_admin)
    picked = review.review_sample(actor=personas.district_specialist, n=10)
    assert {v.pk for v in picked} == {a.pk, c.pk}
