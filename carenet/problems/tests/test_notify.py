"""A critical problem reaches the district at once: in-app always, by e-mail where e-mail is configured."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from carenet.problems.models import Notification

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def email_on(settings):
    settings.NOTIFY_EMAIL = {**settings.NOTIFY_EMAIL, "backend": LOCMEM, "host": "mail.example.org"}
    return settings


@pytest.fixture
def district_mailbox(personas):
    personas.district_specialist.email = "district@example.org"
    personas.district_specialist.save()
    personas.other_district_specialist.email = "other@example.org"
    personas.other_district_specialist.save()
    return personas.district_specialist


def test_a_critical_safety_problem_notifies_the_district_at_once(personas, raise_problem):
    problem = raise_problem(actor=personas.director_a, category="safety", severity="critical")
    notes = Notification.objects.filter(problem=problem)
    assert [n.recipient for n in notes] == [personas.district_specialist]
    assert "张伟" in notes.get().text  # in-app: names the child, seen only by its recipient
    assert notes.get().read_at is None


def test_a_general_problem_notifies_nobody(personas, raise_problem):
    raise_problem(severity="general")
    assert not Notification.objects.exists()


def test_the_critical_problem_is_e_mailed_where_e_mail_is_configured(
    email_on, district_mailbox, raise_problem, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        problem = raise_problem(category="safety", severity="critical")
    assert [m.to for m in mail.outbox] == [["district@example.org"]]
    message = mail.outbox[0]
    # The e-mail leaves carenet: the problem's number only, never the child's name.
    assert str(problem.pk) in message.body
    assert "张伟" not in message.body + message.subject
    assert Notification.objects.get(problem=problem).emailed_at is not None


def test_no_e_mail_without_a_mail_server(
    settings, district_mailbox, raise_problem, django_capture_on_commit_callbacks
):
    settings.NOTIFY_EMAIL = {**settings.NOTIFY_EMAIL, "backend": LOCMEM, "host": ""}
    with django_capture_on_commit_callbacks(execute=True):
        problem = raise_problem(category="safety", severity="critical")
    assert mail.outbox == []
    note = Notification.objects.get(problem=problem)
    assert note.emailed_at is None  # the in-app notification is there all the same


def test_no_e_mail_for_a_problem_that_was_rolled_back(
    email_on, district_mailbox, raise_problem, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            raise_problem(category="safety", severity="critical")
            raise RuntimeError("the visit failed after its problem was raised")
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_staff_without_an_address_get_the_in_app_notification_only(
    email_on, personas, raise_problem, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        problem = raise_problem(category="safety", severity="critical")
    assert mail.outbox == []
    assert Notification.objects.filter(problem=problem, recipient=personas.district_specialist).exists()


def test_an_unreachable_mail_server_loses_no_notification(
    settings, district_mailbox, raise_problem, django_capture_on_commit_callbacks
):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.NOTIFY_EMAIL = {
        **settings.NOTIFY_EMAIL,
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": "127.0.0.1",
        "port": port,
    }
    with django_capture_on_commit_callbacks(execute=True):
        problem = raise_problem(category="safety", severity="critical")
    note = Notification.objects.get(problem=problem)
    assert note.emailed_at is None
