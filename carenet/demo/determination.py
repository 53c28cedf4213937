"""Applications in the demo city (精准认定), for children of 津南区, so the queues have work in every state.

About twenty left-behind children whose families recently came onto 低保 had their application approved after
last month's payroll was generated, with an effective month two or three months back: the category membership
and the enrolment start at that month, and the current batch owes them arrears. A few more applications wait
at each step (filed, checked by the village, reviewed by the street), one was sent back, one rejected, and one
asks to end a family's 低保 support. Each carries a document of the child's file as evidence, as the advancing
steps require; the PDFs are written to storage once the build commits.

Rows are what the services (benefits.applications) write: the same states, steps, actors and levels.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from carenet.benefits import months
from carenet.benefits.applications import Action
from carenet.benefits.facts import age_limit_index
from carenet.benefits.models import (
    PROGRAMMES,
    Application,
    ApplicationEvidence,
    ApplicationKind,
    ApplicationStatus,
    ApplicationStep,
    EndReason,
    Programme,
)
from carenet.core.bulk import TableLoader, next_pk, reset_sequences
from carenet.demo.rand import integer, pick
from carenet.demo.staff import MAIN_DISTRICT as MAIN
from carenet.registry.models import Category, CategoryMembership, ChildDocument, DocumentKind, Household
from carenet.visits import schedule

if TYPE_CHECKING:
    from carenet.demo.benefits import Clock, Kid

LATE_APPROVALS = 20
PAID = PROGRAMMES[Programme.BASIC_LIVING].categories
S = ApplicationStatus

# The applications waiting at each step, in the order candidates are given to them (a small build has few).
PENDING = (
    (S.REVIEWED, Category.POOR_FAMILY),
    (S.CHECKED, Category.POOR_FAMILY),
    (S.FILED, Category.POOR_FAMILY),
    (S.RETURNED, Category.POOR_FAMILY),
    (S.REJECTED, Category.DE_FACTO_UNSUPPORTED),
    (S.FILED, Category.POOR_FAMILY),
    (S.CHECKED, Category.POOR_FAMILY),
    (S.REVIEWED, Category.POOR_FAMILY),
)
# The moves that lead to each state: (action, level that takes it, comment).
MOVES = {
    S.FILED: (),
    S.CHECKED: ((Action.CHECK, "village", "已入户核实，情况属实"),),
    S.REVIEWED: (
        (Action.CHECK, "village", "已入户核实，情况属实"),
        (Action.REVIEW, "street", "材料齐全，同意上报"),
    ),
    S.RETURNED: (
        (Action.CHECK, "village", "已入户核实"),
        (Action.RETURN, "street", "请补充家庭收入证明和低保证复印件"),
    ),
    S.REJECTED: (
        (Action.CHECK, "village", "已入户核实"),
        (Action.REVIEW, "street", "同意上报，请区民政局审定"),
        (
            Action.REJECT,
            "district",
            "经入户核查和电话联系，父母均在外务工并按月寄回生活费，能够履行抚养义务，不符合事实无人抚养儿童认定条件",
        ),
    ),
    S.APPROVED: (
        (Action.CHECK, "village", "已入户核实，情况属实"),
        (Action.REVIEW, "street", "材料齐全，同意上报"),
        (Action.APPROVE, "district", "同意"),
    ),
}
_POOR_REASONS = (
    "父母在外务工收入微薄，祖辈年迈多病，家庭已纳入城乡最低生活保障，申请低保家庭儿童认定",
    "父母外出打零工收入不稳定，家中老人常年患病，经街道审批纳入城乡低保，申请低保家庭儿童认定",
    "家中老人住院治疗，家庭人均收入低于低保标准，已纳入城乡低保，申请低保家庭儿童认定",
)
_DE_FACTO_REASON = "孩子反映父母长期在外、很少联系，申请事实无人抚养儿童认定"
_END_REASON = "家庭人均收入已超过城乡低保标准，经街道审批退出低保，申请终止低保家庭儿童认定"
_DOCUMENTS = {
    Category.POOR_FAMILY: (DocumentKind.OTHER, "城乡居民最低生活保障证"),
    Category.DE_FACTO_UNSUPPORTED: (DocumentKind.HUKOU, "户口簿（本人页）"),
    "end": (DocumentKind.OTHER, "退出低保审批表"),
}

APPLICATION_COLUMNS = (
    "id",
    "child_id",
    "kind",
    "category",
    "effective_month",
    "end_reason",
    "reason",
    "status",
    "division_code",
    "source",
    "filed_by_id",
    "filed_at",
    "decided_at",
)
STEP_COLUMNS = ("id", "application_id", "action", "from_status", "to_status", "actor_id", "comment", "at")
DOCUMENT_COLUMNS = (
    "id",
    "child_id",
    "kind",
    "title",
    "file",
    "content_type",
    "size",
    "uploaded_by_id",
    "uploaded_at",
)
EVIDENCE_COLUMNS = ("application_id", "document_id", "step_id", "added_by_id", "added_at")
MEMBERSHIP_COLUMNS = (
    "child_id",
    "category",
    "start_date",
    "end_date",
    "reason",
    "end_reason",
    "approved_by_id",
    "ended_by_id",
    "created_at",
)


@dataclass(frozen=True)
class Approval:
    """A late approval: the application that opened the child's enrolment, when and by whom."""

    application: int
    decided_at: dt.datetime
    decided_by: int | None


@dataclass
class Spec:
    kid: Kid
    status: str
    category: str
    effective: dt.date
    reason: str
    times: list[dt.datetime]  # filed, then one per move
    kind: str = ApplicationKind.OPEN
    end_reason: str = ""


def populate_applications(
    *, kids: dict[int, Kid], users: dict[str, int], clock: Clock, rng: random.Random
) -> tuple[dict[int, Approval], int]:
    """Write the applications (and the late approvals' memberships); returns the late approvals by child
    and the number of applications. The approved children's memberships are added to `kids` too."""
    pool = _pool(kids, clock)
    rng.shuffle(pool)
    late_count = min(LATE_APPROVALS, max(1, len(pool) // 4)) if pool else 0
    specs = [_late(kid, clock, rng) for kid in pool[:late_count]]
    for (status, category), kid in zip(PENDING, pool[late_count:], strict=False):
        specs.append(_pending(kid, status, category, clock, rng))
    leaving = _leaving(kids, {s.kid.id for s in specs})
    if leaving is not None:
        specs.append(_pending(leaving, S.CHECKED, Category.POOR_FAMILY, clock, rng, end=True))
    writer = _Writer(users)
    for spec in specs:
        writer.write(spec)
    approvals = writer.finish()
    for spec in specs:
        if spec.status == S.APPROVED:
            spec.kid.memberships.append((spec.category, spec.effective, None))
    _low_income([s.kid for s in specs if s.status == S.APPROVED])
    return approvals, len(specs)


def _pool(kids: dict[int, Kid], clock: Clock) -> list[Kid]:
    """Left-behind children of 津南区 never in a paid category, alone in their household (so no sibling
    needs the same decision), born before the effective months and not about to turn 18."""
    sizes = Counter(k.household for k in kids.values())
    born_by = months.from_index(clock.this - 4)
    out = []
    for kid in kids.values():
        if not kid.code.startswith(MAIN) or kid.household is None or sizes[kid.household] != 1:
            continue
        categories = {c for c, _s, _e in kid.memberships}
        left_behind = any(c == Category.LEFT_BEHIND and e is None for c, _s, e in kid.memberships)
        if not left_behind or categories & PAID:
            continue
        if kid.birth < born_by and age_limit_index(kid.birth) > clock.this + 12:
            out.append(kid)
    return out


def _leaving(kids: dict[int, Kid], taken: set[int]) -> Kid | None:
    """A 津南区 child paid as a 低保 family's child (and in no other paid category) whose family now asks out."""
    for kid in kids.values():
        open_paid = {c for c, _s, e in kid.memberships if e is None and c in PAID}
        if kid.code.startswith(MAIN) and kid.id not in taken and open_paid == {Category.POOR_FAMILY}:
            return kid
    return None


def _late(kid: Kid, clock: Clock, rng: random.Random) -> Spec:
    """Filed in the effective month, approved after last month's batch was generated and reconciled."""
    effective = months.from_index(clock.this - integer(rng, 2, 3))
    filed = clock.at(
        effective + dt.timedelta(days=integer(rng, 1, 17)), integer(rng, 9, 16), integer(rng, 0, 59)
    )
    checked = filed + dt.timedelta(days=integer(rng, 1, 5), hours=integer(rng, 0, 5))
    reviewed = checked + dt.timedelta(days=integer(rng, 3, 12), hours=integer(rng, 0, 5))
    earliest = max(
        reviewed + dt.timedelta(days=1), clock.at(months.from_index(clock.last) + dt.timedelta(days=20), 9)
    )
    latest = clock.now - dt.timedelta(hours=1)
    approved = earliest + (latest - earliest) * rng.random() if latest > earliest else latest
    times = [filed, checked, reviewed, approved]
    return Spec(kid, S.APPROVED, Category.POOR_FAMILY, effective, pick(rng, _POOR_REASONS), times)


def _pending(
    kid: Kid, status: str, category: str, clock: Clock, rng: random.Random, *, end: bool = False
) -> Spec:
    """Filed in the last few weeks, each move a day or a few after the one before."""
    gaps = [dt.timedelta(days=integer(rng, 1, 4), hours=integer(rng, 0, 8)) for _move in MOVES[status]]
    filed = clock.now - sum(gaps, dt.timedelta()) - dt.timedelta(hours=integer(rng, 3, 96))
    times = [filed]
    for gap in gaps:
        times.append(times[-1] + gap)
    effective = months.first(timezone.localtime(filed).date())
    if end:
        this = months.from_index(clock.this)
        return Spec(
            kid, status, category, this, _END_REASON, times, ApplicationKind.END, EndReason.CATEGORY_ENDED
        )
    reason = _DE_FACTO_REASON if category == Category.DE_FACTO_UNSUPPORTED else pick(rng, _POOR_REASONS)
    return Spec(kid, status, category, effective, reason, times)


class _Writer:
    def __init__(self, users: dict[str, int]) -> None:
        self.users = users
        self.applications = TableLoader(Application, APPLICATION_COLUMNS)
        self.steps = TableLoader(ApplicationStep, STEP_COLUMNS)
        self.documents = TableLoader(ChildDocument, DOCUMENT_COLUMNS)
        self.evidence = TableLoader(ApplicationEvidence, EVIDENCE_COLUMNS)
        self.memberships = TableLoader(CategoryMembership, MEMBERSHIP_COLUMNS)
        self.ids = {m: next_pk(m) for m in (Application, ApplicationStep, ChildDocument)}
        self.files: list[tuple[str, bytes]] = []
        self.approvals: dict[int, Approval] = {}

    def _id(self, model: type) -> int:
        self.ids[model] += 1
        return self.ids[model] - 1

    def _actor(self, level: str, code: str) -> int | None:
        username = {
            "village": f"village-{code}",
            "street": f"street-{code[:9]}",
            "district": f"district-{code[:6]}",
        }
        return self.users.get(username[level])

    def write(self, spec: Spec) -> None:
        code = spec.kid.code
        pk = self._id(Application)
        filer, filed = self._actor("village", code), spec.times[0]
        decided = spec.times[-1] if spec.status in (S.APPROVED, S.REJECTED) else None
        self.applications.extend(
            [
                (
                    pk,
                    spec.kid.id,
                    spec.kind,
                    spec.category,
                    spec.effective,
                    spec.end_reason,
                    spec.reason,
                    spec.status,
                    code,
                    "",
                    filer,
                    filed,
                    decided,
                )
            ]
        )
        step = self._id(ApplicationStep)
        self.steps.extend([(step, pk, Action.FILE, "", S.FILED, filer, "", filed)])
        before = S.FILED
        for (action, level, comment), when in zip(MOVES[spec.status], spec.times[1:], strict=True):
            to = _target(action)
            self.steps.extend(
                [(self._id(ApplicationStep), pk, action, before, to, self._actor(level, code), comment, when)]
            )
            before = to
        self._evidence(spec, pk, step, filer, filed)
        if spec.status == S.APPROVED:
            specialist = self._actor("district", code)
            self.approvals[spec.kid.id] = Approval(pk, spec.times[-1], specialist)
            # The membership the approval opened (applications._approve_open), from the effective month.
            note = f"第{pk}号申请已批准：{spec.reason}"[:300]
            self.memberships.extend(
                [
                    (
                        spec.kid.id,
                        spec.category,
                        spec.effective,
                        None,
                        note,
                        "",
                        specialist,
                        None,
                        spec.times[-1],
                    )
                ]
            )

    def _evidence(self, spec: Spec, application: int, step: int, filer: int | None, at: dt.datetime) -> None:
        kind, title = _DOCUMENTS["end" if spec.kind == ApplicationKind.END else spec.category]
        pk = self._id(ChildDocument)
        name = f"documents/demo/{pk}.pdf"
        data = _pdf(f"carenet demo - synthetic evidence document {pk} ({kind})")
        self.documents.extend([(pk, spec.kid.id, kind, title, name, "application/pdf", len(data), filer, at)])
        self.evidence.extend([(application, pk, step, filer, at)])
        self.files.append((name, data))

    def finish(self) -> dict[int, Approval]:
        for loader in (self.applications, self.steps, self.documents, self.evidence, self.memberships):
            loader.flush()
        reset_sequences(Application, ApplicationStep, ChildDocument, ApplicationEvidence, CategoryMembership)
        files = list(self.files)
        transaction.on_commit(lambda: _store(files))
        return self.approvals


def _target(action: str) -> str:
    return {
        Action.CHECK: S.CHECKED,
        Action.REVIEW: S.REVIEWED,
        Action.APPROVE: S.APPROVED,
        Action.RETURN: S.RETURNED,
        Action.REJECT: S.REJECTED,
    }[action]


def _low_income(kids: list[Kid]) -> None:
    """The approved families are on 低保 now; the children's visit schedule sees the new category."""
    Household.objects.filter(pk__in=[k.household for k in kids]).update(low_income=True)
    schedule.refresh([k.id for k in kids])


def _store(files: list[tuple[str, bytes]]) -> None:
    """Once the build has committed: the evidence files (a rolled-back build leaves none behind)."""
    for name, data in files:
        default_storage.delete(name)
        default_storage.save(name, ContentFile(data))


def _pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (ASCII): enough for a viewer to open the demo's evidence."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)
