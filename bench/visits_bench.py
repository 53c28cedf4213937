"""Visits benchmark: phones posting visits to the production server, and the overdue list and rollup, at city scale.

    .venv/bin/python bench/visits_bench.py                  # data if missing, then serve and measure
    .venv/bin/python bench/visits_bench.py --data-only      # only make sure the data is there
    .venv/bin/python bench/visits_bench.py --workers 2 --threads 4 --duration 60

Data (PostgreSQL, database carenet_bench, shared with registry_bench.py): the demo city with 1,000,000
children (`demo_build`, which brings four months of visits, problems and every child's schedule), then older
visits added with COPY, district by district, until the database holds --visits (10,000,000) visits. Each
step is skipped when already done and every district is its own transaction, so an interrupted run resumes.

Load: `carenet serve` (gunicorn, not runserver; DEBUG off) on loopback; --clients (50) asyncio clients on
raw HTTP/1.1 keep-alive connections, each one village director with its own Bearer token, POST
/api/v1/visits/ for children of that director's village with a fresh uuid4 client_id (and ~5% replays of a
body already sent, answered 200), for --warmup seconds untimed and then --duration seconds timed.
Reads: GET /api/v1/visits/due/ and /api/v1/visits/rollup/ for the city administrator and a district
specialist, sequentially on a warm server, p50/p95. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_bench import BENCH_FIELD_KEY, DEFAULT_URL, ROOT, ensure_database, log, setup_django  # noqa: E402
from registry_bench import machine as registry_machine  # noqa: E402

from carenet.cli import server_shape  # noqa: E402

TARGET_RATE = 300.0  # visits/s
TARGET_P99_MS = 250.0
TARGET_READ_MS = 300.0
PROGRESS_TABLE = "bench_progress"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    p.add_argument("--children", type=int, default=1_000_000, help="children if the city must be built")
    p.add_argument("--visits", type=int, default=10_000_000, help="past visits the database should hold")
    p.add_argument("--seed", type=int, default=None, help="demo seed (default: the demo's own)")
    p.add_argument("--gen-workers", type=int, default=None, help="generator processes (default: automatic)")
    p.add_argument("--data-only", action="store_true", help="make sure the data is there, then stop")
    p.add_argument("--rebuild", action="store_true", help="drop and recreate the database first")
    p.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    shape = server_shape()
    p.add_argument(
        "--workers",
        type=int,
        default=shape[0],
        help=f"gunicorn worker processes (default: carenet serve's, {shape[0]})",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=shape[1],
        help=f"threads per worker (default: carenet serve's, {shape[1]})",
    )
    p.add_argument(
        "--worker-connections",
        type=int,
        default=None,
        help="gunicorn --worker-connections (default: clients / workers, rounded up; see the README)",
    )
    p.add_argument("--clients", type=int, default=50, help="concurrent clients (one director each)")
    p.add_argument(
        "--close", action="store_true", help="a new connection for every request instead of keep-alive"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered requests/s over all clients (Poisson arrivals; default 0 = closed loop, as fast as answered)",
    )
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of untimed load first")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of timed load")
    p.add_argument("--replays", type=float, default=0.05, help="share of posts that replay an earlier body")
    p.add_argument("--photos", type=float, default=0.1, help="share of new visits carrying one photo")
    p.add_argument("--problems", type=float, default=0.02, help="share of new visits raising a problem")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the posting load this many times on the same server (each with its warm-up) and summarise:"
        " this machine's speed varies by up to 2x within minutes, one run says little",
    )
    p.add_argument("--reads", type=int, default=20, help="timed calls per read case (0: no reads)")
    p.add_argument("--no-load", action="store_true", help="skip the posting load (reads only)")
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also run the same load against GET /api/v1/me (token check only): the stack's own ceiling",
    )
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the read queries")
    return p.parse_args()


# ================================================================================================== data


def progress_get(step: str) -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (step text PRIMARY KEY, value text)")
        cursor.execute(f"SELECT value FROM {PROGRESS_TABLE} WHERE step = %s", [step])
        row = cursor.fetchone()
    return row[0] if row else None


def progress_set(step: str, value: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PROGRESS_TABLE} (step, value) VALUES (%s, %s) "
            "ON CONFLICT (step) DO UPDATE SET value = EXCLUDED.value",
            [step, value],
        )


def ensure_data(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from carenet.demo import visits as demo_visits
    from carenet.demo.build import DEFAULT_SEED, demo_build
    from carenet.registry.models import Child
    from carenet.visits.models import Visit

    seed = args.seed if args.seed is not None else DEFAULT_SEED
    children = Child.objects.count()
    if children == 0:
        log(f"building the demo city with {args.children:,} children (visits included) …")
        result = demo_build(children=args.children, seed=seed, workers=args.gen_workers, log=log)
        log(f"built in {result.seconds:.0f} s")
        analyze()
    elif children < args.children * 0.99:
        raise SystemExit(
            f"the database holds {children:,} children, not {args.children:,}: use --rebuild (or --children)"
        )
    else:
        log(f"reusing the city: {children:,} children")
    if not Visit.objects.exists():
        # A city built before the demo made visits: give it the demo's four months now.
        log("adding the demo's visits, problems and schedules …")
        with transaction.atomic():
            demo_visits.populate_visits(
                users=demo_visits.demo_users(),
                seed=f"{seed}:visits",
                today=timezone.localdate(),
                log=log,
                workers=args.gen_workers,
            )
        analyze()
    extend_history(args, seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'visits_visit'")
        log(f"visits (estimate): {cursor.fetchone()[0]:,}")


def extend_history(args: argparse.Namespace, seed: int) -> None:
    """Older visits until the database holds --visits: in rounds (a child's history stops at age one, so a
    round may fall short), one district per transaction, each recorded in PROGRESS_TABLE (resumable)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from carenet.demo import visits as demo_visits
    from carenet.demo.population import worker_count
    from carenet.visits.models import Visit, VisitSchedule

    for round_ in range(1, 6):
        plan = progress_get(f"history-extra:{round_}")
        if plan is None:
            current = Visit.objects.count()
            if current >= args.visits * 0.99:
                log(f"visits: {current:,} (target {args.visits:,})")
                return
            visited = VisitSchedule.objects.filter(last_visit_on__isnull=False).count()
            extra = (args.visits - current) / max(1, visited) * 1.05
            progress_set(f"history-extra:{round_}", f"{extra:.4f}")
            log(
                f"visits: {current:,}; adding ~{extra:.2f} older visits for each of {visited:,} visited children"
            )
        else:
            extra = float(plan)
        prefix = f"history:{round_}:"
        done = {step.removeprefix(prefix) for step in _steps() if step.startswith(prefix)}
        if len(done) >= 16:
            continue
        started = time.monotonic()
        units = demo_visits.history_units(
            users=demo_visits.demo_users(),
            seed=f"{seed}:history:{round_}",
            today=timezone.localdate(),
            extra=extra,
        )
        todo = [u for u in units if u.district not in done]
        log(
            f"older visits, round {round_}, {len(todo)} districts (read {time.monotonic() - started:.0f} s) …"
        )
        workers = worker_count(sum(len(u.kids) for u in todo), args.gen_workers)
        for unit, rows in zip(todo, demo_visits._results(todo, workers), strict=True):
            step = time.monotonic()
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # The ids written are the database's own (children, accounts): skip the per-row foreign-key
                    # triggers of this bulk load, as pg_restore does (needs a superuser; the bench runs as root).
                    cursor.execute("SET LOCAL session_replication_role = replica")
                writer = demo_visits._Writer(schedules=False)
                writer.write(rows)
                stats = writer.finish()
                progress_set(f"{prefix}{unit.district}", str(stats.visits))
            log(f"  {unit.district}: {stats.visits:,} older visits ({time.monotonic() - step:.0f} s)")
        log(f"round {round_} done in {time.monotonic() - started:.0f} s")
        analyze()


def _steps() -> list[str]:
    from django.db import connection

    progress_get("")  # creates the table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT step FROM {PROGRESS_TABLE}")
        return [row[0] for row in cursor.fetchall()]


def analyze() -> None:
    """VACUUM too: index-only scans on the schedule need the visibility map of freshly loaded tables."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in ("visits_visitschedule", "visits_visit", "problems_problem", "registry_child"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"VACUUM ANALYZE {time.monotonic() - started:.0f} s")


# ================================================================================================ clients


@dataclass
class Director:
    username: str
    village: str
    token: str
    children: list[tuple[int, str]]  # (child id, birth date)


def pick_directors(count: int) -> list[Director]:
    """The `count` villages with the most scheduled children, spread over the city; a token each."""
    from django.db.models import Count

    from carenet.accounts.models import User
    from carenet.accounts.services import token_issue
    from carenet.visits.models import VisitSchedule

    villages = list(
        VisitSchedule.objects.values("division_code")
        .annotate(n=Count("child_id"))
        .order_by("-n", "division_code")
        .values_list("division_code", flat=True)[:count]
    )
    users = {u.username: u for u in User.objects.filter(username__in=[f"village-{v}" for v in villages])}
    out = []
    for village in villages:
        kids = list(
            VisitSchedule.objects.filter(division_code=village)
            .order_by("child_id")
            .values_list("child_id", "child__birth_date")
        )
        user = users[f"village-{village}"]
        out.append(
            Director(user.username, village, token_issue(user=user), [(k, b.isoformat()) for k, b in kids])
        )
    return out


def sample_photo() -> str:
    """A 640×480 JPEG of ~30 KB (a phone photo after the app's downscaling), base64."""
    from PIL import Image, ImageDraw

    rng = random.Random(1)
    image = Image.new("RGB", (640, 480), (120, 140, 110))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rng.randrange(640), rng.randrange(480)
        draw.rectangle(
            (x, y, x + rng.randrange(5, 60), y + rng.randrange(5, 60)),
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70)
    return base64.b64encode(buf.getvalue()).decode()


LIVING = ["good"] * 55 + ["adequate"] * 32 + ["difficult"] * 11 + ["unsafe"] * 2
NOTES = [
    "孩子性格开朗，学习成绩中等。",
    "与孩子单独交谈，情绪稳定。",
    "已告知监护人有困难及时联系儿童主任。",
    "送去学习用品一套。",
    "提醒监护人注意防溺水安全。",
    "",
]


def visit_body(
    rng: random.Random, kid: tuple[int, str], today: dt.date, photo: str, args: argparse.Namespace
) -> bytes:
    child, birth = kid
    visited = today - dt.timedelta(days=rng.randrange(0, 3))
    visited = max(visited, dt.date.fromisoformat(birth))
    body: dict[str, object] = {
        "client_id": str(uuid.uuid4()),
        "child": child,
        "visited_on": visited.isoformat(),
        "living": rng.choice(LIVING),
        "met_child": True,
        "met_guardian": rng.random() < 0.8,
        "met_others": rng.choice(["", "", "奶奶", "邻居"]),
        "living_note": rng.choice(["", "住房整洁，生活用品齐全", "冬季取暖条件一般"]),
        "guardian_present": True,
        "guardian_capable": rng.random() < 0.9,
        "school_enrolled": True,
        "school_attending": rng.random() < 0.98,
        "grade": rng.choice(["三年级", "五年级", "初一", ""]),
        "health": rng.choice(["身体健康", "良好", "近期感冒，已好转"]),
        "needs": rng.choice(["", "", "需要学习用品", "希望提供课业辅导"]),
        "notes": rng.choice(NOTES),
        "location": {
            "latitude": round(39.1 + rng.random() * 0.2, 6),
            "longitude": round(117.1 + rng.random() * 0.2, 6),
            "accuracy": rng.randrange(5, 50),
        }
        if rng.random() < 0.8
        else None,
        "photos": [photo] if rng.random() < args.photos else [],
        "problems": [],
    }
    if rng.random() < args.problems:
        body["problems"] = [
            {
                "category": "living",
                "severity": "general",
                "description": "冬季取暖设施损坏，需要更换",
                "owner_kind": "street",
                "owner_department": "",
            }
        ]
    return json.dumps(body, ensure_ascii=False).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, port: int, close: bool = False) -> None:
        self.port = port
        self.close_each = close
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nAccept: application/json\r\n"
            f"{'Connection: close' if self.close_each else 'Connection: keep-alive'}\r\n\r\n"
        ).encode()
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(head + body)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                payload = await self.reader.readexactly(length) if length else b""
                if close or self.close_each:
                    await self.close()
                return status, payload
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # ms, timed window only
    statuses: Counter = field(default_factory=Counter)  # type: ignore[type-arg]
    created: int = 0
    replays: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0  # the load generator's own CPU seconds in the timed window
    server_cpu: float = 0.0  # gunicorn (master and workers) CPU seconds in the timed window
    db_cpu: float = 0.0  # PostgreSQL backends of the benchmark database, CPU seconds in the timed window
    machine_cpu: float = 0.0  # all CPU seconds spent on the machine in the timed window (every process)


async def run_load(
    directors: list[Director], args: argparse.Namespace, server_pid: int, probe: str = ""
) -> LoadResult:
    """Closed loop: each client sends its next request when the previous answer is in. With `probe`, every
    request is a GET of that path instead of a visit."""
    result = LoadResult()
    today = dt.date.today()
    photo = sample_photo()
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + args.warmup
    stop = measure_from + args.duration

    async def client(index: int, director: Director) -> None:
        rng = random.Random(index)
        conn = Connection(args.port, close=args.close)
        sent: list[bytes] = []
        # Each child once before any twice, as a director goes round the village.
        kids = rng.sample(director.children, len(director.children))
        posted = 0
        due = loop.time()
        while True:
            if args.rate:
                due += rng.expovariate(args.rate / args.clients)
                await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            if now >= stop:
                break
            replay = bool(sent) and rng.random() < args.replays
            body = (
                b""
                if probe
                else rng.choice(sent)
                if replay
                else visit_body(rng, kids[posted % len(kids)], today, photo, args)
            )
            posted += 0 if replay or probe else 1
            t0 = time.perf_counter()
            try:
                if probe:
                    status, payload = await conn.request("GET", probe, director.token)
                else:
                    status, payload = await conn.request("POST", "/api/v1/visits/", director.token, body)
            except (OSError, asyncio.IncompleteReadError) as exc:
                status, payload = 0, str(exc).encode()
            elapsed = (time.perf_counter() - t0) * 1000
            if args.rate:  # from the intended send time: a late send (previous answer slow) counts as waiting
                elapsed += max(0.0, now - due) * 1000
            if not replay and status == 201:
                sent.append(body)
                if len(sent) > 50:
                    sent.pop(0)
            if now >= measure_from:
                result.latencies.append(elapsed)
                result.statuses[status] += 1
                if status == 201 or (probe and status == 200):
                    result.created += 1
                elif status == 200 and replay:
                    result.replays += 1
                if status not in (200, 201) and len(result.errors) < 5:
                    result.errors.append(f"{status} {'replay' if replay else 'new'}: {payload[:300]!r}")
        await conn.close()

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu, before = time.process_time(), await asyncio.to_thread(cpu_snapshot, server_pid)
        await asyncio.sleep(max(0.0, stop - loop.time()))
        after = await asyncio.to_thread(cpu_snapshot, server_pid)
        result.client_cpu = time.process_time() - cpu
        result.server_cpu = _spent(before[0], after[0])
        result.db_cpu = _spent(before[1], after[1])
        result.machine_cpu = after[2] - before[2]

    await asyncio.gather(
        cpu_meter(), *(client(i, directors[i % len(directors)]) for i in range(args.clients))
    )
    result.seconds = args.duration
    return result


TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: str) -> tuple[str, int, float]:
    """(command, process group, CPU seconds) of one process from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def cpu_snapshot(server_pid: int) -> tuple[dict[int, float], dict[int, float], float]:
    """CPU seconds so far, per process, of the server (its own session: process group = its pid) and of
    PostgreSQL for the benchmark database (its backends and the shared background processes: WAL writer,
    checkpointer, …), and of the whole machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'"
        )
        db_pids = {row[0] for row in cursor.fetchall()} - {connection.connection.info.backend_pid}
    connection.close()  # a thread's own connection (asyncio.to_thread): not left open
    server: dict[int, float] = {}
    db: dict[int, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            _name, group, cpu = _proc_cpu(pid)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if group == server_pid:
            server[int(pid)] = cpu
        elif int(pid) in db_pids:
            db[int(pid)] = cpu
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))  # all but idle and iowait
    return server, db, busy / TICK


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two snapshots by the processes alive at the second (new ones from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


# ================================================================================================= server


def start_server(args: argparse.Namespace, media: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CARENET_DEMO": "1",  # demo keys; DEBUG stays off
        "CARENET_DEBUG": "0",
        "CARENET_FIELD_KEY": BENCH_FIELD_KEY,
        "CARENET_BIND": f"127.0.0.1:{args.port}",
        "CARENET_WORKERS": str(args.workers),
        "CARENET_THREADS": str(args.threads),
        "CARENET_MEDIA_ROOT": media,
        # No escalation run inside the measured minute (in production it runs every 10 minutes).
        "CARENET_ESCALATE_MINUTES": "0",
        "CARENET_VAR_DIR": media,
        "DJANGO_SETTINGS_MODULE": "carenet.settings",
    }
    logfile = open(Path(media) / "server.log", "wb")  # noqa: SIM115
    per_worker = args.worker_connections or -(-args.clients // args.workers)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "carenet"),
            "serve",
            "--worker-connections",
            str(per_worker),
        ],
        env=env,
        cwd=ROOT,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: see {media}/server.log")
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        stop_server(server)
        raise SystemExit("the server did not start within 60 s")
    return server


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# ================================================================================================== reads


@dataclass
class ReadCase:
    who: str
    label: str
    path: str
    token: str


@dataclass
class ReadResult:
    case: ReadCase
    p50: float
    p95: float
    status: Counter  # type: ignore[type-arg]
    sel_p50: float | None = None
    sel_p95: float | None = None
    note: str = ""


def rewind(directors: list[Director]) -> None:
    """Move the last week's visits of the directors' children a week back and reschedule those children, so
    that every visit the next load posts is the child's latest and moves its schedule (and the visit tally),
    as a real visit does. Without it, from the second run on most posts would land on a child an earlier
    run had already visited that day, and cost the database less than real ones."""
    from django.db import connection, transaction
    from django.utils import timezone

    from carenet.visits import schedule, tally

    started = time.monotonic()
    since = timezone.localdate() - dt.timedelta(days=7)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE visits_visit SET visited_on = visited_on - 7 WHERE division_code = ANY(%s) AND visited_on > %s",
                [[d.village for d in directors], since],
            )
            moved = cursor.rowcount
        schedule.refresh([kid for d in directors for kid, _ in d.children])
    tally.compact()
    log(f"rewound {moved:,} recent visits of those children by a week ({time.monotonic() - started:.0f} s)")


def fold_tally() -> tuple[int, float, int]:
    """Fold in the tally changes the load appended, timed: what the next reader (or the timer) would pay."""
    from django.conf import settings

    from carenet.visits import tally

    started = time.perf_counter()
    folded = tally.compact()
    return folded, (time.perf_counter() - started) * 1000, settings.VISIT_TALLY_COMPACT_ROWS


def read_cases(port: int) -> tuple[list[ReadCase], dict[str, object]]:
    from carenet.accounts.models import User
    from carenet.accounts.services import token_issue

    users = {
        "city admin": User.objects.select_related("division").get(username="city"),
        "district specialist": User.objects.select_related("division").get(username="district-120112"),
    }
    cases = []
    for who, user in users.items():
        token = token_issue(user=user)
        code = user.division.code
        cases.append(ReadCase(who, "overdue list", "/api/v1/visits/due/", token))
        cases.append(ReadCase(who, "rollup", f"/api/v1/visits/rollup/?division={code}", token))
    return cases, users  # type: ignore[return-value]


async def measure_reads(cases: list[ReadCase], args: argparse.Namespace) -> list[ReadResult]:
    out = []
    for case in cases:
        conn = Connection(args.port)
        samples, statuses = [], Counter()
        for i in range(args.reads + 3):
            t0 = time.perf_counter()
            status, _payload = await conn.request("GET", case.path, case.token)
            if i >= 3:  # three warm-up calls
                samples.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1
        await conn.close()
        out.append(ReadResult(case, statistics.median(samples), pct(samples, 0.95), statuses))
    return out


def selector_timings(results: list[ReadResult], users: dict[str, object], args: argparse.Namespace) -> None:
    """The same reads through the selectors alone, in this process (no HTTP, no serialisation, no access log)."""
    from carenet.visits import selectors

    for r in results:
        user = users[r.case.who]
        if r.case.label == "overdue list":

            def fn(user=user) -> None:  # type: ignore[no-untyped-def]
                selectors.worklist(user)
        else:

            def fn(user=user) -> None:  # type: ignore[no-untyped-def]
                selectors.rollup(user, user.division)

        samples = []
        for i in range(args.reads + 3):
            t0 = time.perf_counter()
            fn()
            if i >= 3:
                samples.append((time.perf_counter() - t0) * 1000)
        r.sel_p50, r.sel_p95 = statistics.median(samples), pct(samples, 0.95)


def explain(users: dict[str, object]) -> None:
    from django.db import connection
    from django.utils import timezone

    from carenet.visits import selectors, tally

    today = timezone.localdate()
    for who, user in users.items():
        qs = selectors.schedules(user)  # type: ignore[arg-type]
        rows = qs.select_related("child", "child__division").order_by("next_due_on", "child_id")
        print(f"\n==== {who}: overdue page\n{rows.filter(next_due_on__lt=today)[:200].explain(analyze=True)}")
        print(
            f"\n==== {who}: never visited page\n"
            f"{rows.filter(last_visit_on__isnull=True)[:200].explain(analyze=True)}"
        )
        code = user.division.code  # type: ignore[attr-defined]
        width = 6 if len(code) <= 4 else 9
        sql, params = tally.sums_sql(user, code, width, today, today + dt.timedelta(days=7))  # type: ignore[arg-type]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n==== {who}: rollup from the visit tally\n{plan}")


# ================================================================================================= report


def machine_info() -> dict[str, str]:
    from django.db import connection

    info = registry_machine()
    with connection.cursor() as cursor:
        for label, table in (
            ("visits", "visits_visit"),
            ("schedules", "visits_visitschedule"),
            ("problems", "problems_problem"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            info[label] = f"{cursor.fetchone()[0]:,}"
        cursor.execute("SHOW max_connections")
        info["postgresql"] += f", max_connections {cursor.fetchone()[0]}"
    load = os.getloadavg()
    info["load avg"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (before the run)"
    return info


def cpu_report(load: LoadResult) -> None:
    """Where the CPU went. The per-request costs hold whatever else runs on the machine, so they also say
    what two idle cores would serve; the load average printed above says how idle the machine was."""
    n = max(1, len(load.latencies))
    spent = load.server_cpu + load.db_cpu + load.client_cpu
    others = max(0.0, load.machine_cpu - spent)
    cores = os.cpu_count() or 1
    print(
        f"  CPU per request: gunicorn {load.server_cpu / n * 1000:.1f} ms, PostgreSQL {load.db_cpu / n * 1000:.1f} ms, "
        f"load generator {load.client_cpu / n * 1000:.1f} ms"
    )
    print(
        f"  machine busy {load.machine_cpu / load.seconds:.2f} of {cores} cores, other processes "
        f"{others / load.seconds:.2f}; at these costs {cores} idle cores would serve ≈ {cores * n / max(spent, 1e-9):.0f} req/s"
    )


def met(load: LoadResult) -> bool:
    return load.created / load.seconds >= TARGET_RATE and pct(load.latencies, 0.99) < TARGET_P99_MS


def report(
    info: dict[str, str],
    args: argparse.Namespace,
    loads: list[LoadResult],
    reads: list[ReadResult],
    ceiling: LoadResult | None = None,
) -> None:
    print()
    for key, value in info.items():
        print(f"{key:>11}: {value}")
    print(
        f"{'server':>11}: carenet serve (gunicorn gthread) --workers {args.workers} --threads {args.threads} "
        f"--worker-connections {args.worker_connections or -(-args.clients // args.workers)}, DEBUG off, access log on"
    )
    print(f"{'clients':>11}: {'a new connection per request' if args.close else 'keep-alive connections'}")
    for number, load in enumerate(loads, 1):
        lat = load.latencies
        rate = load.created / load.seconds
        replay_rate = load.replays / load.seconds
        offered = f"offered {args.rate:.0f} req/s (Poisson)" if args.rate else "closed loop"
        run = f" (run {number} of {len(loads)})" if len(loads) > 1 else ""
        print(
            f"\nPOST /api/v1/visits/{run}  {args.clients} clients, {offered}, {args.warmup:.0f} s warm-up + "
            f"{args.duration:.0f} s timed, {args.photos:.0%} with a photo, {args.replays:.0%} replays"
        )
        print(
            f"  new visits stored: {load.created:,} = {rate:.1f} visits/s   (+ {replay_rate:.1f} replays/s answered 200)"
        )
        print(f"  all requests: {len(lat):,} = {len(lat) / load.seconds:.1f} req/s")
        print(
            f"  latency ms: p50 {pct(lat, 0.5):.1f}  p90 {pct(lat, 0.9):.1f}  p99 {pct(lat, 0.99):.1f}  "
            f"max {max(lat) if lat else float('nan'):.1f}"
        )
        print(f"  status: {dict(sorted(load.statuses.items()))}")
        cpu_report(load)
        print(
            f"  target ≥ {TARGET_RATE:.0f} visits/s with p99 < {TARGET_P99_MS:.0f} ms: "
            f"{'MET' if met(load) else 'MISSED'}"
        )
        for e in load.errors:
            print(f"  error sample: {e}")
    if len(loads) > 1:
        rates = [load.created / load.seconds for load in loads]
        p99s = [pct(load.latencies, 0.99) for load in loads]
        print(
            f"\n{len(loads)} runs: visits/s min {min(rates):.1f}  median {statistics.median(rates):.1f}  "
            f"max {max(rates):.1f}; p99 ms min {min(p99s):.1f}  median {statistics.median(p99s):.1f}  "
            f"max {max(p99s):.1f}; target met in {sum(met(load) for load in loads)} of {len(loads)}"
        )
    if ceiling is not None:
        lat = ceiling.latencies
        print(
            f"\nceiling: GET /api/v1/me (token check, one small JSON), same {args.clients} clients, {args.duration:.0f} s"
        )
        print(
            f"  {ceiling.created / ceiling.seconds:.1f} req/s, p50 {pct(lat, 0.5):.1f}  p99 {pct(lat, 0.99):.1f} ms, "
            f"status {dict(ceiling.statuses)}"
        )
        cpu_report(ceiling)
    if reads:
        print(f"\nreads on the warm server, {args.reads} calls each (ms)")
        print(
            f"  {'user':<20} {'read':<14} {'HTTP p50':>9} {'HTTP p95':>9} {'sel p50':>8} {'sel p95':>8}  status"
        )
        for r in reads:
            sel = f"{r.sel_p50:8.1f} {r.sel_p95:8.1f}" if r.sel_p50 is not None else f"{'':8} {'':8}"
            flag = "" if r.p95 < TARGET_READ_MS else "   <-- p95 ≥ 300 ms"
            print(
                f"  {r.case.who:<20} {r.case.label:<14} {r.p50:9.1f} {r.p95:9.1f} {sel}  {dict(r.status)}{flag}"
            )
        print("  HTTP = GET through gunicorn (token, selector, JSON, access records); sel = selector alone.")


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url, drop=args.rebuild)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ensure_data(args)
    if args.data_only:
        return
    info = machine_info()
    directors = pick_directors(args.clients)
    log(f"{len(directors)} directors, {sum(len(d.children) for d in directors):,} children to visit")
    cases, users = read_cases(args.port)
    media = tempfile.mkdtemp(prefix="carenet-visits-bench-")
    if not args.port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    from django.db import connections

    connections.close_all()
    server = start_server(args, media)
    loads: list[LoadResult] = []
    ceiling = None
    try:
        for number in range(0 if args.no_load else max(1, args.repeat)):
            rewind(directors)
            log(
                f"load {number + 1}/{args.repeat}: {args.clients} clients, {args.warmup:.0f} s warm-up + "
                f"{args.duration:.0f} s …"
            )
            loads.append(asyncio.run(run_load(directors, args, server.pid)))
        if args.ceiling:
            log("ceiling: GET /api/v1/me …")
            ceiling = asyncio.run(run_load(directors, args, server.pid, probe="/api/v1/me"))
        folding = fold_tally() if loads else None
        reads = []
        if args.reads > 0:
            log("reads …")
            reads = asyncio.run(measure_reads(cases, args))
    finally:
        stop_server(server)
    selector_timings(reads, users, args)
    if args.explain:
        explain(users)
    report(info, args, loads, reads, ceiling)
    if folding:
        print(
            f"\nvisit tally: {folding[0]:,} changes appended by the schedule's triggers since the last fold "
            f"(the serve timer folds every 10 min, readers past {folding[2]:,}); folded in by one compaction "
            f"in {folding[1]:.0f} ms"
        )
    kept = Path(tempfile.gettempdir()) / "carenet-visits-bench-server.log"
    shutil.copy(Path(media) / "server.log", kept)
    print(f"\nserver log: {kept}")
    shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
