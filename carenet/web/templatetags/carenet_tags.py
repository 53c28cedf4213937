from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from carenet.accounts.permissions import has_perm
from carenet.core.dates import age_on

register = template.Library()


@register.filter
def age(birth: dt.date | None) -> str:
    if not birth:
        return ""
    return str(age_on(birth, timezone.localdate()))


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], perm: str) -> bool:
    return has_perm(context["request"].user, perm)


@register.filter
def change_items(changes: dict[str, list[Any]]) -> list[tuple[str, Any, Any]]:
    return [(k, v[0], v[1]) for k, v in (changes or {}).items()]


def _field_labels() -> dict[str, dict[str, Any]]:
    from carenet.benefits.models import (
        Application,
        BankAccount,
        Enrolment,
        PaymentLine,
        PayrollBatch,
        Standard,
    )
    from carenet.problems.models import Problem
    from carenet.registry.models import CategoryMembership, Child, ChildDocument, FamilyMember, Household
    from carenet.visits.models import Visit, VisitRule

    models = {
        "child": Child,
        "household": Household,
        "member": FamilyMember,
        "category": CategoryMembership,
        "document": ChildDocument,
        "visit": Visit,
        "visit_rule": VisitRule,
        "problem": Problem,
        "application": Application,
        "enrolment": Enrolment,
        "standard": Standard,
        "bank_account": BankAccount,
        "payroll_batch": PayrollBatch,
        "payment_line": PaymentLine,
    }
    labels: dict[str, dict[str, Any]] = {}
    for entity, model in models.items():
        labels[entity] = {f.name: f.verbose_name for f in model._meta.concrete_fields}
    return labels


@register.filter
def entity_label(entity: str) -> Any:
    from carenet.audit.models import ENTITY_LABELS

    return ENTITY_LABELS.get(entity, entity)


@register.simple_tag
def field_label(entity: str, key: str) -> Any:
    from django.utils.translation import gettext_lazy as _

    extra = {
        "id_number": _("ID number"),
        "caseworker": _("Social worker"),
        "action": _("Action"),
        "text": _("Text"),
        "photos": _("Photos"),
        "note": _("Note"),
        "sampled": _("Drawn in a sample"),
    }
    return _field_labels().get(entity, {}).get(key) or extra.get(key, key)


@register.filter
def access_detail(detail: str) -> Any:
    from carenet.audit.models import DETAIL_LABELS, NUMBERED_DETAIL_LABELS

    if detail in DETAIL_LABELS:
        return DETAIL_LABELS[detail]
    # "visit photo 12", "api problem 7 resolve": the longest known prefix followed by a number
    words = detail.split(" ")
    for cut in range(len(words) - 1, 0, -1):
        prefix, rest = " ".join(words[:cut]), words[cut:]
        if prefix in NUMBERED_DETAIL_LABELS and rest[0].isdigit():
            return " ".join([str(NUMBERED_DETAIL_LABELS[prefix] % {"n": rest[0]}), *rest[1:]])
    return detail
