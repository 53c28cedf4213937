"""Sign-in with per-username lockout, device tokens, and loading the division tree."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.models import LEVEL_BY_LENGTH, ROLE_LEVEL, ApiToken, Division, LoginFailure, Role, User
from carenet.core import rawsql
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
        raise LockedOut(
            _("Too many failed sign-ins: this account is locked for %(m)d more minutes.") % {"m": minutes}
        )
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


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown to the device once; only its hash is stored
    expires_at: dt.datetime


def token_create(*, user: User) -> IssuedToken:
    token = "cn_" + secrets.token_urlsafe(32)
    expires_at = timezone.now() + dt.timedelta(days=settings.API_TOKEN_DAYS)
    ApiToken.objects.create(user=user, key_hash=_hash_token(token), expires_at=expires_at)
    return IssuedToken(token=token, expires_at=expires_at)


def token_issue(*, user: User) -> str:
    return token_create(user=user).token


_TOKEN = rawsql.Columns(ApiToken, ("id", "last_used_at"), "t")
_USER = rawsql.Columns(User, tuple(f.name for f in User._meta.concrete_fields), "u")
_DIVISION = rawsql.Columns(Division, tuple(f.name for f in Division._meta.concrete_fields), "d")
_TOKEN_ROW = rawsql.Layout(_TOKEN, _USER, _DIVISION)


@cache
def _token_sql() -> str:
    q = rawsql.quote
    return (
        f"SELECT {_TOKEN_ROW.sql} FROM {q(ApiToken._meta.db_table)} t "
        f"JOIN {q(User._meta.db_table)} u ON u.id = t.user_id "
        f"LEFT JOIN {q(Division._meta.db_table)} d ON d.id = u.division_id "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s"
    )


def token_user(token: str) -> User | None:
    """The active user a live device token belongs to (with their division loaded), or None.

    Every API call starts here, so it is one hand-written query (core.rawsql) rather than an ORM one."""
    now = timezone.now()
    with rawsql.cursor() as cursor:
        cursor.execute(_token_sql(), [_hash_token(token), rawsql.param(ApiToken, "expires_at", now)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_part, user_part, division_part, _rest = _TOKEN_ROW.split(row)
    token_id, last_used = _TOKEN.values(token_part)
    user = _USER.load(user_part)
    if not user.is_active:
        return None
    user.division = _DIVISION.load(division_part) if division_part[0] is not None else None
    if last_used is None or now - last_used > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)  # throttled: not a write per request
    return user


def token_revoke(*, token: str) -> bool:
    """Revoke one token (the one a device signs out with); True if it was live."""
    return bool(
        ApiToken.objects.filter(key_hash=_hash_token(token), revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def token_revoke_all(*, user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@dataclass
class DivisionImportResult:
    created: int
    updated: int
    unchanged: int
    # Divisions not in the file whose full name changed because an ancestor was renamed.
    descendants_renamed: int = 0


def divisions_parse(text: str) -> list[tuple[int, str, str]]:
    """Rows of (line, code, name) from a CSV with a header naming code and name (代码/名称 also accepted).
    `line` is the file line the row starts on, also when a quoted cell spans several lines."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not header:
            raise RowErrors(_("The file is empty."), [])
        aliases = {
            "code": {"code", "代码", "区划代码", "统计用区划代码"},
            "name": {"name", "名称", "区划名称"},
        }
        try:
            ci = next(i for i, h in enumerate(header) if h in aliases["code"])
            ni = next(i for i, h in enumerate(header) if h in aliases["name"])
        except StopIteration:
            raise RowErrors(
                _("The first row must name the columns: code and name (代码, 名称)."),
                [(1, _("missing header"))],
            ) from None
        out = []
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                code = row[ci].strip() if ci < len(row) else ""
                name = row[ni].strip() if ni < len(row) else ""
                out.append((line, code, name))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RowErrors(_("The file is not a readable CSV."), [(reader.line_num, str(exc))]) from exc
    return out


@transaction.atomic
def divisions_import(*, rows: list[tuple[int, str, str]]) -> DivisionImportResult:
    """Idempotent load: new codes created, changed names updated, nothing written if any row is bad.
    Written level by level in bulk: a national list has ~700,000 rows."""
    existing = {
        d.code: d for d in Division.objects.only("id", "code", "name", "level", "parent_id", "full_name")
    }
    incoming = _division_rows_checked(rows, existing)
    pk_of = {code: d.pk for code, d in existing.items()}
    code_of = {pk: code for code, pk in pk_of.items()}
    full: dict[str, str] = {}  # final full name per code, filled parents first
    result = DivisionImportResult(created=0, updated=0, unchanged=0)
    for length in sorted({len(c) for c in incoming} | {len(c) for c in existing}):
        new: list[tuple[str, str, str, int | None, str]] = []
        changed: list[Division] = []
        for code in sorted(c for c in incoming.keys() | existing.keys() if len(c) == length):
            if code in incoming:
                parent_code = _nearest_ancestor(code, incoming, existing)
                name = incoming[code][1]
            else:  # not in the file: keep name and parent, follow a renamed ancestor
                parent_code = code_of.get(existing[code].parent_id or 0)
                name = existing[code].name
            parent_pk = pk_of[parent_code] if parent_code else None
            full[code] = f"{full[parent_code]}/{name}" if parent_code else name
            division = existing.get(code)
            if division is None:
                new.append((code, name, LEVEL_BY_LENGTH[len(code)], parent_pk, full[code]))
            elif (division.name, division.full_name, division.parent_id) != (name, full[code], parent_pk):
                division.name, division.full_name, division.parent_id = name, full[code], parent_pk
                changed.append(division)
                if code in incoming:
                    result.updated += 1
                else:
                    result.descendants_renamed += 1
            else:
                result.unchanged += 1
        pk_of.update(_division_insert(new))
        Division.objects.bulk_update(changed, ["name", "full_name", "parent"], batch_size=1000)
        result.created += len(new)
    return result


def _division_rows_checked(
    rows: list[tuple[int, str, str]], existing: dict[str, Division]
) -> dict[str, tuple[int, str]]:
    """{code: (line, name)} of a valid file, else RowErrors naming every bad line."""
    errors: list[tuple[int, str]] = []
    incoming: dict[str, tuple[int, str]] = {}
    for line, raw_code, name in rows:
        # Spreadsheets hand over full-width digits (１２０１１２) and 12-digit zero padding (120112000000).
        code = _trim_padding(unicodedata.normalize("NFKC", raw_code).strip())
        if len(code) not in LEVEL_BY_LENGTH or not (code.isascii() and code.isdigit()):
            errors.append(
                (line, _("code %(code)r is not a 2, 4, 6, 9 or 12 digit division code") % {"code": raw_code})
            )
        elif not name:
            errors.append((line, _("the name is empty")))
        elif len(name) > 100:
            errors.append((line, _("the name is longer than 100 characters")))
        elif code in incoming:
            errors.append(
                (
                    line,
                    _("code %(code)s appears twice (first on line %(first)d)")
                    % {"code": code, "first": incoming[code][0]},
                )
            )
        else:
            incoming[code] = (line, name)
    for code, (line, _name) in incoming.items():
        if len(code) > 4 and _nearest_ancestor(code, incoming, existing) is None:
            errors.append(
                (
                    line,
                    _("the parent division of %(code)s is neither in the file nor in the database")
                    % {"code": code},
                )
            )
    if errors:
        errors.sort()
        raise RowErrors(_("%(n)d rows are wrong; nothing was imported.") % {"n": len(errors)}, errors)
    return incoming


def _division_insert(rows: list[tuple[str, str, str, int | None, str]]) -> dict[str, int]:
    """Insert one level of (code, name, level, parent_id, full_name) and return the new ids by code.
    COPY on PostgreSQL, executemany elsewhere: bulk_create took ~15 s for 100,000 rows, mostly
    preparing values in Python; the next level needs these ids, so they are read back by code."""
    if not rows:
        return {}
    qn = connection.ops.quote_name
    table = qn(Division._meta.db_table)
    columns = ", ".join(qn(c) for c in ("code", "name", "level", "parent_id", "full_name"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)", rows)
    wanted = {row[0] for row in rows}
    return {
        code: pk
        for code, pk in Division.objects.filter(level=rows[0][2]).values_list("code", "pk")
        if code in wanted
    }


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


# Which roles each manager may hand out: the district staffs its streets and villages; the city all.
GRANTABLE_ROLES: dict[str, set[str]] = {
    Role.CITY_ADMIN: set(Role.values),
    Role.DISTRICT_SPECIALIST: {Role.STREET_SUPERVISOR, Role.VILLAGE_DIRECTOR, Role.SOCIAL_WORKER},
}


def _check_manager(actor: User, *, role: str, division: Division) -> None:
    if role not in GRANTABLE_ROLES.get(actor.role, set()):
        raise CarenetError(_("You may not create accounts with this role."), field="role")
    if not actor.division_id or not division.code.startswith(actor.division.code):
        raise CarenetError(_("This division is outside your jurisdiction."), field="division")
    if division.level not in ROLE_LEVEL[Role(role)]:
        raise CarenetError(
            _("A %(role)s works at the level of %(levels)s.")
            % {
                "role": Role(role).label,
                "levels": "、".join(str(level.label) for level in ROLE_LEVEL[Role(role)]),
            },
            field="division",
        )


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    full_name: str,
    role: str,
    division: Division,
    password: str,
    phone: str = "",
) -> User:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    _check_manager(actor, role=role, division=division)
    username = username.strip()
    if not username:
        raise CarenetError(_("The username is required."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise CarenetError(_("This username is taken."), field="username")
    name = full_name.strip()
    user = User(
        username=username, role=role, division=division, last_name=name[:1], first_name=name[1:], phone=phone
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CarenetError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save()
    _user_event(
        actor,
        user,
        "create",
        {"username": [None, username], "role": [None, role], "division": [None, division.code]},
    )
    return user


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    _check_manager(actor, role=user.role, division=user.division)
    if user.pk == actor.pk:
        raise CarenetError(_("You cannot deactivate your own account."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        token_revoke_all(user=user)
        _end_sessions(user)
    _user_event(actor, user, "update", {"is_active": [not active, active]})
    return user


@transaction.atomic
def user_reset_password(*, actor: User, user: User, password: str) -> User:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    _check_manager(actor, role=user.role, division=user.division)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CarenetError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    LoginFailure.objects.filter(username=user.username).delete()  # a reset also lifts a lockout
    token_revoke_all(user=user)
    _end_sessions(user)
    _user_event(actor, user, "update", {"password": ["", _("reset")]})
    return user


def _end_sessions(user: User) -> None:
    """Sign the user out everywhere (sessions are server-side rows)."""
    from django.contrib.sessions.models import Session

    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()


def _user_event(actor: User, user: User, action: str, changes: dict) -> None:
    from carenet.audit import events

    events.change_recorded(
        actor=actor,
        entity="user",
        entity_id=user.pk,
        child_id=None,
        division_code=user.division.code if user.division_id else "",
        action=action,
        changes=changes,
    )
