"""Sign-in with per-username lockout, device tokens, and loading the division tree."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.models import LEVEL_BY_LENGTH, ApiToken, Division, LoginFailure, User
from carenet.core.errors import CarenetError, RowErrors


class LockedOut(CarenetError):
    pass


def login_check(*, request: HttpRequest | None, username: str, password: str) -> User | None:
    """Authenticate, counting failures per username. A locked username is refused even with the right password."""
    username = (username or "").strip()
    now = timezone.now()
    record = LoginFailure.objects.filter(username=username).first()
    if record and record.locked_until and record.locked_until > now:
        minutes = int((record.locked_until - now).total_seconds() // 60) + 1
        raise LockedOut(_("Too many failed sign-ins: this account is locked for %(m)d more minutes.") % {"m": minutes})
    user = authenticate(request, username=username, password=password)
    if user is None:
        _count_failure(username, now)
        return None
    LoginFailure.objects.filter(username=username).delete()
    return user


@transaction.atomic
def _count_failure(username: str, now: dt.datetime) -> None:
    record, _created = LoginFailure.objects.select_for_update().get_or_create(username=username)
    if record.locked_until and record.locked_until <= now:
        record.failures = 0  # an expired lock starts a fresh count
        record.locked_until = None
    record.failures += 1
    record.last_failure_at = now
    if record.failures >= settings.LOGIN_MAX_FAILURES:
        record.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    record.save()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, user: User) -> str:
    token = "cn_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, key_hash=_hash_token(token), expires_at=timezone.now() + dt.timedelta(days=settings.API_TOKEN_DAYS)
    )
    return token


def token_user(token: str) -> User | None:
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user", "user__division")
        .filter(key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)  # throttled: not a write per request
    return row.user


def token_revoke_all(*, user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@dataclass
class DivisionImportResult:
    created: int
    updated: int
    unchanged: int


def divisions_parse(text: str) -> list[tuple[int, str, str]]:
    """Rows of (line, code, name) from a CSV with a header naming code and name (代码/名称 also accepted)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = list(reader)
    if not rows:
        raise RowErrors(_("The file is empty."), [])
    header = [h.strip().lower() for h in rows[0]]
    aliases = {"code": {"code", "代码", "区划代码", "统计用区划代码"}, "name": {"name", "名称", "区划名称"}}
    try:
        ci = next(i for i, h in enumerate(header) if h in aliases["code"])
        ni = next(i for i, h in enumerate(header) if h in aliases["name"])
    except StopIteration:
        raise RowErrors(_("The first row must name the columns: code and name (代码, 名称)."), [(1, _("missing header"))]) from None
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        code = row[ci].strip() if ci < len(row) else ""
        name = row[ni].strip() if ni < len(row) else ""
        out.append((line, code, name))
    return out


@transaction.atomic
def divisions_import(*, rows: list[tuple[int, str, str]]) -> DivisionImportResult:
    """Idempotent load: new codes created, changed names updated, nothing written if any row is bad."""
    errors: list[tuple[int, str]] = []
    existing = {d.code: d for d in Division.objects.all()}
    incoming: dict[str, tuple[int, str]] = {}
    for line, code, name in rows:
        # Statistical codes are often published zero-padded to 12 digits (120112000000): trim the padding.
        code = _trim_padding(code)
        if len(code) not in LEVEL_BY_LENGTH or not code.isdigit():
            errors.append((line, _("code %(code)r is not a 2, 4, 6, 9 or 12 digit division code") % {"code": code}))
        elif not name:
            errors.append((line, _("the name is empty")))
        elif len(name) > 100:
            errors.append((line, _("the name is longer than 100 characters")))
        elif code in incoming:
            errors.append((line, _("code %(code)s appears twice (first on line %(first)d)") % {"code": code, "first": incoming[code][0]}))
        else:
            incoming[code] = (line, name)
    for code, (line, _name) in incoming.items():
        if len(code) > 4 and _nearest_ancestor(code, incoming, existing) is None:
            errors.append((line, _("the parent division of %(code)s is neither in the file nor in the database") % {"code": code}))
    if errors:
        errors.sort()
        raise RowErrors(_("%(n)d rows are wrong; nothing was imported.") % {"n": len(errors)}, errors)
    created = updated = unchanged = 0
    for code in sorted(incoming, key=lambda c: (len(c), c)):
        name = incoming[code][1]
        parent_code = _nearest_ancestor(code, incoming, existing)
        parent = existing.get(parent_code) if parent_code else None
        full_name = f"{parent.full_name}/{name}" if parent else name
        division = existing.get(code)
        if division is None:
            division = Division.objects.create(code=code, name=name, level=LEVEL_BY_LENGTH[len(code)], parent=parent, full_name=full_name)
            existing[code] = division
            created += 1
        elif division.name != name or division.full_name != full_name or division.parent_id != (parent.pk if parent else None):
            division.name, division.full_name, division.parent = name, full_name, parent
            division.save(update_fields=["name", "full_name", "parent"])
            updated += 1
        else:
            unchanged += 1
    return DivisionImportResult(created=created, updated=updated, unchanged=unchanged)


def _trim_padding(code: str) -> str:
    if len(code) == 12 and code.isdigit():
        for length in (2, 4, 6, 9):
            if code[length:] == "0" * (12 - length) and len(code.rstrip("0")) <= length:
                return code[:length]
    return code


def _nearest_ancestor(code: str, incoming: dict, existing: dict) -> str | None:
    """A village needs its street and a street its district; a district may hang on a 4-digit city or,
    in a municipality that has no 4-digit level (天津市 12 -> 津南区 120112), on the 2-digit code."""
    candidates = {12: [code[:9]], 9: [code[:6]], 6: [code[:4], code[:2]], 4: [code[:2]]}.get(len(code), [])
    for candidate in candidates:
        if candidate in incoming or candidate in existing:
            return candidate
    return None
