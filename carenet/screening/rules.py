"""The screening rules: what a linked record means for a child, as a finding with a proposed action.

Each rule returns Drafts; the run saves them (runs.save). A draft's `key` names what it is about, stable from
one run and one month's list to the next; its `evidence` is what the rule saw, and the hash of it decides
whether a dismissed finding comes back. Its `division_code` is where the finding is filed, always inside the
division that ran the screening: a registered child's village (the registry is read under that division),
`route` for a person not in the registry, `_child_route` for a child the payments name.

Eligibility follows the national definitions: an orphan has lost both parents (dead or declared missing); a
de-facto unsupported child (事实无人抚养儿童) has two parents each dead, missing, imprisoned, in compulsory
rehabilitation, severely disabled or seriously ill — but not both dead (that is an orphan).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from carenet.accounts.jurisdiction import under
from carenet.accounts.models import Division, DivisionLevel
from carenet.benefits.models import Enrolment, LineStatus, PaymentLine
from carenet.core.dates import age_on
from carenet.linkage.normalise import normalise_id
from carenet.registry.models import (
    Category,
    CategoryMembership,
    Child,
    ChildStatus,
    FamilyMember,
    PersonStatus,
    Relationship,
)
from carenet.screening.linking import Link, Registry
from carenet.screening.models import ListKind, ListRecord, Rule

S = PersonStatus
ABSENT = {S.DECEASED, S.MISSING}
INCAPABLE = {S.IMPRISONED, S.REHAB, S.SEVERELY_DISABLED, S.SERIOUSLY_ILL}
ORPHANS = {Category.ORPHAN_SCATTERED, Category.ORPHAN_INSTITUTIONAL}
PARENTS = {Relationship.FATHER, Relationship.MOTHER}
# Lists whose every person is alive on the list's date.
ALIVE_KINDS = {
    ListKind.PRISON_IN,
    ListKind.PRISON_OUT,
    ListKind.REHAB,
    ListKind.DISABILITY,
    ListKind.DIBAO,
    ListKind.INSURANCE,
    ListKind.HOUSEHOLD,
}
# The status a list gives the people on it, and the rule that finds it for a parent.
EVENT_RULES = {
    ListKind.DEATH: (S.DECEASED, Rule.PARENT_DIED),
    ListKind.HUKOU_CANCEL: (S.DECEASED, Rule.PARENT_DIED),
    ListKind.PRISON_IN: (S.IMPRISONED, Rule.PARENT_IMPRISONED),
    ListKind.REHAB: (S.REHAB, Rule.PARENT_REHAB),
    ListKind.DISABILITY: (S.SEVERELY_DISABLED, Rule.PARENT_DISABLED),
    ListKind.PRISON_OUT: (S.ALIVE, Rule.PARENT_RELEASED),
}
EVENT_KINDS = frozenset(EVENT_RULES)  # the lists that report an event about a person
PARENT_RULES = frozenset(rule for _status, rule in EVENT_RULES.values())  # findings about a child's parent


class Proposal:
    OPEN_CATEGORY = "open_category"  # file an application to enter the category
    END_CATEGORY = "end_category"  # file an application to end it
    RECORD_STATUS = "record_status"  # record the parent's new status (the category stays)
    END_SUPPORT = "end_support"  # archive the child (died, turned 18): payments stop
    REGISTER = "register"  # register the child and file an application
    ARCHIVE_DUPLICATE = "archive_duplicate"  # archive the newer of two records of one child
    RAISE_PROBLEM = "raise_problem"  # a problem for the district and the director to resolve


@dataclass
class Draft:
    rule: str
    key: str
    division_code: str
    proposal: str
    evidence: dict
    category: str = ""
    child: Child | None = None
    member: FamilyMember | None = None
    record: ListRecord | None = None
    other_record: ListRecord | None = None
    other_child: Child | None = None
    probability: float | None = None
    reason: str = ""

    @property
    def evidence_hash(self) -> str:
        """The data behind the finding; which list carried it is not (next month's list saying the same does
        not bring back a dismissed finding)."""
        evidence = {k: v for k, v in self.evidence.items() if k != "list"}
        data = {"rule": self.rule, "proposal": self.proposal, "category": self.category, **evidence}
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def assess(a: str | None, b: str | None) -> str:
    """What two parents' statuses make a child: "orphan", "de_facto" or "" (None: not known)."""
    if a is None or b is None:
        return ""
    if a in ABSENT and b in ABSENT:
        return "orphan"
    if a in ABSENT | INCAPABLE and b in ABSENT | INCAPABLE:
        return "de_facto"
    return ""


def _status_of(record: ListRecord, today: dt.date) -> str | None:
    """The status a list gives its person, or None when this record says nothing about it."""
    kind = record.dept_list.kind
    if kind == ListKind.HUKOU_CANCEL and record.detail and "死" not in record.detail:
        return None  # cancelled for moving away, joining the army …: not a death
    if kind == ListKind.DISABILITY and record.level not in ("1", "2"):
        return None  # only levels 1 and 2 are severe disability
    if kind in (ListKind.PRISON_IN, ListKind.REHAB) and record.until and record.until < today:
        return None  # already out again
    entry = EVENT_RULES.get(kind)
    return entry[0] if entry else None


def _date(record: ListRecord) -> dt.date:
    return record.event_date or record.dept_list.list_date


def _open_categories(children: Iterable[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    rows = CategoryMembership.objects.filter(child_id__in=list(children), end_date__isnull=True)
    for child_id, category in rows.values_list("child_id", "category"):
        out[child_id].add(category)
    return out


def _other_parent(member: FamilyMember, reg: Registry) -> FamilyMember | None:
    other = Relationship.MOTHER if member.relationship == Relationship.FATHER else Relationship.FATHER
    return next((m for m in reg.parents.get(member.child_id, []) if m.relationship == other), None)


def _proposal(target: str, open_now: set[str]) -> tuple[str, str]:
    """(proposal, category) for a child whose parents now make it `target`."""
    if target == "orphan" and not open_now & ORPHANS:
        institutional = Category.ORPHAN_INSTITUTIONAL in open_now
        return (
            Proposal.OPEN_CATEGORY,
            Category.ORPHAN_INSTITUTIONAL if institutional else Category.ORPHAN_SCATTERED,
        )
    if target == "de_facto" and not open_now & (ORPHANS | {Category.DE_FACTO_UNSUPPORTED}):
        return Proposal.OPEN_CATEGORY, Category.DE_FACTO_UNSUPPORTED
    if not target and Category.DE_FACTO_UNSUPPORTED in open_now:
        return Proposal.END_CATEGORY, Category.DE_FACTO_UNSUPPORTED
    return Proposal.RECORD_STATUS, ""


def pending_statuses(
    linked: Iterable[tuple[object, list[ListRecord], dict[int, Link]]], reg: Registry, today: dt.date
) -> dict[int, str]:
    """member pk -> the status this run's lists give that registered parent (the latest list last)."""
    out: dict[int, tuple[dt.date, str]] = {}
    for _dept_list, records, links in linked:
        for record in records:
            link = links.get(record.pk)
            if link is None or link.decision != "match" or link.ref_id[0] != "p":
                continue
            status = _status_of(record, today)
            if status is None:
                continue
            for member in reg.people.get(link.ref_id, []):
                if member.status == S.IMPRISONED or record.dept_list.kind != ListKind.PRISON_OUT:
                    when = _date(record)
                    if member.pk not in out or out[member.pk][0] <= when:
                        out[member.pk] = (when, status)
    return {pk: status for pk, (_when, status) in out.items()}


def registered(
    records: list[ListRecord],
    links: dict[int, Link],
    reg: Registry,
    today: dt.date,
    pending: dict[int, str] | None = None,
) -> list[Draft]:
    """Rules for list records that link to the registry: a parent's new status, a child's death, a dead parent
    alive in a list, a dropout."""
    drafts: list[Draft] = []
    linked = [(r, links[r.pk]) for r in records if r.pk in links]
    members = [
        m for _r, link in linked if link.ref_id.startswith("p") for m in reg.people.get(link.ref_id, [])
    ]
    child_ids = {m.child_id for m in members} | {
        int(link.ref_id[1:]) for _r, link in linked if link.ref_id[0] == "c"
    }
    open_cats = _open_categories(child_ids)
    for record, link in linked:
        kind = record.dept_list.kind
        base = {"list": record.dept_list_id, "kind": kind, "date": _date(record).isoformat()}
        if link.ref_id[0] == "c":
            child = reg.children.get(int(link.ref_id[1:]))
            if child is None or child.status != ChildStatus.ACTIVE:
                continue
            if kind in (ListKind.DEATH, ListKind.HUKOU_CANCEL) and _status_of(record, today) == S.DECEASED:
                drafts.append(
                    Draft(
                        Rule.CHILD_DIED,
                        f"child_died:c{child.pk}",
                        child.division_code,
                        Proposal.END_SUPPORT,
                        {**base, "died": _date(record).isoformat()},
                        child=child,
                        record=record,
                        probability=link.probability,
                        reason=link.reason,
                    )
                )
            elif kind == ListKind.SCHOOL and record.status == "dropout":
                drafts.append(
                    Draft(
                        Rule.SCHOOL_DROPOUT,
                        f"dropout:c{child.pk}",
                        child.division_code,
                        Proposal.RAISE_PROBLEM,
                        {**base, "school": record.detail},
                        child=child,
                        record=record,
                        probability=link.probability,
                        reason=link.reason,
                    )
                )
            continue
        for member in reg.people.get(link.ref_id, []):
            if member.relationship not in PARENTS:
                continue
            child = reg.children[member.child_id]
            if child.status != ChildStatus.ACTIVE:
                continue
            now = open_cats.get(child.pk, set())
            if member.status in ABSENT:
                since = member.status_since
                if kind in ALIVE_KINDS and (since is None or _date(record) > since):
                    drafts.append(
                        Draft(
                            Rule.PARENT_ALIVE,
                            f"parent_alive:m{member.pk}",
                            child.division_code,
                            Proposal.RAISE_PROBLEM,
                            {
                                **base,
                                "registered": member.status,
                                "since": since.isoformat() if since else "",
                            },
                            category=next(iter(sorted(now & ORPHANS)), ""),
                            child=child,
                            member=member,
                            record=record,
                            probability=link.probability,
                            reason=link.reason,
                        )
                    )
                continue
            status = _status_of(record, today)
            if status is None:
                continue
            rule = EVENT_RULES[kind][1]
            if rule == Rule.PARENT_RELEASED and member.status != S.IMPRISONED:
                continue  # released, but the registry never had them in prison
            if status == member.status:
                continue  # the registry knows already
            other = _other_parent(member, reg)
            other_status = (pending or {}).get(other.pk, other.status) if other else None
            target = assess(status, other_status)
            proposal, category = _proposal(target, now)
            drafts.append(
                Draft(
                    rule,
                    f"{rule}:m{member.pk}",
                    child.division_code,
                    proposal,
                    {
                        **base,
                        "status": status,
                        "was": member.status,
                        "other": other_status or "",
                        "until": record.until.isoformat() if record.until else "",
                        "level": record.level,
                    },
                    category=category,
                    child=child,
                    member=member,
                    record=record,
                    probability=link.probability,
                    reason=link.reason,
                )
            )
    return drafts


def _age(record: ListRecord, on: dt.date) -> int | None:
    """Age by the list's birth date, else the one the ID number carries; None when the record has neither."""
    birth = record.birth_date
    if birth is None:
        info = normalise_id(record.id_number)
        birth = info.birth if info else None
    return None if birth is None else age_on(birth, on)


def route(record: ListRecord, run_code: str, districts: set[str]) -> str:
    """Where a person not in the registry is looked after: the list's own division code, else the district of
    the ID number's area, else the division that ran the screening — each only when it lies inside the
    division that ran the screening (a street's run files a candidate under the street, not its district)."""
    if record.division_code.startswith(run_code):
        return record.division_code
    info = normalise_id(record.id_number)
    if info and info.region in districts and info.region.startswith(run_code):
        return info.region
    return run_code


def _child_route(child: Child, run_code: str) -> str:
    """Where a registered child's finding goes: the child's village, while it lies inside the division that
    ran the screening (a child who moved away since the payments the run looked at: the division that ran
    it)."""
    return child.division_code if child.division_code.startswith(run_code) else run_code


def district_codes() -> set[str]:
    return set(Division.objects.filter(level=DivisionLevel.DISTRICT).values_list("code", flat=True))


def _identity(record: ListRecord) -> str:
    if record.id_number_hash:
        return record.id_number_hash[:32]
    text = f"{record.name}|{record.birth_date}|{record.household_no}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def dibao_children(
    records: list[ListRecord], links: dict[int, Link], run_code: str, today: dt.date, districts: set[str]
) -> list[Draft]:
    """Children on the minimum-allowance roll who are not registered: candidate poor-family children."""
    drafts = []
    for record in records:
        age = _age(record, today)
        if age is None or age >= 18 or record.pk in links and links[record.pk].ref_id[0] == "c":
            continue
        drafts.append(
            Draft(
                Rule.DIBAO_CHILD,
                f"dibao_child:{_identity(record)}",
                route(record, run_code, districts),
                Proposal.REGISTER,
                {
                    "list": record.dept_list_id,
                    "kind": record.dept_list.kind,
                    "household": record.household_no,
                },
                category=Category.POOR_FAMILY,
                record=record,
            )
        )
    return drafts


HEAD = {"户主", "本人"}
SPOUSE = {"配偶", "妻", "夫", "妻子", "丈夫"}
CHILD_SPOUSE = {"儿媳", "女婿"}


_CHILD = re.compile(r"^(长|次|三|四|五|六|小|独生|养|继)?(子|女)$")


def _role(relation: str) -> str:
    r = relation.strip()
    if r in HEAD:
        return "head"
    if r in SPOUSE:
        return "spouse"
    if r in CHILD_SPOUSE:
        return "child_spouse"
    if r.startswith(("孙", "外孙")) and not r.startswith("孙媳"):
        return "grandchild"
    if _CHILD.match(r) or r in ("儿子", "女儿"):
        return "child"
    return "other"  # 侄子, 外甥女, 曾孙, 兄弟姐妹 …: not the head's child


def new_candidates(
    household: list[ListRecord],
    events: list[ListRecord],
    event_links: dict[int, Link],
    registry_links: dict[int, Link],
    run_code: str,
    today: dt.date,
    districts: set[str],
) -> list[Draft]:
    """Children of a household extract who are not registered and whose parents, by the other lists, now make
    them orphans or de-facto unsupported: "policy finds the person".

    A parent is a household member (the head and spouse for a son or daughter; the son or daughter and their
    spouse for a grandchild), or the person of an event list with the same household number and relation (a
    dead parent is already cancelled from the extract). Statuses come from the event lists, the latest first."""
    status: dict[int, tuple[str, ListRecord]] = {}
    for record in sorted(events, key=_date):
        new = _status_of(record, today)
        link = event_links.get(record.pk)
        if link is None or link.decision != "match" or new is None:
            continue
        status[int(link.ref_id)] = (new, record)
    by_household: dict[str, list[tuple[ListRecord, str | None, ListRecord | None]]] = defaultdict(list)
    for record in household:
        got = status.get(record.pk)
        by_household[record.household_no].append(
            (record, got[0] if got else S.ALIVE, got[1] if got else None)
        )
    for record in events:
        # A parent cancelled from the extract (dead) appears only in the event list, with the household number.
        if record.household_no in by_household and record.relation:
            if record.pk in event_links:
                continue  # the same person as an extract member: counted there
            new = _status_of(record, today)
            if new is not None:
                by_household[record.household_no].append((record, new, record))
    drafts = []
    for number, people in by_household.items():
        roles: dict[str, list] = defaultdict(list)
        for person in people:
            roles[_role(person[0].relation)].append(person)
        for role in ("child", "grandchild"):
            if role == "child":
                parents = roles["head"][:1] + roles["spouse"][:1]
            else:
                adults = [p for p in roles["child"] if (_age(p[0], today) or 0) >= 18]
                parents = (adults + roles["child_spouse"])[:2] if len(adults) == 1 else []
            if len(parents) != 2:
                continue
            target = assess(parents[0][1], parents[1][1])
            if not target:
                continue
            for child_record, _s, _e in roles[role]:
                age = _age(child_record, today)
                if child_record.dept_list.kind != ListKind.HOUSEHOLD or age is None or age >= 18:
                    continue
                link = registry_links.get(child_record.pk)
                if link is not None and link.ref_id[0] == "c":
                    continue  # registered: the parent rules look after a registered child
                category = Category.ORPHAN_SCATTERED if target == "orphan" else Category.DE_FACTO_UNSUPPORTED
                trigger = next((e for _r, _s, e in parents if e is not None), None)
                drafts.append(
                    Draft(
                        Rule.NEW_CANDIDATE,
                        f"new_candidate:{_identity(child_record)}",
                        route(child_record, run_code, districts),
                        Proposal.REGISTER,
                        {
                            "household": number,
                            "parents": [
                                {
                                    "name": p[0].name,
                                    "relation": p[0].relation,
                                    "status": p[1],
                                    "date": _date(p[2]).isoformat() if p[2] else "",
                                    "list": p[2].dept_list_id if p[2] else None,
                                }
                                for p in parents
                            ],
                        },
                        category=category,
                        record=child_record,
                        other_record=trigger,
                    )
                )
    return drafts


def aged_out(reg: Registry, today: dt.date) -> list[Draft]:
    """Registered children still active on or after their 18th birthday: support ends."""
    return [
        Draft(
            Rule.AGED_OUT,
            f"aged_out:c{c.pk}",
            c.division_code,
            Proposal.END_SUPPORT,
            {"birth_date": c.birth_date.isoformat()},
            child=c,
        )
        for c in reg.children.values()
        if c.status == ChildStatus.ACTIVE and c.age_on(today) >= 18
    ]


def duplicate_children(pairs: list[tuple[int, int, float, str]], reg: Registry) -> list[Draft]:
    drafts = []
    for older, newer, probability, reason in pairs:
        a, b = reg.children.get(older), reg.children.get(newer)
        if a is None or b is None:
            continue
        drafts.append(
            Draft(
                Rule.DUPLICATE_CHILD,
                f"duplicate:c{older}:c{newer}",
                b.division_code,
                Proposal.ARCHIVE_DUPLICATE,
                {"older": older, "newer": newer},
                child=b,
                other_child=a,
                probability=probability,
                reason=reason,
            )
        )
    return drafts


def paid_twice(run_code: str) -> list[Draft]:
    """A child paid twice for the same programme and month, or enrolled twice in one programme."""
    drafts = []
    live = [LineStatus.APPROVED, LineStatus.EXPORTED, LineStatus.PAID]
    twice = (
        under(PaymentLine.objects.filter(status__in=live), run_code)
        .values("child_id", "programme", "month")
        .annotate(n=Count("id"), districts=Count("district_code", distinct=True))
        .filter(n__gt=1)
        .order_by("child_id", "programme", "month")
    )
    children = {c.pk: c for c in Child.objects.filter(pk__in={t["child_id"] for t in twice})}
    for t in twice:
        child = children[t["child_id"]]
        drafts.append(
            Draft(
                Rule.PAID_TWICE,
                f"paid_twice:c{child.pk}:{t['programme']}:{t['month']:%Y-%m}",
                _child_route(child, run_code),
                Proposal.RAISE_PROBLEM,
                {"programme": t["programme"], "month": t["month"].isoformat(), "times": t["n"]},
                child=child,
            )
        )
    enrolled = (
        under(Enrolment.objects.filter(end_month__isnull=True), run_code)
        .values("child_id", "programme")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("child_id")
    )
    children = {c.pk: c for c in Child.objects.filter(pk__in={e["child_id"] for e in enrolled})}
    for e in enrolled:
        child = children[e["child_id"]]
        drafts.append(
            Draft(
                Rule.PAID_TWICE,
                f"enrolled_twice:c{child.pk}:{e['programme']}",
                _child_route(child, run_code),
                Proposal.RAISE_PROBLEM,
                {"programme": e["programme"], "enrolments": e["n"]},
                child=child,
            )
        )
    return drafts
