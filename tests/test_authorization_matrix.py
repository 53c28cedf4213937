"""THE AUTHORIZATION MATRIX: every URL the project serves × every persona × every target.

WHAT IT CHECKS
  * Every URL pattern in the root resolver (web, API, i18n and whatever is added later) has at least one row
    in ROWS below, and every row names a route that still exists. A new endpoint without a row FAILS the build.
  * For each row, anonymous callers are refused (API 401, web redirect to sign-in), and for each of the nine
    personas of carenet/conftest.py × each target (four children: own village / sibling village / other street /
    other district; five divisions: villages A-D and street 双港镇) only the combinations the persona may see
    get data. Everyone else gets 404 — the same 404 as for an id that does not exist — and never the data.
    A persona whose role lacks the row's `perm` may get 403 instead. Who may see what is written out by hand
    in carenet/tests_matrix/world.py (not computed with scope(), which is what is under test).

HOW TO ADD A ROW  (one line; see carenet/tests_matrix/checks.py: Row and Kind)
    Row("<namespace>:<url name>", Kind.<KIND>, "<METHOD>", perm=Perm.<RIGHT>, data=..., ...),

  route    "web:child_detail", "api-v1:child_get" (an unnamed pattern: "path:<full route>").
           Several rows may name the same route (e.g. the GET form and the POST of an edit page).
  Kind     STATIC          third-party/static, never called; say why=  (ninja docs, set_language)
           PUBLIC          for anonymous callers (sign-in page)
           AUTH            signs in/out; called anonymously only
           SIGNED_IN       no particular record (home, /me, dashboards); perm= optional
           CHILD_LIST      lists children: each persona must see exactly its children's names
           CHILD_READ      shows one child's data; the URL's id is filled with the target's id
           CHILD_WRITE     changes one child; give effect= so the check knows whether it landed
           DIVISION_LIST / DIVISION_READ   the same for divisions (the URL's code is the target's code)
           DIVISION_WRITE  files something under a target division (e.g. register a child in village X)
  method   "GET" (default), "POST", "PATCH", ...  (web POSTs are multipart, API bodies JSON)
  perm     the Perm the role needs besides jurisdiction; personas without it may get 403
  data     a dict, or a function of the target returning one (target.child / target.division ...)
  obj      for child-scoped routes whose id is not the child's: "member", "category", "document" or "caseload"
  shows    what proves the data came back: "name" (default), "photo" or "document" (the file's bytes)
  effect   writes: function(target) -> bool, did the change land (checked inside the rolled-back call)
  prepare  function(target) run before the call (e.g. archive the child before testing "restore")
  denied   statuses meaning "refused" for a persona holding perm (default {404}; a web form that re-renders
           with an error is {200}, the API's create answers 422)
  why      STATIC rows: why nothing needs checking

Every call runs inside a savepoint that is rolled back, so each persona × target sees the same world.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from carenet.accounts.models import User
from carenet.accounts.permissions import Perm
from carenet.conftest import children, city, personas  # noqa: F401  (fixtures shared with the app tests)
from carenet.registry.models import Caseload, CategoryMembership, Child, ChildDocument, FamilyMember
from carenet.tests_matrix import (
    rows_applications,
    rows_benefits,
    rows_mobile,
    rows_problems,
    rows_screening,
    rows_visits,
    rows_visits_web,
)
from carenet.tests_matrix import world as w
from carenet.tests_matrix.checks import Callers, Kind, Row, check_anonymous, check_persona
from carenet.tests_matrix.routes import all_routes

NEW_CHILD = "矩阵新儿童"


# ---------------------------------------------------------------- small helpers the rows use


def _fresh(t):  # the target child as it is in the database now
    return Child.objects.get(pk=t.child.pk)


def school_changed(t):
    return _fresh(t).school == "矩阵小学"


def archived(t):
    return _fresh(t).status == "archived"


def active(t):
    return _fresh(t).status == "active"


def archive_first(t):
    Child.objects.filter(pk=t.child.pk).update(status="archived", archive_reason="other")


def child_filed(t):
    return Child.objects.filter(name=NEW_CHILD, division_code=t.division.code).exists()


def member_added(t):
    return FamilyMember.objects.filter(child=t.child, name="矩阵成员").exists()


def member_renamed(t):
    return FamilyMember.objects.get(pk=t.member.pk).name == "矩阵改名"


def category_opened(t):
    return CategoryMembership.objects.filter(child=t.child, category="migrant").exists()


def category_closed(t):
    return CategoryMembership.objects.get(pk=t.membership.pk).end_date is not None


def document_added(t):
    return ChildDocument.objects.filter(child=t.child, title="矩阵文件").exists()


def spare_worker(t):
    return {"worker": User.objects.get(username="matrix-spare-worker").pk}


def spare_worker_assigned(t):
    return Caseload.objects.filter(
        child=t.child, user__username="matrix-spare-worker", ended_at__isnull=True
    ).exists()


def caseload_ended(t):
    return Caseload.objects.get(pk=t.caseload.pk).ended_at is not None


def edit_form(t):
    c = t.child
    return {
        "name": c.name,
        "sex": c.sex,
        "birth_date": c.birth_date.isoformat(),
        "division": c.division_code,
        "ethnicity": "汉族",
        "school": "矩阵小学",
        "disability_level": "",
    }


def member_form(t):
    return {"name": "矩阵改名", "relationship": "father", "status": "alive", "is_guardian": "on"}


def upload(t):
    return {
        "kind": "other",
        "title": "矩阵文件",
        "file": SimpleUploadedFile("m.pdf", b"%PDF-1.4 matrix", "application/pdf"),
    }


TODAY = dt.date.today().isoformat()

# ---------------------------------------------------------------- THE TABLE: one row per route (or more)

ROWS: list[Row] = [
    # third-party / static
    Row("set_language", Kind.STATIC, why="django.conf.urls.i18n: sets the language cookie, no data"),
    Row("api-v1:openapi-json", Kind.STATIC, why="ninja: the OpenAPI document, no data"),
    Row("api-v1:openapi-view", Kind.STATIC, why="ninja: Swagger UI page, no data"),
    Row("api-v1:api-root", Kind.STATIC, why="ninja: the API root, no data"),
    # API
    Row("api-v1:auth_token", Kind.AUTH, "POST", data={"username": "p-city", "password": "wrong"}),
    Row("api-v1:auth_logout", Kind.SIGNED_IN, "POST"),
    Row("api-v1:me", Kind.SIGNED_IN),
    Row("api-v1:child_list", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW),
    Row("api-v1:child_get", Kind.CHILD_READ, perm=Perm.CHILD_VIEW),
    Row(
        "api-v1:child_update",
        Kind.CHILD_WRITE,
        "PATCH",
        perm=Perm.CHILD_EDIT,
        data={"school": "矩阵小学"},
        effect=school_changed,
    ),
    Row(
        "api-v1:child_create",
        Kind.DIVISION_WRITE,
        "POST",
        perm=Perm.CHILD_CREATE,
        effect=child_filed,
        denied=frozenset({422}),
        data=lambda t: {
            "division_code": t.division.code,
            "name": NEW_CHILD,
            "sex": "F",
            "birth_date": "2017-01-01",
        },
    ),
    Row("api-v1:division_list", Kind.DIVISION_LIST, perm=Perm.DIVISION_VIEW),
    Row("api-v1:division_get", Kind.DIVISION_READ, perm=Perm.DIVISION_VIEW),
    # web: signing in and out, home
    Row("web:login", Kind.PUBLIC),
    Row("web:logout", Kind.AUTH, "POST"),
    Row("web:home", Kind.SIGNED_IN),
    # web: children
    Row("web:child_list", Kind.CHILD_LIST, perm=Perm.CHILD_VIEW),
    Row("web:child_list", Kind.CHILD_LIST, "POST", perm=Perm.CHILD_VIEW, data={"status": "active"}),
    Row("web:child_export", Kind.CHILD_LIST, "POST", perm=Perm.CHILD_EXPORT, data={"status": "active"}),
    Row("web:child_create", Kind.SIGNED_IN, perm=Perm.CHILD_CREATE),
    Row(
        "web:child_create",
        Kind.DIVISION_WRITE,
        "POST",
        perm=Perm.CHILD_CREATE,
        effect=child_filed,
        denied=frozenset({200}),
        data=lambda t: {
            "name": NEW_CHILD,
            "sex": "F",
            "birth_date": "2017-01-01",
            "division": t.division.code,
            "ethnicity": "汉族",
            "disability_level": "",
        },
    ),
    Row("web:child_detail", Kind.CHILD_READ, perm=Perm.CHILD_VIEW),
    Row("web:child_edit", Kind.CHILD_READ, perm=Perm.CHILD_EDIT),
    Row(
        "web:child_edit",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CHILD_EDIT,
        data=edit_form,
        effect=school_changed,
    ),
    Row(
        "web:child_archive",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CHILD_ARCHIVE,
        data={"reason": "other", "note": "m"},
        effect=archived,
    ),
    Row(
        "web:child_restore",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CHILD_ARCHIVE,
        prepare=archive_first,
        effect=active,
    ),
    Row("web:child_photo", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, shows="photo"),
    Row("web:member_add", Kind.CHILD_READ, perm=Perm.CHILD_EDIT),
    Row(
        "web:member_add",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CHILD_EDIT,
        effect=member_added,
        data={"name": "矩阵成员", "relationship": "other", "status": "alive"},
    ),
    Row("web:member_edit", Kind.CHILD_READ, perm=Perm.CHILD_EDIT, obj="member"),
    Row(
        "web:member_edit",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CHILD_EDIT,
        obj="member",
        data=member_form,
        effect=member_renamed,
    ),
    Row(
        "web:category_open",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CATEGORY_MANAGE,
        effect=category_opened,
        data={"category": "migrant", "start_date": "2024-01-01", "reason": "矩阵"},
    ),
    Row("web:category_close", Kind.CHILD_READ, perm=Perm.CATEGORY_MANAGE, obj="category"),
    Row(
        "web:category_close",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CATEGORY_MANAGE,
        obj="category",
        effect=category_closed,
        data={"end_date": TODAY, "reason": "矩阵"},
    ),
    Row(
        "web:document_upload",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.DOCUMENT_UPLOAD,
        data=upload,
        effect=document_added,
    ),
    Row("web:document_download", Kind.CHILD_READ, perm=Perm.CHILD_VIEW, obj="document", shows="document"),
    Row(
        "web:caseload_assign",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CASELOAD_MANAGE,
        data=spare_worker,
        effect=spare_worker_assigned,
    ),
    Row(
        "web:caseload_end",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.CASELOAD_MANAGE,
        obj="caseload",
        effect=caseload_ended,
    ),
    # web: accounts (a staff account filed under each target child's village stands in as the target)
    Row("web:user_list", Kind.SIGNED_IN, perm=Perm.USER_MANAGE),
    Row("web:user_create", Kind.SIGNED_IN, perm=Perm.USER_MANAGE),
    Row(
        "web:user_create",
        Kind.DIVISION_WRITE,
        "POST",
        perm=Perm.USER_MANAGE,
        effect=lambda t: User.objects.filter(username="matrix-new-account").exists(),
        denied=frozenset({200}),
        data=lambda t: {
            "username": "matrix-new-account",
            "full_name": "矩阵账号",
            "role": "village_director",  # filed under villages only, like a child (the street target is refused)
            "division": t.division.code,
            "password": "Matrix-account-pass-1",
        },
    ),
    Row("web:user_detail", Kind.CHILD_READ, perm=Perm.USER_MANAGE, obj="account", shows="account"),
    Row(
        "web:user_detail",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.USER_MANAGE,
        obj="account",
        data={"password": "Matrix-reset-pass-1"},
        effect=lambda t: User.objects.get(pk=t.account.pk).check_password("Matrix-reset-pass-1"),
    ),
    Row(
        "web:user_toggle_active",
        Kind.CHILD_WRITE,
        "POST",
        perm=Perm.USER_MANAGE,
        obj="account",
        effect=lambda t: not User.objects.get(pk=t.account.pk).is_active,
    ),
    # web: divisions and audit
    Row("web:division_home", Kind.SIGNED_IN, perm=Perm.DIVISION_VIEW),
    Row("web:division_detail", Kind.DIVISION_READ, perm=Perm.DIVISION_VIEW),
    Row("web:division_import", Kind.SIGNED_IN, perm=Perm.DIVISION_IMPORT),
    Row("web:audit_changes", Kind.SIGNED_IN, perm=Perm.AUDIT_VIEW),
    Row("web:audit_access", Kind.SIGNED_IN, perm=Perm.AUDIT_VIEW),
]
# Visits and problems keep their rows beside their code (carenet/tests_matrix/rows_*.py).
ROWS += rows_visits.ROWS + rows_visits_web.ROWS + rows_problems.ROWS + rows_mobile.ROWS
ROWS += rows_applications.ROWS + rows_benefits.ROWS + rows_screening.ROWS

# ---------------------------------------------------------------- coverage of the table


def _suggest(key: str, route: str) -> str:
    kind = "CHILD_READ" if "<" in route else "SIGNED_IN"
    return f'    Row("{key}", Kind.{kind}),   # /{route}'


def test_every_url_pattern_has_a_row():
    routes = all_routes()
    covered = {row.route for row in ROWS}
    missing = sorted(set(routes) - covered)
    assert not missing, (
        "These URL patterns have no row in the authorization matrix (tests/test_authorization_matrix.py, ROWS). "
        "Add one line each saying what the route is and how to call it:\n"
        + "\n".join(_suggest(key, routes[key].route) for key in missing)
    )


def test_every_row_names_a_route_that_exists():
    routes = all_routes()
    stale = sorted({row.route for row in ROWS} - set(routes))
    assert not stale, "These rows name routes that no longer exist; remove or rename them:\n" + "\n".join(
        stale
    )


def test_static_rows_say_why():
    assert not [row.route for row in ROWS if row.kind == Kind.STATIC and not row.why]


def test_every_persona_of_the_fixtures_is_in_the_oracle():
    from carenet.conftest import Personas

    assert set(Personas.__dataclass_fields__) == set(w.PERSONAS)


# ---------------------------------------------------------------- the matrix itself


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Autouse, so it runs before `personas` hashes nine passwords (about 1 s each with the production hasher).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(city, personas, children, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    return w.build_world(city, personas, children)


def _row_id(row: Row) -> str:
    return f"{row.method} {row.route} [{row.kind}]"


@pytest.mark.parametrize("row", [r for r in ROWS if r.kind != Kind.STATIC], ids=_row_id)
def test_only_the_right_personas_get_the_data(row, world):
    route = all_routes().get(row.route)
    if route is None:
        pytest.fail(f"row names {row.route!r}, which no longer exists: remove or rename the row")
    callers = Callers(world)
    problems = check_anonymous(callers, row, route, world)
    for persona in w.PERSONAS:
        problems += check_persona(callers, row, route, world, persona)
    assert not problems, f"{row.method} /{route.route} ({row.kind}):\n  " + "\n  ".join(problems)
