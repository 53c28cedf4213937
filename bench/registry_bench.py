"""Registry benchmark: build the demo city at scale on PostgreSQL and time the child list and search.

    .venv/bin/python bench/registry_bench.py                      # 1,000,000 children into carenet_bench
    .venv/bin/python bench/registry_bench.py --skip-build         # measure the database built last time
    .venv/bin/python bench/registry_bench.py --children 100000 --rebuild

Each figure is the latency of one request through the whole Django stack in-process (middleware,
token authentication, django-ninja, the selector, JSON rendering) with django.test.Client against
`GET /api/v1/children/?q=…&page=1`, and of the selector alone (`child_list(...).count()` plus the
first page), as p50/p95 over --requests runs after --warmup runs. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://root@127.0.0.1:5432/carenet_bench"
# A bench-only field key, fixed so that a --skip-build run can still read and search what an earlier run wrote.
BENCH_FIELD_KEY = "YmVuY2gtb25seS1maWVsZC1rZXktMzItYnl0ZXMtLS0="
PAGE_SIZE = 20
SLOW_MS = 150.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=None, help="demo seed (default: the demo's own)")
    parser.add_argument(
        "--workers", type=int, default=None, help="demo generator processes (default: automatic)"
    )
    parser.add_argument("--skip-build", action="store_true", help="reuse the database as it is")
    parser.add_argument("--rebuild", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case first")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each selector query")
    return parser.parse_args()


# ------------------------------------------------------------------------------------------ database


def ensure_database(url: str, *, drop: bool) -> None:
    """Create the benchmark database if missing (connecting to the `postgres` maintenance database)."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    name = cfg["NAME"]
    conninfo = {
        "dbname": "postgres",
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        if drop:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CARENET_DEMO", "1")
    os.environ.setdefault("CARENET_FIELD_KEY", BENCH_FIELD_KEY)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carenet.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(children: int, seed: int | None, workers: int | None) -> float:
    from django.core.management import call_command
    from django.db import connection

    from carenet.demo.build import DEFAULT_SEED, demo_build, demo_exists

    if demo_exists():
        raise SystemExit(
            "The benchmark database already holds a city: use --skip-build to measure it or --rebuild."
        )
    log(f"building the demo city with {children:,} children …")
    result = demo_build(
        children=children, seed=seed if seed is not None else DEFAULT_SEED, workers=workers, log=log
    )
    log(f"built in {result.seconds:.1f} s")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"ANALYZE {time.monotonic() - started:.1f} s")
    call_command("check", verbosity=0)
    return result.seconds


# ------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    who: str
    label: str
    q: str


@dataclass
class Result:
    case: Case
    matches: int
    api_ms: tuple[float, float] | None
    selector_ms: tuple[float, float]
    api_error: str = ""


def personas() -> dict[str, object]:
    """One user per territorial level, all in 津南区: the director of its busiest village, that village's
    street supervisor, the district specialist; and the city administrator."""
    from django.db.models import Count

    from carenet.accounts.models import User
    from carenet.registry.models import Child

    busiest = (
        Child.objects.filter(division_code__startswith="120112")
        .values("division_code")
        .annotate(n=Count("id"))
        .order_by("-n", "division_code")
        .first()
    )
    if busiest is None:
        raise SystemExit("no children in 津南区: is the demo built?")
    village = busiest["division_code"]
    names = {
        "village director": f"village-{village}",
        "street supervisor": f"street-{village[:9]}",
        "district specialist": "district-120112",
        "city admin": "city",
    }
    return {
        who: User.objects.select_related("division").get(username=username) for who, username in names.items()
    }


def cases_for(who: str, user: object) -> list[Case]:
    from carenet.accounts.jurisdiction import scope
    from carenet.registry.models import Child

    # The ID searched for is a real one inside this user's jurisdiction, so the lookup finds a child.
    sample = scope(user, Child.objects.exclude(id_number_enc="")).order_by("id").first()  # type: ignore[arg-type]
    id_number = sample.id_number if sample else "120112201501010011"
    return [
        Case(who, "list, first page", ""),
        Case(who, "name 张伟", "张伟"),
        Case(who, "pinyin zhangwei", "zhangwei"),
        Case(who, "full ID number", id_number),
    ]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], object], warmup: int, runs: int) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def measure(case: Case, user: object, token: str, args: argparse.Namespace) -> Result:
    from django.test import Client

    from carenet.registry import selectors

    filters = selectors.ChildFilters(q=case.q)

    def selector() -> int:
        qs = selectors.child_list(actor=user, filters=filters)  # type: ignore[arg-type]
        count = qs.count()
        list(qs[:PAGE_SIZE])
        return count

    matches = selector()
    selector_ms = timed(selector, args.warmup, args.requests)
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}

    def request() -> None:
        response = client.get("/api/v1/children/", {"q": case.q, "page": 1}, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:200]!r}")

    try:
        api_ms = timed(request, args.warmup, args.requests)
    except Exception as exc:  # the API is optional: report the selector figures alone
        return Result(case, matches, None, selector_ms, api_error=str(exc))
    return Result(case, matches, api_ms, selector_ms)


def explain(case: Case, user: object) -> str:
    from carenet.registry import selectors

    qs = selectors.child_list(actor=user, filters=selectors.ChildFilters(q=case.q))  # type: ignore[arg-type]
    return qs[:PAGE_SIZE].explain(analyze=True, buffers=True) + "\n-- count:\n" + qs.explain(analyze=True)


# ------------------------------------------------------------------------------------------ report


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM registry_child")
        children = cursor.fetchone()[0]
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    import django

    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "postgresql": f"{pg} (shared_buffers {shared})",
        "python": platform.python_version(),
        "django": django.get_version(),
        "children": f"{children:,}",
    }


def report(results: list[Result], info: dict[str, str], build_seconds: float | None) -> None:
    print()
    for key, value in info.items():
        print(f"{key:>11}: {value}")
    if build_seconds is not None:
        print(f"{'build':>11}: {build_seconds:.0f} s ({build_seconds / 60:.1f} min)")
    print()
    header = f"{'user':<20} {'query':<18} {'matches':>9}   {'API p50':>8} {'API p95':>8}   {'sel p50':>8} {'sel p95':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        api = f"{r.api_ms[0]:8.1f} {r.api_ms[1]:8.1f}" if r.api_ms else f"{'n/a':>8} {'n/a':>8}"
        slow = "  <-- p95 > 150 ms" if max(r.selector_ms[1], r.api_ms[1] if r.api_ms else 0) > SLOW_MS else ""
        print(
            f"{r.case.who:<20} {r.case.label:<18} {r.matches:>9,}   {api}   {r.selector_ms[0]:8.1f} {r.selector_ms[1]:8.1f}{slow}"
        )
    print(
        "\nmilliseconds; API = GET /api/v1/children/?q=…&page=1 via django.test.Client with a Bearer token;"
    )
    print("sel = registry.selectors.child_list(...).count() + first page of 20.")
    for r in results:
        if r.api_error:
            print(f"API error for {r.case.who} / {r.case.label}: {r.api_error}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url, drop=args.rebuild)
    setup_django(args.database_url)
    from django.core.management import call_command

    from carenet.accounts.services import token_issue

    call_command("migrate", verbosity=0)
    build_seconds = None if args.skip_build else build(args.children, args.seed, args.workers)
    results = []
    for who, user in personas().items():
        token = token_issue(user=user)  # type: ignore[arg-type]
        for case in cases_for(who, user):
            log(f"measuring {who} / {case.label} …")
            results.append(measure(case, user, token, args))
            if args.explain:
                print(f"\n==== {who} / {case.label}\n{explain(case, user)}")
    report(results, machine(), build_seconds)


if __name__ == "__main__":
    main()
