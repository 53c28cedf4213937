"""What a matrix row is, how it is called for a persona and a target, and what must come back.

See the top of tests/test_authorization_matrix.py for how to write a row.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse

from carenet.accounts.permissions import ROLE_PERMS, Perm
from carenet.accounts.services import token_issue
from carenet.tests_matrix import world as w
from carenet.tests_matrix.routes import Route

OK = {200, 201, 204, 302}
NOT_A_CHILD_ID = 987654321


class Kind(StrEnum):
    STATIC = (
        "static/docs"  # third-party or static: listed so nothing goes unnoticed, never called (give why=)
    )
    PUBLIC = "public"  # meant for anonymous callers (the sign-in page): anonymous call must not fail
    AUTH = "auth"  # signs in or out: called anonymously, must not fail and must not hand out any child's data
    SIGNED_IN = (
        "signed-in"  # no particular record: anonymous refused; every persona OK, or 403 without `perm`
    )
    CHILD_LIST = (
        "child list"  # lists children: each persona gets exactly the names of the children it may see
    )
    CHILD_READ = (
        "child-scoped read"  # one child's data: only personas that may see the target get it, others 404
    )
    CHILD_WRITE = (
        "child-scoped write"  # changes one child: only personas that may see the target succeed, others 404
    )
    DIVISION_LIST = "division list"  # lists divisions: exactly the target divisions the persona may see
    DIVISION_READ = "division-scoped read"  # one division: only personas that may see it get it, others 404
    DIVISION_WRITE = "division-scoped write"  # files a new record under a target division: only where allowed


CHILD_KINDS = {Kind.CHILD_READ, Kind.CHILD_WRITE}
DIVISION_KINDS = {Kind.DIVISION_READ, Kind.DIVISION_WRITE}
UNCALLED = {Kind.STATIC}
ANONYMOUS_ALLOWED = {Kind.STATIC, Kind.PUBLIC, Kind.AUTH}

Data = dict[str, Any] | Callable[[Any], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    route: str  # the route's key: "namespace:name" ("path:<route>" for an unnamed pattern)
    kind: Kind
    method: str = "GET"
    perm: Perm | None = None  # the right needed besides jurisdiction (None: any signed-in user)
    data: Data = (
        None  # request body; a function gets the target (ChildTarget / DivisionTarget) and returns it
    )
    obj: str = "child"  # what the URL's id names for child-scoped rows: child, member, category or document
    shows: str = (
        "name"  # proof the target's data came back: "name", "photo" (its bytes) or "document" (its bytes)
    )
    effect: Callable[[Any], bool] | None = None  # writes: did the change land? (gets the target)
    prepare: Callable[[Any], None] | None = (
        None  # run before the call (e.g. archive the child before "restore")
    )
    denied: frozenset[int] = frozenset({404})  # statuses that count as "refused" for a persona holding `perm`
    why: str = ""  # STATIC rows: why the route needs no authorization check

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api-")


# ---------------------------------------------------------------- calling


class Callers:
    """One signed-in client per persona (a Bearer token for the API, a session for the web), made once per test."""

    def __init__(self, world: w.World) -> None:
        self.world = world
        self._api: dict[str, Client] = {}
        self._web: dict[str, Client] = {}
        self._missing: dict[tuple[str, str, str], tuple[int, bytes]] = {}

    def missing(self, row: Row, route: Route, persona: str) -> tuple[int, bytes]:
        """The persona's answer for an id that does not exist (once per row and persona)."""
        key = (row.route, row.method, persona)
        if key not in self._missing:
            response, _ = call(self, row, route, persona, "missing")
            self._missing[key] = (response.status_code, _normalised(response))
        return self._missing[key]

    def client(self, persona: str | None, *, api: bool) -> Client:
        if persona is None:
            return Client()
        cache = self._api if api else self._web
        if persona not in cache:
            user = self.world.personas[persona]
            if api:
                cache[persona] = Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})
            else:
                client = Client()
                client.force_login(user)
                cache[persona] = client
        return cache[persona]


def url_for(row: Row, route: Route, target: Any) -> str:
    """Fill the URL's parameters from the target: a child-scoped row's id is the target child's (or its member's,
    membership's, document's); a division-scoped row's code is the target division's; "missing" names nothing."""
    kwargs: dict[str, Any] = {}
    for param in route.params:
        if isinstance(target, w.ChildTarget):
            kwargs[param] = target.obj(row.obj).pk
        elif isinstance(target, w.DivisionTarget):
            kwargs[param] = target.division.code
        elif target == "missing":
            kwargs[param] = "999999999999" if row.kind in DIVISION_KINDS else NOT_A_CHILD_ID
        else:
            raise AssertionError(
                f"{row.route}: the URL needs {param!r}; give the row a child- or division-scoped kind"
            )
    return reverse(row.route, kwargs=kwargs)


def call(
    callers: Callers, row: Row, route: Route, persona: str | None, target: Any
) -> tuple[HttpResponseBase, bool | None]:
    """Make the request inside a savepoint that is rolled back, so every call sees the same untouched world.
    Returns the response and, for rows with an `effect`, whether the change landed."""
    client = callers.client(
        persona, api=row.is_api
    )  # outside the savepoint: the token/session must survive it
    with transaction.atomic():
        if row.prepare is not None and target not in (None, "missing"):
            row.prepare(target)
        url = url_for(row, route, target)
        data = row.data(_stand_in(callers.world, row, target)) if callable(row.data) else row.data
        method = getattr(client, row.method.lower())
        if row.method == "GET":
            response = method(url, data or {})
        elif row.is_api:
            response = method(url, json.dumps(data or {}), content_type="application/json")
        elif row.method == "POST":
            response = method(url, data or {})  # multipart, so file uploads work
        else:
            response = method(url, data or {}, content_type="application/x-www-form-urlencoded")
        effect = row.effect(target) if row.effect is not None and target not in (None, "missing") else None
        transaction.set_rollback(True)
    return response, effect


def _stand_in(world: w.World, row: Row, target: Any) -> Any:
    """Body data for a call aimed at a missing id is built as if for the persona's first target."""
    if target != "missing":
        return target
    return world.divisions["village_a"] if row.kind in DIVISION_KINDS else world.children["own"]


# ---------------------------------------------------------------- reading responses


def body_bytes(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return bytes(response.content)  # type: ignore[attr-defined]


def body_text(response: HttpResponseBase, raw: bytes) -> str:
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            str(v) for sheet in book for r in sheet.iter_rows(values_only=True) for v in r if v is not None
        )
    if "json" in kind:
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False)  # \u-escaped names must still be found
        except ValueError:
            pass
    return raw.decode("utf-8", "replace")


def marker(row: Row, target: Any) -> bytes:
    if isinstance(target, w.DivisionTarget):
        return target.division.name.encode()
    if row.shows == "photo":
        return target.photo_bytes
    if row.shows == "document":
        return target.document_bytes
    if row.shows == "visit_photo":
        return target.visit_photo_bytes
    if row.shows == "account":
        return target.account.username.encode()
    return target.child.name.encode()


def contains(response: HttpResponseBase, raw: bytes, needle: bytes) -> bool:
    return needle in raw or needle.decode("utf-8", "ignore") in body_text(response, raw)


def holds(user: Any, perm: Perm | None) -> bool:
    return perm is None or perm in ROLE_PERMS.get(user.role, frozenset())


def login_redirect(response: HttpResponseBase) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL))


# ---------------------------------------------------------------- the checks


def check_anonymous(callers: Callers, row: Row, route: Route, world: w.World) -> list[str]:
    if row.kind in UNCALLED:
        return []
    target = _any_target(row, world)
    response, effect = call(callers, row, route, None, target)
    raw = body_bytes(response)
    problems = []
    if response.status_code >= 500:
        problems.append(f"anonymous: {response.status_code}")
    if row.kind in ANONYMOUS_ALLOWED:
        return problems
    refused = response.status_code == 401 if row.is_api else login_redirect(response)
    if not refused:
        problems.append(
            f"anonymous: got {response.status_code}, expected {'401' if row.is_api else 'a redirect to sign-in'}"
        )
    if isinstance(target, w.ChildTarget) and contains(response, raw, marker(row, target)):
        problems.append("anonymous: the response carries the target's data")
    if effect:
        problems.append("anonymous: the write landed")
    return problems


def _any_target(row: Row, world: w.World) -> Any:
    if row.kind in CHILD_KINDS:
        return world.children["own"]
    if row.kind in DIVISION_KINDS:
        return world.divisions["village_a"]
    return None


def check_persona(callers: Callers, row: Row, route: Route, world: w.World, persona: str) -> list[str]:
    if row.kind in UNCALLED or row.kind in {Kind.PUBLIC, Kind.AUTH}:
        return []
    if row.kind in CHILD_KINDS:
        return [
            p
            for key in w.CHILD_TARGETS
            for p in _check_target(
                callers, row, route, persona, world.children[key], key in w.VISIBLE_CHILDREN[persona]
            )
        ]
    if row.kind == Kind.DIVISION_READ:
        return [
            p
            for key in w.DIVISION_TARGETS
            for p in _check_target(
                callers, row, route, persona, world.divisions[key], key in w.VISIBLE_DIVISIONS[persona]
            )
        ]
    if row.kind == Kind.DIVISION_WRITE:
        return [
            p
            for key in w.DIVISION_TARGETS
            for p in _check_target(
                callers, row, route, persona, world.divisions[key], key in w.FILING_DIVISIONS[persona]
            )
        ]
    if row.kind == Kind.CHILD_LIST:
        return _check_list(
            callers,
            row,
            route,
            persona,
            [(t.child.name, key in w.VISIBLE_CHILDREN[persona]) for key, t in world.children.items()],
        )
    if row.kind == Kind.DIVISION_LIST:
        return _check_list(
            callers,
            row,
            route,
            persona,
            [(t.division.name, key in w.VISIBLE_DIVISIONS[persona]) for key, t in world.divisions.items()],
        )
    return _check_signed_in(callers, row, route, persona)


def _check_target(
    callers: Callers, row: Row, route: Route, persona: str, target: Any, visible: bool
) -> list[str]:
    allowed_right = holds(callers.world.personas[persona], row.perm)
    response, effect = call(callers, row, route, persona, target)
    raw = body_bytes(response)
    status = response.status_code
    shows = contains(response, raw, marker(row, target))
    where = f"{persona} -> {target.key}"
    problems = []
    if visible and allowed_right:
        if status not in OK:
            problems.append(
                f"{where}: got {status}, expected success (in jurisdiction, role holds {row.perm})"
            )
        elif row.kind in {Kind.CHILD_READ, Kind.DIVISION_READ} and status == 200 and not shows:
            problems.append(f"{where}: 200 but the target's data is not in the response")
        if row.effect is not None and not effect:
            problems.append(f"{where}: {status} but the change did not land")
        return problems
    expected = set(row.denied) | ({403} if not allowed_right else set())
    if not visible and allowed_right and row.kind in CHILD_KINDS | {Kind.DIVISION_READ}:
        expected = set(
            row.denied
        )  # outside jurisdiction is never a 403: that would confirm the record exists
    if status not in expected:
        problems.append(
            f"{where}: got {status}, expected {sorted(expected)} "
            f"({'outside jurisdiction' if not visible else 'role lacks ' + str(row.perm)})"
        )
    if shows and row.kind != Kind.DIVISION_WRITE:  # a refused form may still list the caller's own villages
        problems.append(f"{where}: refused target's data is in the response ({status})")
    if effect:
        problems.append(f"{where}: the write landed although it must be refused")
    if status == 404 and row.kind in CHILD_KINDS | {Kind.DIVISION_READ}:
        missing_status, missing_body = callers.missing(row, route, persona)
        if missing_status != 404 or missing_body != _normalised(response):
            problems.append(f"{where}: the 404 differs from the 404 for an id that does not exist")
    return problems


_CSRF = re.compile(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[A-Za-z0-9]+')


def _normalised(response: HttpResponseBase) -> bytes:
    """The body with what legitimately differs per request (the path, the masked CSRF token) blanked."""
    raw = _CSRF.sub(rb"\1<csrf>", body_bytes(response))
    path = response.wsgi_request.path.encode() if hasattr(response, "wsgi_request") else b""
    return raw.replace(path, b"<path>") if path else raw


def _check_list(
    callers: Callers, row: Row, route: Route, persona: str, names: list[tuple[str, bool]]
) -> list[str]:
    response, _ = call(callers, row, route, persona, None)
    status = response.status_code
    if not holds(callers.world.personas[persona], row.perm):
        return [] if status == 403 else [f"{persona}: got {status}, expected 403 (role lacks {row.perm})"]
    if status != 200:
        return [f"{persona}: got {status}, expected 200"]
    raw = body_bytes(response)
    text = body_text(response, raw)
    problems = []
    for name, visible in names:
        if visible and name not in text:
            problems.append(f"{persona}: {name} is missing from the list")
        if not visible and name in text:
            problems.append(f"{persona}: {name} is in the list but outside the persona's jurisdiction")
    return problems


def _check_signed_in(callers: Callers, row: Row, route: Route, persona: str) -> list[str]:
    response, _ = call(callers, row, route, persona, None)
    status = response.status_code
    if holds(callers.world.personas[persona], row.perm):
        return [] if status in OK else [f"{persona}: got {status}, expected success"]
    return [] if status == 403 else [f"{persona}: got {status}, expected 403 (role lacks {row.perm})"]
