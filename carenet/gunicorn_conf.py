"""gunicorn settings for `carenet serve` (loaded with --config python:carenet.gunicorn_conf).

The master process runs the automatic escalation of overdue problems (carenet/problems/escalation.py)
on a timer thread started by `when_ready`: every CARENET_ESCALATE_MINUTES minutes (default 10; 0 turns
it off, e.g. where cron runs `carenet escalate_problems` instead). The same run folds the visit tally's
appended changes in (carenet/visits/tally.py; `carenet visit_tally compact` from cron otherwise). The
master, not the workers, so that four workers do not mean four runs; several servers (or cron as well)
are harmless, each run re-reads its rows under a lock and an escalated problem is not due again the same
day, and a compaction folds each change exactly once.

Fork safety: gunicorn forks new workers from this master while the thread may be talking to the
database. A worker must not inherit a half-used connection, so forks wait for a running escalation to
finish (os.register_at_fork below) and the thread closes its connections after every run.
"""

from __future__ import annotations

import os
import threading
from typing import Any

DEFAULT_MINUTES = 10.0
FIRST_RUN_AFTER = 60.0  # seconds after start: let the workers boot first
FORK_WAIT = 30.0  # longest a worker (re)start waits for a running escalation

_run_lock = threading.Lock()
_stop = threading.Event()
_held_for_fork = False


def escalate_interval() -> float | None:
    """Seconds between runs, or None when switched off. A malformed value stops the server from
    starting (settings fail loudly) rather than silently never escalating."""
    raw = os.environ.get("CARENET_ESCALATE_MINUTES", "").strip() or str(DEFAULT_MINUTES)
    try:
        minutes = float(raw)
    except ValueError:
        raise ValueError(f"CARENET_ESCALATE_MINUTES must be a number of minutes, not {raw!r}") from None
    if minutes < 0:
        raise ValueError("CARENET_ESCALATE_MINUTES must not be negative (0 turns the timer off)")
    return minutes * 60 if minutes > 0 else None


def _django_ready() -> bool:
    from django.apps import apps

    return apps.ready


def run_once(log: Any) -> int | None:
    """One escalation run; returns how many problems moved (None if it failed). Logs counts only:
    never a name, never an exception message (database errors can quote row values)."""
    with _run_lock:
        try:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carenet.settings")
            import django

            if not _django_ready():
                django.setup()
            from carenet.problems.escalation import escalate_overdue
            from carenet.visits import tally

            count = escalate_overdue()
            folded = tally.compact()
        except Exception as exc:  # the timer must survive a failed run (database restarting, ...)
            log.error("carenet escalation failed: %s", type(exc).__name__)
            return None
        else:
            log.info(
                "carenet escalation: %d problems escalated; visit tally: %d changes folded in", count, folded
            )
            return count
        finally:
            if _django_ready():
                from django.db import connections

                connections.close_all()


def _loop(log: Any, interval: float, first: float) -> None:
    if _stop.wait(first):
        return
    while True:
        run_once(log)
        if _stop.wait(interval):
            return


def when_ready(server: Any) -> None:
    interval = escalate_interval()
    if interval is None:
        server.log.info("carenet escalation timer off (CARENET_ESCALATE_MINUTES=0)")
        return
    _stop.clear()
    thread = threading.Thread(
        target=_loop,
        args=(server.log, interval, min(interval, FIRST_RUN_AFTER)),
        name="carenet-escalate",
        daemon=True,
    )
    thread.start()
    server.log.info("carenet escalation every %g minutes", interval / 60)


def on_exit(server: Any) -> None:
    _stop.set()


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _run_lock.acquire(timeout=FORK_WAIT)


def _after_fork() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _run_lock.release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


def post_worker_init(worker: Any) -> None:
    """Once a worker has loaded Django and the app, move everything alive now out of the garbage
    collector's reach (gc.freeze): those objects live as long as the worker, and without this every full
    collection walks all of them again, a pause in the middle of whichever request triggers it. (The
    benchmark's machine varies too much to show the effect either way.)"""
    import gc

    gc.collect()
    gc.freeze()
