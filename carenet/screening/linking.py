"""The registry and department lists as linkage tables, and the model screening links them with.

The registry side holds the children (reference id `c<pk>`) and their parents and other relatives as *people*
(`p<n>`): a father recorded once for each of three siblings is one person, so a death list links to him once,
clearly, instead of three times ambiguously. Lists link with a saved model: `CARENET_LINKAGE_MODEL` when set,
else one learnt once from the synthetic generator and cached under var/ (a monthly list of 200 deaths is too
small to learn from).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db.models import QuerySet

from carenet.accounts.jurisdiction import under
from carenet.core import crypto
from carenet.linkage import engine
from carenet.linkage.model import Model
from carenet.registry.models import ID_PURPOSE, Child, ChildStatus, FamilyMember, Relationship
from carenet.screening.models import ListRecord

MALE = {Relationship.FATHER, Relationship.PATERNAL_GRANDFATHER, Relationship.MATERNAL_GRANDFATHER}
FEMALE = {Relationship.MOTHER, Relationship.PATERNAL_GRANDMOTHER, Relationship.MATERNAL_GRANDMOTHER}
COLUMNS = ("id", "name", "sex", "birth_date", "id_number", "address")  # linkage's canonical columns
_lock = threading.Lock()


def model() -> Model:
    """The linkage model screening uses (see the module's note)."""
    configured = getattr(settings, "LINKAGE_MODEL", "")
    if configured:
        return Model.load(configured)
    path = Path(settings.VAR_DIR) / "linkage" / "screening-model.json"
    with _lock:
        if not path.exists():
            from carenet.linkage import synth

            data = synth.generate(n_reference=20_000, n_list=20_000, seed=3)
            learnt = engine.link(data.list, data.reference).model
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            learnt.save(tmp)
            tmp.replace(path)
        return Model.load(path)


def for_reference(base: Model, n_reference: int) -> Model:
    """The model with its prior set for a reference of this size: a list record is, a priori, one of the
    reference's people half the time (uniformly which)."""
    copy = Model(**{k: v for k, v in base.__dict__.items()})
    copy.match_rate = 0.5 / max(n_reference, 1)
    return copy


@dataclass
class Registry:
    """The registry under one division as a linkage reference, with what the ids stand for."""

    reference: engine.Reference | None
    children: dict[int, Child]
    people: dict[str, list[FamilyMember]] = field(default_factory=dict)  # "p<n>" -> the member rows
    parents: dict[int, list[FamilyMember]] = field(default_factory=dict)  # child pk -> its father and mother
    child_rows: dict[str, list[str]] = field(default_factory=dict)  # the reference's columns; children first


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def registry(division_code: str) -> Registry:
    """Children under `division_code` (archived ones too: a child on a list who is registered but archived is
    not a new candidate) and their relatives, ready to link against. The rules act on active children only."""
    children_qs: QuerySet[Child] = under(Child.objects.all(), division_code)
    children = {
        c.pk: c
        for c in children_qs.only(
            "id",
            "name",
            "sex",
            "birth_date",
            "id_number_enc",
            "address",
            "division_code",
            "status",
            "household_id",
            "created_at",
        )
    }
    rows: dict[str, list[str]] = {k: [] for k in COLUMNS}

    def add(ref_id: str, name: str, sex: str, birth: str, number: str, address: str) -> None:
        rows["id"].append(ref_id)
        rows["name"].append(name)
        rows["sex"].append(sex)
        rows["birth_date"].append(birth)
        rows["id_number"].append(number)
        rows["address"].append(address)

    for child in children.values():
        add(f"c{child.pk}", child.name, child.sex, _iso(child.birth_date), child.id_number, child.address)
    # The relatives of those same children, by the division rather than a list of every child's id.
    members = under(FamilyMember.objects.all(), division_code, "child__division_code").order_by("id")
    people: dict[str, list[FamilyMember]] = {}
    parents: dict[int, list[FamilyMember]] = {}
    by_key: dict[str, str] = {}
    for member in members.iterator(chunk_size=5000):
        child = children[member.child_id]
        member.child = child
        household = child.household_id or f"c{child.pk}"
        key = member.id_number_hash or f"{member.name.strip()}|{household}|{member.relationship}"
        person = by_key.get(key)
        if person is None:
            person = f"p{len(by_key) + 1}"
            by_key[key] = person
            sex = "M" if member.relationship in MALE else "F" if member.relationship in FEMALE else ""
            number = crypto.decrypt(member.id_number_enc, purpose=ID_PURPOSE)
            add(person, member.name, sex, "", number, child.address)
        people.setdefault(person, []).append(member)
        if member.relationship in (Relationship.FATHER, Relationship.MOTHER):
            parents.setdefault(child.pk, []).append(member)
    reference = engine.Reference.build(_frame(rows)) if rows["id"] else None
    return Registry(reference=reference, children=children, people=people, parents=parents, child_rows=rows)


def _frame(rows: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in COLUMNS})


def records_frame(records: list[ListRecord]) -> pl.DataFrame:
    return _frame(
        {
            "id": [str(r.pk) for r in records],
            "name": [r.name for r in records],
            "sex": [r.sex for r in records],
            "birth_date": [_iso(r.birth_date) for r in records],
            "id_number": [r.id_number for r in records],
            "address": [r.address for r in records],
        }
    )


@dataclass(frozen=True)
class Link:
    ref_id: str
    probability: float
    decision: str  # match / review
    reason: str


def link(records: list[ListRecord], reference: engine.Reference | None, base: Model) -> dict[int, Link]:
    """For each list record that links (match or review), which reference record, how sure and why."""
    if not records or reference is None:
        return {}
    result = engine.link(
        records_frame(records), reference, model=for_reference(base, len(reference.rows))
    ).result
    out: dict[int, Link] = {}
    for row in result.filter(pl.col("decision").is_in(["match", "review"])).iter_rows(named=True):
        out[int(row["list_id"])] = Link(
            row["reference_id"], float(row["probability"]), row["decision"], row["reason"]
        )
    return out


def household_reference(records: list[ListRecord]) -> engine.Reference | None:
    """The people of household extracts as a reference (ids: the record's pk), for linking event lists to."""
    return engine.Reference.build(records_frame(records)) if records else None


def duplicates(reg: Registry, base: Model) -> list[tuple[int, int, float, str]]:
    """Pairs of registered children the model calls one person: (older pk, newer pk, probability, reason)."""
    active = [i for i, c in enumerate(reg.children.values()) if c.status == ChildStatus.ACTIVE]
    rows = {k: [v[i] for i in active] for k, v in reg.child_rows.items()}
    if len(rows["id"]) < 2:
        return []
    ref = engine.Reference.build(_frame(rows))
    pairs = engine.within(ref, for_reference(base, len(rows["id"])))
    out = []
    for a, b, probability, reason in pairs.iter_rows():
        x, y = sorted((int(a[1:]), int(b[1:])))
        out.append((x, y, float(probability), reason))
    return out
