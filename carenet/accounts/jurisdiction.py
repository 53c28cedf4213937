"""THE scoping function. Every page, API endpoint, export and count reads through `scope()`.

A user sees the records under their own division (the division code is a materialized path, so
"under" is a prefix match on an indexed column) plus, for caseload roles, the children assigned to
them, and a few records through another they see that refers to them (`_referred_through`: a department
list's record through a finding made from it). Anything else does not exist for them: `get_scoped_or_404`
raises Http404, never 403, so an outsider cannot even learn that an id is taken.

The few hot paths written in SQL by hand (core.rawsql: a visit posted from a phone, and read back) use
`scope_sql`, the same decision (`_rule`) as an SQL condition; a test proves both select the same rows.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.http import Http404

from carenet.accounts.models import Division, Role, User

M = TypeVar("M", bound=models.Model)

# Roles that see everything under their division; the others see only their caseload.
TERRITORIAL_ROLES = {
    Role.CITY_ADMIN,
    Role.DISTRICT_SPECIALIST,
    Role.DISTRICT_FINANCE,
    Role.STREET_SUPERVISOR,
    Role.VILLAGE_DIRECTOR,
    Role.AUDITOR,
}
CASELOAD_ROLES = {Role.SOCIAL_WORKER}


def _division_field(model: type[models.Model]) -> str:
    """Each scoped model names the path to the 12-digit division code it is filed under."""
    try:
        return _division_fields()[model]
    except KeyError:
        raise LookupError(
            f"{model.__name__} has no jurisdiction rule; add one to jurisdiction._division_fields"
        ) from None


@cache
def _division_fields() -> dict[type[models.Model], str]:
    from carenet.audit.models import AccessLog, ChangeLog
    from carenet.benefits.models import (
        Application,
        ApplicationEvidence,
        ApplicationStep,
        BankAccount,
        Enrolment,
        PaymentLine,
        PayrollBatch,
        PayrollStop,
        Suspension,
    )
    from carenet.problems.models import Problem, ProblemAction
    from carenet.registry.models import (
        Caseload,
        CategoryMembership,
        Child,
        ChildDocument,
        FamilyMember,
        Household,
    )
    from carenet.screening.models import DeptList, Finding, ListRecord, ScreeningRun
    from carenet.visits.models import Visit, VisitPhoto, VisitSchedule, VisitTally, VisitTallyChange

    fields: dict[type[models.Model], str] = {
        Division: "code",
        Child: "division_code",
        Household: "division_code",
        FamilyMember: "child__division_code",
        CategoryMembership: "child__division_code",
        ChildDocument: "child__division_code",
        Caseload: "child__division_code",
        ChangeLog: "division_code",
        AccessLog: "division_code",
        User: "division__code",
        Visit: "division_code",
        VisitPhoto: "visit__division_code",
        VisitSchedule: "division_code",
        # The visit tally counts whole streets: a street code under a village's 12-digit code matches nothing,
        # so only the street, the district and the city see it (and count their schedule from it).
        VisitTally: "street_code",
        VisitTallyChange: "street_code",
        Problem: "division_code",
        ProblemAction: "problem__division_code",
        Application: "division_code",
        ApplicationStep: "application__division_code",
        ApplicationEvidence: "application__division_code",
        Enrolment: "division_code",
        Suspension: "enrolment__division_code",
        BankAccount: "child__division_code",
        # Lines and stops stay filed where the child lived when the batch was made (the paying district's).
        PaymentLine: "division_code",
        PayrollStop: "division_code",
        # A batch is a district's: only the district and the city see it (a 6-digit code under a street or
        # village code matches nothing).
        PayrollBatch: "district_code",
        # Findings go where the child lives; lists and runs stay with the division that imported or ran them.
        Finding: "division_code",
        DeptList: "division_code",
        ListRecord: "dept_list__division_code",  # and through its findings: _referred_through
        ScreeningRun: "division_code",
    }
    return fields


@cache
def _referred_through() -> dict[type[models.Model], tuple[type[models.Model], tuple[str, ...]]]:
    """Models also seen through a record of another model that refers to them: model -> (that model, its
    foreign keys to this one). Who sees a referring record sees the record it refers to.

    A department list's record stays filed with the division that imported the list (a city list is the
    city's), but a finding made from it is routed to the district, street or village that must act on it,
    and its reviewers read the record (the ID number of a child to register) to decide."""
    from carenet.screening.models import Finding, ListRecord

    return {ListRecord: (Finding, ("record", "other_record"))}


def _child_field(model: type[models.Model]) -> str | None:
    return _child_fields().get(model)


@cache
def _child_fields() -> dict[type[models.Model], str]:
    from carenet.benefits.models import Application, BankAccount, Enrolment, PaymentLine
    from carenet.problems.models import Problem, ProblemAction
    from carenet.registry.models import CategoryMembership, Child, ChildDocument, FamilyMember
    from carenet.visits.models import Visit, VisitPhoto, VisitSchedule

    return {
        Child: "id",
        FamilyMember: "child_id",
        CategoryMembership: "child_id",
        ChildDocument: "child_id",
        Visit: "child_id",
        VisitPhoto: "visit__child_id",
        VisitSchedule: "child_id",
        Problem: "child_id",
        ProblemAction: "problem__child_id",
        Application: "child_id",
        Enrolment: "child_id",
        PaymentLine: "child_id",
        BankAccount: "child_id",
    }


# Models with expression indexes on the district (6) and street (9) part of their own division_code.
SUBSTR_INDEXED = {"registry.Child", "visits.Visit", "visits.VisitSchedule", "problems.Problem"}
# Models that belong to one person rather than to a place: each user sees only their own rows.
PERSONAL = {"problems.Notification": "recipient"}


def _rule(user: User, model: type[models.Model]) -> tuple[str, str]:
    """What `user` may see of `model`, decided once for scope() and scope_sql(): ("none", ""),
    ("personal", owner field), ("divisions", ""), ("under", division field), ("under_or_referred",
    division field: under it, or referred to by a record of `_referred_through` the user sees) or
    ("caseload", child field)."""
    if not user.is_authenticated or not user.is_active:
        return "none", ""
    if model._meta.label in PERSONAL:
        return "personal", PERSONAL[model._meta.label]
    if model is Division:
        return "divisions", ""
    if user.role in TERRITORIAL_ROLES and user.division_id:
        return ("under_or_referred" if model in _referred_through() else "under"), _division_field(model)
    if user.role in CASELOAD_ROLES:
        child_field = _child_field(model)
        return ("caseload", child_field) if child_field is not None else ("none", "")
    return "none", ""


def scope(user: User, queryset: QuerySet[M]) -> QuerySet[M]:
    """Narrow `queryset` to what `user` may see. The only function that decides jurisdiction."""
    kind, field = _rule(user, queryset.model)
    if kind == "personal":
        return queryset.filter(**{field: user})
    if kind == "divisions":
        return _scope_divisions(user, queryset)
    if kind == "under":
        return under(queryset, user.division.code, field)
    if kind == "under_or_referred":
        return queryset.filter(
            _under_q(queryset.model, user.division.code, field) | _referred_q(user, queryset)
        )
    if kind == "caseload":
        from carenet.registry.models import Caseload

        ids = Caseload.objects.filter(user=user, ended_at__isnull=True).values("child_id")
        return queryset.filter(**{f"{field}__in": ids})
    return queryset.none()


def scope_sql(user: User, model: type[models.Model], alias: str) -> tuple[str, list[object]]:
    """scope() as an SQL condition on table alias `alias`, for the hand-written SQL of a hot path
    (core.rawsql): the same decision, for models filed under a division column of their own.

    Returns (condition, params); tests check it selects exactly the rows scope() does, role by role."""
    from django.db import connection

    kind, field = _rule(user, model)
    if kind == "none":
        return "1 = 0", []
    if kind not in ("under", "caseload") or "__" in field:
        raise ValueError(f"scope_sql cannot express the {model.__name__} rule ({kind} {field}); use scope()")
    column = f"{alias}.{connection.ops.quote_name(model._meta.get_field(field).column)}"
    if kind == "caseload":
        from carenet.registry.models import Caseload

        return (
            f"{column} IN (SELECT child_id FROM {connection.ops.quote_name(Caseload._meta.db_table)} "
            "WHERE user_id = %s AND ended_at IS NULL)",
            [user.pk],
        )
    code = user.division.code
    if len(code) == 12:  # the same forms as under(), so the same indexes serve them
        return f"{column} = %s", [code]
    if model._meta.label in SUBSTR_INDEXED and len(code) in (6, 9) and field == "division_code":
        function = "SUBSTRING" if connection.vendor == "postgresql" else "SUBSTR"  # as Django's Substr
        return f"{function}({column}, 1, {len(code)}) = %s", [code]
    return f"{column} LIKE %s", [code + "%"]


def _referred_q(user: User, queryset: QuerySet[M]) -> Q:
    """Rows of `queryset` referred to by a record the user sees (the `_referred_through` rule)."""
    referrer, keys = _referred_through()[queryset.model]
    refers = Q()
    for key in keys:
        refers |= Q(**{key: OuterRef("pk")})
    return Q(Exists(scope(user, referrer.objects.filter(refers))))


def under(queryset: QuerySet[M], code: str, field: str = "division_code") -> QuerySet[M]:
    """Rows of `queryset` filed under division `code`, in the form each level's index can serve.

    Not a jurisdiction check by itself: callers narrow an already scoped queryset with it."""
    return queryset.filter(_under_q(queryset.model, code, field))


def _under_q(model: type[models.Model], code: str, field: str) -> Q:
    # A 12-digit village code has no descendants: equality lets PostgreSQL estimate the rows
    # correctly (its LIKE-prefix estimate made it walk the whole table by id, 0.5 s at 1M).
    if len(code) == 12:
        return Q(**{field: code})
    if model._meta.label in SUBSTR_INDEXED and len(code) in (6, 9) and field == "division_code":
        # Matches the expression indexes on Substr(division_code, 1, 6 / 9) (e.g. child_district_id).
        return Q(Exact(Substr(field, 1, len(code)), code))
    return Q(**{f"{field}__startswith": code})


def _scope_divisions(user: User, queryset: QuerySet[M]) -> QuerySet[M]:
    """Divisions: your own subtree, plus your ancestors (so breadcrumbs and forms can name them)."""
    if not user.division_id:
        return queryset.none()
    code = user.division.code
    ancestors = [code[:n] for n in (2, 4, 6, 9) if n < len(code)]
    return queryset.filter(Q(code__startswith=code) | Q(code__in=ancestors))


def division_in_scope(user: User, division: Division) -> bool:
    """May `user` file records under `division` (their own subtree only, never an ancestor)?"""
    return (
        bool(user.division_id)
        and user.role in TERRITORIAL_ROLES
        and division.code.startswith(user.division.code)
    )


def sees_all_under(user: User, division: Division) -> bool:
    """Does scope() give `user` every record filed under `division`: a territorial user at or above it?
    (Then a count kept per division, like the visit tally, is the count of what they see.)"""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in TERRITORIAL_ROLES
        and in_subtree(user, division)
    )


def in_subtree(user: User, division: Division) -> bool:
    """Is `division` the user's own or below it (never an ancestor: scope() lets those through for
    breadcrumbs only)?"""
    return bool(user.division_id) and division.code.startswith(user.division.code)


def subtree_division_or_404(user: User, code: str) -> Division:
    """The division named by `code` when it is the user's own or below it; else Http404, as for a missing
    one (a drill-down or filter parameter of a list)."""
    if user.division_id and code == user.division.code:
        return user.division
    division = scope(user, Division.objects.filter(code=code)).first()
    if division is None or not in_subtree(user, division):
        raise Http404
    return division


def get_scoped_or_404(user: User, queryset: QuerySet[M], **lookup: object) -> M:
    try:
        return scope(user, queryset).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
