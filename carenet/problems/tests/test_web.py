"""The problems pages: supervision list, one problem with its thread and actions, raising one, notifications."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from carenet.audit.models import AccessLog
from carenet.problems.context import unread_notifications
from carenet.problems.models import Notification, Problem
from carenet.problems.tests.conftest import overdue_by


def page(client, user, name, *args, **params):
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    return response, response.content.decode()


def post(client, user, name, *args, data=None, follow=True):
    client.force_login(user)
    return client.post(reverse(name, args=args), data or {}, follow=follow)


# ---------------------------------------------------------------- list


def test_the_street_supervisor_sees_the_supervision_list_with_counts(client, personas, raise_problem):
    raise_problem(description="第一件")
    late = overdue_by(raise_problem(category="health"), 4)
    response, body = page(client, personas.street_supervisor, "web:problem_list")
    assert response.status_code == 200
    assert body.count('<a class="card') == 2
    assert "张伟" in body
    # the overdue one is marked in red with its days overdue
    assert f'class="card overdue" href="{reverse("web:problem_detail", args=[late.pk])}"' in body
    assert body.count('class="meta overdue"') == 1


def test_the_list_filters_by_state_and_overdue(client, personas, raise_problem):
    raise_problem()
    late = overdue_by(raise_problem(), 2)
    _, body = page(client, personas.street_supervisor, "web:problem_list", overdue="on")
    assert body.count('<a class="card') == 1 and reverse("web:problem_detail", args=[late.pk]) in body
    _, body = page(client, personas.street_supervisor, "web:problem_list", state="closed")
    assert '<a class="card' not in body


def test_a_district_supervision_list_holds_only_what_it_must_act_on(client, personas, raise_problem):
    raise_problem(description="普通问题")
    _, body = page(client, personas.district_specialist, "web:problem_list")
    assert '<a class="card' not in body
    _, body = page(client, personas.district_specialist, "web:problem_list", list="all")
    assert body.count('<a class="card') == 1


def test_a_bad_filter_falls_back_to_the_supervision_list(client, personas, raise_problem):
    raise_problem()
    response, body = page(client, personas.street_supervisor, "web:problem_list", level="9", state="x")
    assert response.status_code == 200 and body.count('<a class="card') == 1


def test_charity_staff_may_not_open_the_list(client, personas):
    response, _ = page(client, personas.charity, "web:problem_list")
    assert response.status_code == 403


# ---------------------------------------------------------------- detail


def test_the_director_sees_the_problem_its_child_visit_and_thread(client, personas, raise_problem):
    problem = raise_problem(actor=personas.director_a, description="监护人长期外出")
    response, body = page(client, personas.director_a, "web:problem_detail", problem.pk)
    assert response.status_code == 200
    assert "张伟" in body and "监护人长期外出" in body and "A村" in body
    assert reverse("web:child_detail", args=[problem.child_id]) in body
    # only the buttons that will work: start, resolve, note; no close, verify or reassign
    assert 'value="start"' in body and 'value="resolve"' in body and 'value="note"' in body
    assert 'value="close"' not in body and 'value="verify"' not in body and 'value="assign"' not in body
    row = AccessLog.objects.get(child_id=problem.child_id)
    assert (row.actor, row.kind, row.detail) == (personas.director_a, "view", f"problem {problem.pk}")


def test_read_only_roles_see_the_problem_without_buttons(client, personas, raise_problem):
    problem = raise_problem()
    for user in (personas.social_worker, personas.auditor):
        response, body = page(client, user, "web:problem_detail", problem.pk)
        assert response.status_code == 200 and "张伟" in body
        assert 'name="action"' not in body


@pytest.mark.parametrize("persona", ["director_b", "other_district_specialist"])
def test_outsiders_get_a_404_and_no_access_record(client, personas, raise_problem, persona):
    problem = raise_problem()
    response, body = page(client, getattr(personas, persona), "web:problem_detail", problem.pk)
    assert response.status_code == 404 and "张伟" not in body
    assert not AccessLog.objects.exists()


# ---------------------------------------------------------------- actions


def test_actions_walk_the_problem_to_closed(client, personas, raise_problem):
    problem = raise_problem()
    response = post(
        client, personas.street_supervisor, "web:problem_action", problem.pk, data={"action": "start"}
    )
    assert response.redirect_chain[-1][0] == reverse("web:problem_detail", args=[problem.pk])
    post(
        client,
        personas.street_supervisor,
        "web:problem_action",
        problem.pk,
        data={"action": "resolve", "text": "已联系学校，孩子返校"},
    )
    post(client, personas.director_a, "web:problem_action", problem.pk, data={"action": "verify"})
    response = post(
        client, personas.street_supervisor, "web:problem_action", problem.pk, data={"action": "close"}
    )
    problem.refresh_from_db()
    assert problem.state == "closed"
    body = response.content.decode()
    assert "已联系学校，孩子返校" in body  # the thread shows what was done


def test_a_refused_action_is_explained_and_changes_nothing(client, personas, raise_problem):
    problem = raise_problem()
    response = post(
        client, personas.director_a, "web:problem_action", problem.pk, data={"action": "resolve", "text": ""}
    )
    assert response.status_code == 200
    assert 'class="flash error"' in response.content.decode()
    problem.refresh_from_db()
    assert problem.state == "open" and problem.actions.count() == 1
    response = post(client, personas.director_a, "web:problem_action", problem.pk, data={"action": "bogus"})
    assert 'class="flash error"' in response.content.decode()


def test_the_director_cannot_close(client, personas, raise_problem):
    problem = raise_problem()
    post(
        client, personas.director_a, "web:problem_action", problem.pk, data={"action": "resolve", "text": "x"}
    )
    post(client, personas.director_a, "web:problem_action", problem.pk, data={"action": "verify"})
    response = post(client, personas.director_a, "web:problem_action", problem.pk, data={"action": "close"})
    assert 'class="flash error"' in response.content.decode()
    problem.refresh_from_db()
    assert problem.state == "verified"


def test_actions_on_an_outsiders_problem_are_404(client, personas, raise_problem):
    problem = raise_problem()
    response = post(
        client,
        personas.director_b,
        "web:problem_action",
        problem.pk,
        data={"action": "note", "text": "x"},
        follow=False,
    )
    assert response.status_code == 404
    assert problem.actions.count() == 1


def test_roles_without_problem_handling_get_a_403(client, personas, raise_problem):
    problem = raise_problem()
    response = post(
        client, personas.social_worker, "web:problem_action", problem.pk, data={"action": "note", "text": "x"}
    )
    assert response.status_code == 403


# ---------------------------------------------------------------- raising outside a visit


def test_a_director_raises_a_problem_from_the_childs_file(client, personas, children):
    response, body = page(client, personas.director_a, "web:problem_create", children.own.pk)
    assert response.status_code == 200 and "张伟" in body
    response = post(
        client,
        personas.director_a,
        "web:problem_create",
        children.own.pk,
        data={
            "category": "safety",
            "severity": "critical",
            "description": "家中电线裸露",
            "owner_kind": "guardian",
        },
    )
    problem = Problem.objects.get()
    assert response.redirect_chain[-1][0] == reverse("web:problem_detail", args=[problem.pk])
    assert (problem.category, problem.owner_kind, problem.raised_by) == (
        "safety",
        "guardian",
        personas.director_a,
    )
    assert Notification.objects.filter(recipient=personas.district_specialist, problem=problem).exists()


def test_a_bad_problem_form_shows_the_error_by_the_field(client, personas, children):
    response = post(
        client,
        personas.director_a,
        "web:problem_create",
        children.own.pk,
        data={"category": "health", "severity": "general", "description": "x", "owner_kind": "department"},
    )
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not Problem.objects.exists()


def test_raising_for_a_child_outside_ones_village_is_404(client, personas, children):
    response, _ = page(client, personas.director_b, "web:problem_create", children.own.pk)
    assert response.status_code == 404
    response = post(
        client,
        personas.director_b,
        "web:problem_create",
        children.own.pk,
        data={"category": "health", "severity": "general", "description": "x", "owner_kind": "street"},
        follow=False,
    )
    assert response.status_code == 404 and not Problem.objects.exists()


# ---------------------------------------------------------------- notifications


def test_notifications_list_newest_first_and_mark_all_read(client, personas, children, raise_problem):
    first = raise_problem(severity="critical", description="一")
    second = raise_problem(severity="critical", child=children.sibling_village, description="二")
    response, body = page(client, personas.district_specialist, "web:notification_list")
    assert response.status_code == 200
    assert body.index(reverse("web:problem_detail", args=[second.pk])) < body.index(
        reverse("web:problem_detail", args=[first.pk])
    )
    assert body.count('class="unread"') == 2
    response = post(client, personas.district_specialist, "web:notification_read")
    assert response.redirect_chain[-1][0] == reverse("web:notification_list")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert 'class="unread"' not in response.content.decode()


def test_each_person_sees_only_their_own_notifications(client, personas, raise_problem):
    raise_problem(severity="critical")
    _, body = page(client, personas.street_supervisor, "web:notification_list")
    assert "张伟" not in body
    post(client, personas.street_supervisor, "web:notification_read")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # the district's stays unread


def test_the_unread_count_for_the_navigation(personas, raise_problem, django_assert_num_queries):
    raise_problem(severity="critical")
    request = RequestFactory().get("/")
    request.user = personas.district_specialist
    context = unread_notifications(request)
    with django_assert_num_queries(1):
        rendered = Template("{% if unread_notifications %}({{ unread_notifications }}){% endif %}").render(
            Context(context)
        )
    assert rendered == "(1)"
    request.user = personas.street_supervisor
    assert (
        Template("{% if unread_notifications %}x{% endif %}").render(Context(unread_notifications(request)))
        == ""
    )
