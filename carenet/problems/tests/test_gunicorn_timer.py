"""The escalation timer in the gunicorn master (carenet/gunicorn_conf.py) and `carenet serve` using it."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carenet import gunicorn_conf
from carenet.problems.models import Problem
from carenet.visits.models import VisitSchedule, VisitTally, VisitTallyChange


class Log:
    """Collects what the timer would write to gunicorn's error log."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)

    error = info


@pytest.mark.parametrize(
    ("value", "seconds"), [("", 600.0), ("10", 600.0), ("0.5", 30.0), ("0", None), (" 2 ", 120.0)]
)
def test_the_interval_comes_from_the_environment(monkeypatch, value, seconds):
    monkeypatch.setenv("CARENET_ESCALATE_MINUTES", value)
    assert gunicorn_conf.escalate_interval() == seconds


@pytest.mark.parametrize("value", ["ten", "-1"])
def test_a_bad_interval_stops_the_server_from_starting(monkeypatch, value):
    monkeypatch.setenv("CARENET_ESCALATE_MINUTES", value)
    with pytest.raises(ValueError, match="CARENET_ESCALATE_MINUTES"):
        gunicorn_conf.escalate_interval()


@pytest.mark.django_db(transaction=True)  # run_once closes its connections, as it must in the master
def test_one_run_escalates_and_logs_counts_only(personas, raise_problem):
    from carenet.problems.tests.conftest import overdue_by

    problem = overdue_by(raise_problem(), 2)
    VisitSchedule.objects.create(
        child=problem.child,
        division_code=problem.division_code,
        interval_days=30,
        category="left_behind",
        next_due_on=problem.deadline,
    )  # the schedule's trigger appends one change to the visit tally; the run folds it in
    log = Log()
    assert gunicorn_conf.run_once(log) == 1
    assert log.lines == ["carenet escalation: 1 problems escalated; visit tally: 1 changes folded in"]
    assert VisitTally.objects.get().children == 1 and not VisitTallyChange.objects.exists()
    assert Problem.objects.get(pk=problem.pk).level == 1
    assert gunicorn_conf.run_once(log) == 0


def test_when_ready_leaves_the_timer_off_at_zero(monkeypatch):
    monkeypatch.setenv("CARENET_ESCALATE_MINUTES", "0")

    class Server:
        log = Log()

    gunicorn_conf.when_ready(Server)
    assert "off" in Server.log.lines[0]


SETUP = """
import datetime as dt
from django.core.management import call_command
call_command("migrate", verbosity=0)
from carenet.accounts.models import Role
from carenet.problems.models import Problem
from carenet.tests_support.factories import ChildFactory, DivisionFactory, UserFactory
city = DivisionFactory(code="12", name="天津市")
district = DivisionFactory(code="120112", name="津南区", parent=city)
street = DivisionFactory(code="120112001", name="双港镇", parent=district)
village = DivisionFactory(code="120112001001", name="A村", parent=street)
staff = UserFactory(username="district", role=Role.DISTRICT_SPECIALIST, division=district)
child = ChildFactory(name="张伟", division=village)
Problem.objects.create(child=child, division_code=village.code, category="health", severity="general",
                       description="x", deadline=dt.date.today() - dt.timedelta(days=3), raised_by=staff)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(carenet: str, env: dict[str, str], *args: str) -> None:
    subprocess.run([carenet, *args], env=env, check=True, capture_output=True, timeout=180)


def test_carenet_serve_escalates_from_the_gunicorn_master(tmp_path: Path):
    """The real thing: `carenet serve` (gunicorn, our config) on a scratch SQLite database with one
    overdue problem; the master's timer escalates it, the log says how many and names nobody."""
    carenet = str(Path(sys.executable).with_name("carenet"))
    db = tmp_path / "serve.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "CARENET_VAR_DIR": str(tmp_path),
        "CARENET_DEMO": "1",
        "CARENET_ESCALATE_MINUTES": "0.01",  # 0.6 s
        "CARENET_BIND": f"127.0.0.1:{_free_port()}",
        "CARENET_WORKERS": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _run(carenet, env, "shell", "-c", SETUP)  # migrate and file one overdue problem
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([carenet, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "1 problems escalated" not in log_path.read_text("utf-8"):
                assert server.poll() is None, log_path.read_text("utf-8")
                time.sleep(0.2)
            time.sleep(1.5)  # a few more runs: each must find nothing more to do
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log_path.read_text("utf-8")
    assert "carenet escalation: 1 problems escalated" in text, text
    assert "carenet escalation: 0 problems escalated" in text, text
    assert "张伟" not in text and "failed" not in text
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT level FROM problems_problem").fetchall() == [(1,)]
        assert conn.execute("SELECT count(*) FROM problems_notification").fetchone() == (1,)
