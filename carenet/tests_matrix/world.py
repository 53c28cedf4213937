"""The fixed world every matrix row is checked against, and what each persona should see of it.

The expectations below are written out by hand from MISSION.md ("every user sees exactly the children of
their own jurisdiction ... or their assigned caseload"), deliberately NOT computed with scope(): the matrix
checks scope(), so it must not use it as its oracle.

Tree (carenet/conftest.py):  天津市 12 ─ 津南区 120112 ─ 双港镇 120112001 ─ A村 120112001001 (child own, 张伟)
                                                                    └ B村 120112001002 (child sibling_village, 李娜)
                                              └ 辛庄镇 120112002 ─ C村 120112002001 (child other_street, 王芳)
                               └ 和平区 120101 ─ 劝业场街 120101001 ─ D社区 120101001001 (child other_district, 刘洋)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile

from carenet.accounts.models import Division, Role, User
from carenet.problems.models import Problem
from carenet.registry.models import Caseload, CategoryMembership, Child, ChildDocument, FamilyMember
from carenet.visits.models import Visit

ALL = frozenset({"own", "sibling_village", "other_street", "other_district"})
CHILD_TARGETS = ("own", "sibling_village", "other_street", "other_district")

# persona -> the target children whose data it may receive
VISIBLE_CHILDREN: dict[str, frozenset[str]] = {
    "city_admin": ALL,
    "district_specialist": frozenset({"own", "sibling_village", "other_street"}),
    "district_finance": frozenset({"own", "sibling_village", "other_street"}),
    "street_supervisor": frozenset({"own", "sibling_village"}),
    "director_a": frozenset({"own"}),
    "director_b": frozenset({"sibling_village"}),
    "other_district_specialist": frozenset({"other_district"}),
    "social_worker": frozenset({"own"}),  # caseload only
    "charity": frozenset(),
    "auditor": ALL,
}

DIVISION_TARGETS = ("village_a", "village_b", "village_c", "village_d", "street")
ALL_DIVISIONS = frozenset(DIVISION_TARGETS)
# persona -> the target divisions it may see (its own subtree, plus its ancestors for breadcrumbs)
VISIBLE_DIVISIONS: dict[str, frozenset[str]] = {
    "city_admin": ALL_DIVISIONS,
    "district_specialist": frozenset({"village_a", "village_b", "village_c", "street"}),
    "district_finance": frozenset({"village_a", "village_b", "village_c", "street"}),
    "street_supervisor": frozenset({"village_a", "village_b", "street"}),
    "director_a": frozenset({"village_a", "street"}),
    "director_b": frozenset({"village_b", "street"}),
    "other_district_specialist": frozenset({"village_d"}),
    "social_worker": ALL_DIVISIONS,
    "charity": ALL_DIVISIONS,
    "auditor": ALL_DIVISIONS,
}
# persona -> the target divisions it may file a child under (villages of its own subtree only)
FILING_DIVISIONS: dict[str, frozenset[str]] = {
    "city_admin": frozenset({"village_a", "village_b", "village_c", "village_d"}),
    "district_specialist": frozenset({"village_a", "village_b", "village_c"}),
    "district_finance": frozenset({"village_a", "village_b", "village_c"}),
    "street_supervisor": frozenset({"village_a", "village_b"}),
    "director_a": frozenset({"village_a"}),
    "director_b": frozenset({"village_b"}),
    "other_district_specialist": frozenset({"village_d"}),
    "social_worker": frozenset(),
    "charity": frozenset(),
    "auditor": frozenset(),
}
PERSONAS = tuple(VISIBLE_CHILDREN)

MEMBER_NAMES = {
    "own": "监护人甲",
    "sibling_village": "监护人乙",
    "other_street": "监护人丙",
    "other_district": "监护人丁",
}


@dataclass
class ChildTarget:
    """One target child with one of everything that hangs off it, so routes keyed by a member's,
    a membership's or a document's id can be aimed at it too."""

    key: str
    child: Child
    member: FamilyMember
    membership: CategoryMembership
    document: ChildDocument
    caseload: Caseload  # an open assignment of the world's case worker (not a persona) to this child
    account: User  # a staff account filed under the child's village (for the account-management routes)
    photo_bytes: bytes
    document_bytes: bytes
    visit: Visit | None = None  # a visit recorded by the world's case worker, with one photo
    problem: Problem | None = None  # an open problem raised on that visit
    visit_photo_bytes: bytes = b""

    def obj(self, kind: str) -> Any:
        return {
            "child": self.child,
            "member": self.member,
            "category": self.membership,
            "document": self.document,
            "caseload": self.caseload,
            "account": self.account,
            "visit": self.visit,
            "visit_photo": self.visit.photos.first() if self.visit else None,
            "problem": self.problem,
        }[kind]


@dataclass
class DivisionTarget:
    key: str
    division: Division


@dataclass
class World:
    personas: dict[str, User]
    case_worker: User  # holds one caseload per target child (so "end assignment" has something to end)
    spare_worker: User  # a social worker with no caseload (so "assign" has someone to assign)
    children: dict[str, ChildTarget] = field(default_factory=dict)
    divisions: dict[str, DivisionTarget] = field(default_factory=dict)


def build_world(city: Any, personas: Any, children: Any) -> World:
    from carenet.tests_support.factories import UserFactory

    approver = personas.city_admin
    world = World(
        personas={name: getattr(personas, name) for name in PERSONAS},
        case_worker=UserFactory(username="matrix-case-worker", role=Role.SOCIAL_WORKER, division=city.city),
        spare_worker=UserFactory(username="matrix-spare-worker", role=Role.SOCIAL_WORKER, division=city.city),
    )
    for key in CHILD_TARGETS:
        child: Child = getattr(children, key)
        photo = b"\xff\xd8\xff\xe0" + f"matrix-photo-{key}".encode()
        child.photo.save("photo.jpg", ContentFile(photo), save=True)
        member = FamilyMember.objects.create(
            child=child, name=MEMBER_NAMES[key], relationship="father", is_guardian=True
        )
        membership = CategoryMembership.objects.create(
            child=child,
            category="left_behind",
            start_date=dt.date(2020, 1, 1),
            reason="matrix",
            approved_by=approver,
        )
        content = f"%PDF-1.4 matrix-document-{key}".encode()
        document = ChildDocument(
            child=child,
            kind="other",
            title=f"文件-{key}",
            content_type="application/pdf",
            size=len(content),
            uploaded_by=approver,
        )
        document.file.save("document.pdf", ContentFile(content), save=True)
        caseload = Caseload.objects.create(user=world.case_worker, child=child, assigned_by=approver)
        account = UserFactory(
            username=f"matrix-account-{key}", role=Role.VILLAGE_DIRECTOR, division=child.division
        )
        target = ChildTarget(key, child, member, membership, document, caseload, account, photo, content)
        target.visit, target.problem, target.visit_photo_bytes = _visit_and_problem(key, child, approver)
        world.children[key] = target
    for key in DIVISION_TARGETS:
        world.divisions[key] = DivisionTarget(key, getattr(city, key))
    return world


def _visit_and_problem(key: str, child: Child, actor: User) -> tuple[Visit, Problem, bytes]:
    """A stored visit (with one photo) and an open problem on it, made directly (not through services)."""
    import uuid

    from carenet.visits.models import VisitPhoto
    from carenet.visits.schedule import refresh

    visit = Visit.objects.create(
        client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"matrix-visit-{key}"),
        child=child,
        division_code=child.division_code,
        visited_on=dt.date.today() - dt.timedelta(days=3),
        recorded_by=actor,
        body_hash="0" * 64,
        living="good",
        notes=f"走访记录-{key}",
    )
    photo_bytes = b"\xff\xd8\xff\xe0" + f"matrix-visit-photo-{key}".encode()
    photo = VisitPhoto(visit=visit, content_type="image/jpeg", size=len(photo_bytes))
    photo.file.save("visit.jpg", ContentFile(photo_bytes), save=True)
    problem = Problem.objects.create(
        child=child,
        visit=visit,
        division_code=child.division_code,
        category="schooling",
        severity="general",
        description=f"问题-{key}",
        deadline=dt.date.today() + dt.timedelta(days=10),
        raised_by=actor,
    )
    refresh([child.pk])
    return visit, problem, photo_bytes
