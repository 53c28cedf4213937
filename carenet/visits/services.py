"""Writes for home visits: record one (exactly once per client id), set visit rules.

Every function is one transaction: it either all lands or nothing does."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from carenet.accounts.jurisdiction import scope_sql
from carenet.accounts.models import Role, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.audit.models import AccessLog
from carenet.core import rawsql
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry.models import Category, CategoryMembership, Child, ChildStatus
from carenet.visits import schedule
from carenet.visits.models import Interval, Visit, VisitPhoto, VisitRule, VisitSchedule

# The visit's own answers (everything but the child, the date, photos and problems).
VISIT_FIELDS = (
    "met_child",
    "met_guardian",
    "met_others",
    "living",
    "living_note",
    "guardian_present",
    "guardian_capable",
    "guardianship_change",
    "school_enrolled",
    "school_attending",
    "grade",
    "dropout_risk",
    "health",
    "safety_concern",
    "needs",
    "notes",
    "latitude",
    "longitude",
    "location_accuracy",
)
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def body_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a request body in canonical form: key order and whitespace do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ProblemInput:
    category: str
    severity: str
    description: str
    owner_kind: str = "street"
    owner_department: str = ""


@dataclass
class VisitInput:
    client_id: uuid.UUID
    child_id: int
    visited_on: dt.date
    fields: dict[str, Any] = field(default_factory=dict)
    photos: list[bytes] = field(default_factory=list)
    problems: list[ProblemInput] = field(default_factory=list)


def _require(actor: User, perm: Perm) -> None:
    if not has_perm(actor, perm):
        raise PermissionDeniedError(_("Your role may not do this."))


class VisitConflict(CarenetError):
    """The client id is taken by a different visit (another body, or another account)."""


def _check_photo(data: bytes, index: int) -> str:
    name = f"photos[{index}]"
    if len(data) > settings.MAX_VISIT_PHOTO_BYTES:
        raise CarenetError(
            _("The photo is %(size)d KB; the limit is %(limit)d KB.")
            % {"size": len(data) // 1024, "limit": settings.MAX_VISIT_PHOTO_BYTES // 1024},
            field=name,
        )
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise CarenetError(_("The photo is not a readable image (JPEG, PNG or WebP)."), field=name) from exc
    kind = PHOTO_TYPES.get(image.format or "")
    if kind is None:
        raise CarenetError(_("The photo is not a readable image (JPEG, PNG or WebP)."), field=name)
    return kind


def _limits() -> dict[str, tuple[int | None, frozenset[str] | None]]:
    out = {}
    for name in VISIT_FIELDS:
        f = Visit._meta.get_field(name)
        choices = frozenset(str(v) for v, _label in f.flatchoices) if f.choices else None  # type: ignore[union-attr]
        out[name] = (getattr(f, "max_length", None), choices)
    return out


_LIMITS = _limits()


def _check_fields(fields: dict[str, Any]) -> None:
    """What the model allows (lengths, choices, coordinates), checked without a full_clean: the API's schema
    already says the same, this keeps any other caller of the service as honest."""
    for name, value in fields.items():
        longest, choices = _LIMITS[name]
        if isinstance(value, str):
            if longest is not None and len(value) > longest:
                raise CarenetError(_("At most %(n)d characters.") % {"n": longest}, field=name)
            if choices is not None and value and value not in choices:
                raise CarenetError(_("Choose one of the listed values."), field=name)
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = fields.get(name)
        if value is not None and not -bound <= value <= bound:
            raise CarenetError(_("The location is not a valid coordinate."), field=name)
    # Metres, a PositiveIntegerField: the database's CHECK would otherwise refuse it mid-write, which the
    # write would take for a concurrent retry.
    accuracy = fields.get("location_accuracy")
    if accuracy is not None and not (isinstance(accuracy, int) and 0 <= accuracy <= 2_147_483_647):
        raise CarenetError(
            _("The location accuracy must be a whole number of metres."), field="location_accuracy"
        )


def _check_date(visited_on: dt.date, child: Child) -> None:
    today = timezone.localdate()
    if visited_on > today:
        raise CarenetError(_("The visit date is in the future."), field="visited_on")
    if visited_on < child.birth_date:
        raise CarenetError(_("The visit date is before the child's birth."), field="visited_on")
    if visited_on < today - dt.timedelta(days=settings.VISIT_MAX_AGE_DAYS):
        raise CarenetError(
            _("The visit date is more than %(days)d days ago.") % {"days": settings.VISIT_MAX_AGE_DAYS},
            field="visited_on",
        )


def replay(existing: Visit, actor: User, digest: str) -> tuple[Visit, bool]:
    """The answer to a visit whose client id is already stored: the stored visit when the same account sent
    the same body again, else a VisitConflict (the id is taken)."""
    if existing.recorded_by_id != actor.pk or existing.body_hash != digest:
        raise VisitConflict(
            _("This visit id was already used for a different visit; the device must make a new id."),
            field="client_id",
        )
    return existing, False


# What recording a visit reads, in one query: the child (through scope_sql), its schedule row, its open
# categories, the visit rules in force for them (one row per category and rule), and any visit already stored
# under the client id (a retry).
_CHILD = rawsql.Columns(Child, ("id", "name", "division_code", "birth_date", "status"), "c")
_SCHEDULE = rawsql.Columns(VisitSchedule, ("child", "last_visit_on", "next_due_on"), "s")
_CATEGORY = rawsql.Columns(CategoryMembership, ("category", "start_date"), "m")
_RULE = rawsql.Columns(VisitRule, ("district_code", "interval_days"), "r")
_STORED = rawsql.Columns(
    Visit, ("id", "recorded_by", "body_hash"), "v"
)  # a visit already under the client id
_CONTEXT = rawsql.Layout(_CHILD, _SCHEDULE, _CATEGORY, _RULE, _STORED)


@dataclass
class _Context:
    child: Child
    last_visit_on: dt.date | None
    due_on: dt.date | None
    scheduled: bool
    categories: list[tuple[str, dt.date]]
    rules: schedule.Rules
    stored: Visit | None  # the visit already stored under this client id (a retry), if any


def stored_visit(client_id: uuid.UUID) -> Visit | None:
    """The visit stored under this client id (only its id, recorder and body hash loaded), if any: the one
    narrow lookup a retry needs (recording a visit makes it with the child's query, _context)."""
    with rawsql.cursor() as cursor:
        cursor.execute(
            f"SELECT {_STORED.sql} FROM {rawsql.quote(Visit._meta.db_table)} v WHERE v.client_id = %s",
            [rawsql.param(Visit, "client_id", client_id)],
        )
        row = cursor.fetchone()
    return None if row is None else _STORED.load(row)


@cache
def _context_sql(vendor: str) -> str:
    q = rawsql.quote
    return (
        f"SELECT {_CONTEXT.sql} "
        f"FROM {q(Child._meta.db_table)} c "
        f"LEFT JOIN {q(VisitSchedule._meta.db_table)} s ON s.child_id = c.id "
        f"LEFT JOIN {q(CategoryMembership._meta.db_table)} m ON m.child_id = c.id AND m.end_date IS NULL "
        f"LEFT JOIN {q(VisitRule._meta.db_table)} r ON r.category = m.category AND r.valid_to IS NULL "
        "AND r.district_code IN ('', SUBSTR(c.division_code, 1, 6)) "
        f"LEFT JOIN {q(Visit._meta.db_table)} v ON v.client_id = %s "
        "WHERE c.id = %s AND c.status = %s AND "
    )


def _context(actor: User, child_id: int, client_id: uuid.UUID) -> _Context | None:
    """The active child in the actor's jurisdiction with what its schedule needs, or None."""
    where, params = scope_sql(actor, Child, "c")
    client = rawsql.param(Visit, "client_id", client_id)
    with rawsql.cursor() as cursor:
        cursor.execute(
            _context_sql(connection.vendor) + where, [client, child_id, ChildStatus.ACTIVE.value, *params]
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    child_part, schedule_part, _category, _rule, stored_part, _rest = _CONTEXT.split(rows[0])
    child = _CHILD.load(child_part)
    scheduled, last_visit_on, due_on = _SCHEDULE.values(schedule_part)
    stored = _STORED.load(stored_part) if stored_part[0] is not None else None
    categories: set[tuple[str, dt.date]] = set()
    rules: list[tuple[str, str, int]] = []
    for row in rows:
        _child, _schedule, category_part, rule_part, _stored, _rest = _CONTEXT.split(row)
        category, start = _CATEGORY.values(category_part)
        if category is None:  # no open category
            continue
        categories.add((category, start))
        district, days = _RULE.values(rule_part)
        if days is not None:
            rules.append((category, district, days))
    return _Context(
        child, last_visit_on, due_on, scheduled is not None, sorted(categories), schedule.Rules(rules), stored
    )


def record_visit(*, actor: User, data: VisitInput, digest: str, read_back: str = "") -> tuple[Visit, bool]:
    """Store a visit once. Returns (visit, created): created is False for a replay of the same body.

    `digest` is body_hash() of the request as the client sent it: a retry with the same id and the same
    body is answered with the stored visit; the same id with anything else is a VisitConflict. A retry is
    recognised before anything is checked, as before the first attempt was stored (a child since moved out
    of reach still gets its recorder's replay answered); a concurrent insert is caught by the unique index.
    `read_back`: the caller will send the stored visit, with the child's name, back to the actor; the
    access record of that (an API view, with this detail) is written with the visit itself.
    A visit just created carries what was written with it, in the order its answer lists them, so the
    answer needs no read-back: `new_photos` (by position) and `new_problems` (by id).

    This is what every phone's visit goes through, so its reads and writes are hand-written SQL
    (core.rawsql, jurisdiction by scope_sql): about 0.1 ms of Python each instead of 0.7 through the ORM.
    Problems, rarer, go through their service (problems.problem_raise); photo rows through rawsql too."""
    _require(actor, Perm.VISIT_RECORD)
    context = _context(actor, data.child_id, data.client_id)  # with the retry lookup: one round trip
    found = context.stored if context is not None else stored_visit(data.client_id)
    if found is not None:
        return replay(found, actor, digest)
    if context is None:
        raise CarenetError(_("There is no active child with this id in your jurisdiction."), field="child")
    child, due_on = context.child, context.due_on
    _check_date(data.visited_on, child)
    if len(data.photos) > settings.MAX_VISIT_PHOTOS:
        raise CarenetError(
            _("At most %(n)d photos per visit.") % {"n": settings.MAX_VISIT_PHOTOS}, field="photos"
        )
    kinds = [_check_photo(photo, i) for i, photo in enumerate(data.photos)]
    unknown = set(data.fields) - set(VISIT_FIELDS)
    if unknown:
        raise TypeError(f"unknown visit fields: {sorted(unknown)}")
    _check_fields(data.fields)
    visit = Visit(
        client_id=data.client_id,
        child=child,
        division_code=child.division_code,
        visited_on=data.visited_on,
        recorded_by=actor,
        body_hash=digest,
        due_on=due_on,
        on_time=due_on is None or data.visited_on <= due_on,
        **data.fields,
    )
    written: list[VisitPhoto] = []
    # A plain visit is one atomic statement (rawsql.insert_with); problems and photos join it in a
    # transaction. Either way it all lands or nothing does.
    together = transaction.atomic() if data.problems or data.photos else nullcontext()
    try:
        with together:
            _store(actor, context, visit, data, kinds, written, read_back)
            return visit, True
    except BaseException as exc:
        for photo in written:  # the rows rolled back: their files must not stay on disk
            photo.file.delete(save=False)
        if not isinstance(exc, IntegrityError):
            raise

    # Another request with the same client id committed first (concurrent retries): answer as a replay.
    found = stored_visit(data.client_id)
    if found is None:  # the unique index refused something else: surface it rather than guess
        raise IntegrityError("visit insert refused")
    return replay(found, actor, digest)


def _store(
    actor: User,
    context: _Context,
    visit: Visit,
    data: VisitInput,
    kinds: list[str],
    written: list[VisitPhoto],
    read_back: str,
) -> None:
    from carenet.problems import services as problems

    child = context.child
    # The visit, its change record, its schedule change (and the record of its reading) in one write, one
    # round trip on PostgreSQL; every column the ORM would write (defaults included), converted as it would.
    then = [
        events.change_statement(
            actor=actor,
            entity="visit",
            child_id=child.pk,
            division_code=child.division_code,
            changes={"visited_on": [None, data.visited_on.isoformat()], "photos": [None, len(data.photos)]},
        )
    ]
    rescheduled = schedule.after_visit(
        child, context.last_visit_on, context.scheduled, data.visited_on, context.categories, context.rules
    )
    if rescheduled is not None:
        then.append(rescheduled)
    if read_back:
        then.append(
            events.access_statement(
                actor=actor,
                child_id=child.pk,
                division_code=child.division_code,
                kind=AccessLog.Kind.API_VIEW,
                detail=read_back,
            )
        )
    rawsql.insert_instance(visit, then)
    visit.new_photos, visit.new_problems = written, []  # type: ignore[attr-defined]
    for index, problem in enumerate(data.problems):
        try:
            raised = problems.problem_raise(
                actor=actor,
                child=child,
                visit=visit,
                category=problem.category,
                severity=problem.severity,
                description=problem.description,
                owner_kind=problem.owner_kind,
                owner_department=problem.owner_department,
            )
        except CarenetError as exc:
            raise CarenetError(exc.message, field=f"problems[{index}].{exc.field or 'description'}") from exc
        visit.new_problems.append(raised)  # type: ignore[attr-defined]
    # Files last: everything that can refuse the visit has run; a failure after this point still removes
    # them (record_visit deletes what is in `written` when the transaction rolls back).
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
    for position, (photo, kind) in enumerate(zip(data.photos, kinds, strict=True)):
        item = VisitPhoto(visit=visit, content_type=kind, size=len(photo), position=position)
        written.append(item)
        item.file.save(f"visit.{extension[kind]}", ContentFile(photo), save=False)
        rawsql.insert_instance(item)


@transaction.atomic
def rule_set(
    *, actor: User, category: str, interval_days: int | None, district_code: str = "", note: str = ""
) -> VisitRule | None:
    """Set (or, for a district with interval_days None, remove) the visit frequency for one category.

    The city sets the defaults (district_code ""); a district specialist sets overrides for their own
    district only. The rule in force is closed, never edited, and every child it concerns is rescheduled."""
    _require(actor, Perm.VISIT_RULES)
    if category not in Category.values:
        raise CarenetError(_("Unknown category."), field="category")
    if interval_days is not None and interval_days not in Interval.values:
        raise CarenetError(_("Choose one of the listed frequencies."), field="interval_days")
    own = actor.division.code if actor.division_id else ""
    if district_code:
        if len(district_code) != 6 or not district_code.isdigit():
            raise CarenetError(_("A district code has 6 digits."), field="district")
        if actor.role != Role.CITY_ADMIN and own != district_code:
            raise PermissionDeniedError(_("You may set visit rules only for your own district."))
    elif actor.role != Role.CITY_ADMIN:
        raise PermissionDeniedError(_("Only the city sets the default visit rules."))
    elif interval_days is None:
        raise CarenetError(
            _("The city default cannot be removed; choose a frequency."), field="interval_days"
        )
    now = timezone.now()
    current = (
        VisitRule.objects.select_for_update()
        .filter(category=category, district_code=district_code, valid_to__isnull=True)
        .first()
    )
    if current is not None and current.interval_days == interval_days:
        return current
    if current is not None:
        current.valid_to = now
        current.save(update_fields=["valid_to"])
    rule = None
    if interval_days is not None:
        rule = VisitRule.objects.create(
            category=category,
            district_code=district_code,
            interval_days=interval_days,
            note=note,
            set_by=actor,
        )
    events.change_recorded(
        actor=actor,
        entity="visit_rule",
        entity_id=(rule or current).pk,
        child_id=None,
        division_code=district_code or own,
        action="update" if current else "create",
        changes={
            "category": [category, category],
            "interval_days": [current.interval_days if current else None, interval_days],
        },
    )
    schedule.refresh_under(district_code)
    return rule
