"""The `carenet` console command: Django's management commands, plus `serve` (gunicorn)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carenet.settings")
    argv = list(sys.argv)
    if len(argv) > 1 and argv[1] == "link":
        # Record linkage needs no Django (its modules never import it): two seconds of start-up saved.
        from carenet.linkage.cli import main as link_main

        sys.exit(link_main(argv[2:]))
    if len(argv) > 1 and argv[1] == "serve":
        _serve(argv[2:])
        return
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")  # `carenet import-divisions` -> import_divisions
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def server_shape() -> tuple[int, int]:
    """gunicorn worker processes and threads per worker: CARENET_WORKERS (default one per core, at most 4)
    and CARENET_THREADS (default 4). Few processes with several threads each serve the phones best: on the
    2-core machine (bench/visits_bench.py, 50 clients posting visits) 2 × 4 stored 336 visits/s, 2 × 8
    320, 2 × 2 287, 3 × 2 265–280 and 3 × 4 265; each extra process costs CPU per request."""
    workers = int(os.environ.get("CARENET_WORKERS") or min(4, os.cpu_count() or 1))
    threads = int(os.environ.get("CARENET_THREADS") or 4)
    return workers, threads


def _serve(args: list[str]) -> None:
    """Production-style server: gunicorn, never runserver."""
    bind = os.environ.get("CARENET_BIND", "127.0.0.1:8000")
    workers, threads = server_shape()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    cmd = [
        gunicorn,
        "carenet.wsgi:application",
        "--config",
        "python:carenet.gunicorn_conf",  # the master's escalation timer (problems past their deadline)
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        # A district's bank file (100,000 rows, ~11 s) or the city-wide proof of full payment (~40 s at 1M
        # children) outlasts gunicorn's 30 s default.
        "--timeout",
        os.environ.get("CARENET_REQUEST_TIMEOUT", "120"),
        "--access-logformat",
        '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        "--access-logfile",
        "-",
        *args,
    ]
    os.execv(gunicorn, cmd)


if __name__ == "__main__":
    main()
