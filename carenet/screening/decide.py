"""A reviewer's decision on a finding: confirm it (which does what it proposes, in the workflow it belongs to)
or dismiss it with a reason. Both are audited; confirming is all or nothing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division, DivisionLevel, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.benefits import applications, months
from carenet.benefits.models import ApplicationKind, EndReason
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.problems import services as problems
from carenet.problems.models import ProblemCategory, Severity
from carenet.registry import services as registry
from carenet.registry.models import ArchiveReason, Child, ChildStatus, PersonStatus
from carenet.screening import selectors
from carenet.screening.models import Finding, FindingState, ListRecord, Rule
from carenet.screening.rules import PARENT_RULES, Proposal

MAX_NOTE = 300


def _locked(actor: User, finding: Finding | int) -> Finding:
    if not has_perm(actor, Perm.SCREENING_REVIEW):
        raise PermissionDeniedError(_("Your role may not decide on findings."))
    pk = finding.pk if isinstance(finding, Finding) else finding
    found = scope(actor, Finding.objects.select_for_update()).get(pk=pk)
    if found.state != FindingState.OPEN:
        raise CarenetError(_("This finding has already been decided."))
    return found


def _note(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise CarenetError(_("Give the reason."), field="note")
    if len(text) > MAX_NOTE:
        raise CarenetError(
            _("The text is too long (at most %(n)d characters).") % {"n": MAX_NOTE}, field="note"
        )
    return text


def _close(actor: User, finding: Finding, state: str, note: str, outcome: str) -> Finding:
    finding.state = state
    finding.decided_by = actor
    finding.decided_at = timezone.now()
    finding.decision_note = note
    finding.outcome = outcome[:200]
    finding.save()
    events.change_recorded(
        actor=actor,
        entity="finding",
        entity_id=finding.pk,
        child_id=finding.child_id,
        division_code=finding.division_code,
        action="confirm" if state == FindingState.CONFIRMED else "dismiss",
        changes={
            "state": [FindingState.OPEN, state],
            "note": [None, note or None],
            "outcome": [None, outcome or None],
            "application": [None, finding.application_id],
            "problem": [None, finding.problem_id],
        },
    )
    return finding


@transaction.atomic
def dismiss(*, actor: User, finding: Finding | int, note: str) -> Finding:
    """Not so (a namesake, already known, …): it stays dismissed until the data behind it changes."""
    found = _locked(actor, finding)
    return _close(actor, found, FindingState.DISMISSED, _note(note, required=True), "")


def _source_text(finding: Finding, record: ListRecord | None) -> str:
    if record is None:
        return _("Screening finding %(id)s") % {"id": finding.pk}
    return _("Screening finding %(id)s: %(list)s of %(date)s, row %(row)s") % {
        "id": finding.pk,
        "list": record.dept_list.get_kind_display(),
        "date": record.dept_list.list_date.isoformat(),
        "row": record.row,
    }


def _file(actor: User, finding: Finding, child: Child, kind: str, source: str, end_reason: str = "") -> str:
    # The reviewer's right to confirm is the right to file what the finding proposes; it is not
    # Perm.APPLICATION_FILE, the village's right to file any application.
    application = applications.application_file(
        actor=actor,
        child=child,
        kind=kind,
        category=finding.category,
        effective_month=months.first(timezone.localdate()),  # from this month; no arrears proposed
        reason=source,
        end_reason=end_reason,
        source="screening",
        authorized_by=Perm.SCREENING_REVIEW,
    )
    finding.application = application
    return _("Application %(id)s filed") % {"id": application.pk}


def _raise(actor: User, finding: Finding, category: str, text: str) -> str:
    child = scope(actor, Child.objects.all()).get(pk=finding.child_id)
    problem = problems.problem_raise(
        actor=actor, child=child, category=category, severity=Severity.SERIOUS, description=text
    )
    finding.problem = problem
    return _("Problem %(id)s raised") % {"id": problem.pk}


@transaction.atomic
def confirm(
    *,
    actor: User,
    finding: Finding | int,
    note: str = "",
    village: Division | None = None,
    id_number: str = "",
) -> Finding:
    """So it is: do what the finding proposes. A candidate child is registered in `village` (with `id_number`
    when the list's is wrong) and an application filed for it."""
    f = _locked(actor, finding)
    note = _note(note, required=False)
    outcome = _apply(actor, f, village, id_number.strip())
    return _close(actor, f, FindingState.CONFIRMED, note, outcome)


def _apply(actor: User, f: Finding, village: Division | None, id_number: str) -> str:
    record = selectors.finding_record(user=actor, finding=f)
    source = _source_text(f, record)
    if f.rule in PARENT_RULES:
        member = selectors.finding_member(user=actor, finding=f)
        status = f.evidence.get("status") or PersonStatus.ALIVE
        registry.member_update(
            actor=actor,
            member=member,
            status=status,
            status_since=record.event_date if record else None,
            status_until=record.until
            if record and status in (PersonStatus.IMPRISONED, PersonStatus.REHAB)
            else None,
            evidence_note=source[:300],
        )
        done = [_("Status of %(name)s recorded") % {"name": member.name}]
        child = scope(actor, Child.objects.all()).get(pk=f.child_id)
        if f.proposal == Proposal.OPEN_CATEGORY:
            done.append(_file(actor, f, child, ApplicationKind.OPEN, source))
        elif f.proposal == Proposal.END_CATEGORY:
            done.append(_file(actor, f, child, ApplicationKind.END, source, EndReason.PARENT_RETURNED))
        return "；".join(done)
    if f.rule in (Rule.CHILD_DIED, Rule.AGED_OUT, Rule.DUPLICATE_CHILD):
        child = scope(actor, Child.objects.all()).get(pk=f.child_id)
        if child.status != ChildStatus.ACTIVE:
            raise CarenetError(_("The child's record is already archived."))
        reason = {
            Rule.CHILD_DIED: ArchiveReason.DECEASED,
            Rule.AGED_OUT: ArchiveReason.AGED_OUT,
            Rule.DUPLICATE_CHILD: ArchiveReason.DUPLICATE,
        }[f.rule]
        detail = (
            source
            if f.rule != Rule.DUPLICATE_CHILD
            else _("Duplicate of child %(id)s") % {"id": f.other_child_id}
        )
        registry.child_archive(actor=actor, child=child, reason=reason, note=detail[:300])
        return _("Record archived: payments stop")
    if f.rule in (Rule.DIBAO_CHILD, Rule.NEW_CANDIDATE):
        return _register(actor, f, record, source, village, id_number)
    if f.rule == Rule.PARENT_ALIVE:
        member = selectors.finding_member(user=actor, finding=f)
        return _raise(
            actor,
            f,
            ProblemCategory.BENEFITS,
            _(
                "The registry records %(name)s (%(relation)s) as “%(status)s”, but %(source)s lists them "
                "alive: check the child's category."
            )
            % {
                "name": member.name,
                "relation": member.get_relationship_display(),
                "status": member.get_status_display(),
                "source": source,
            },
        )
    if f.rule == Rule.PAID_TWICE:
        return _raise(
            actor,
            f,
            ProblemCategory.BENEFITS,
            _("Screening found the child enrolled or paid twice: %(what)s")
            % {"what": ", ".join(f"{k}={v}" for k, v in sorted(f.evidence.items()))},
        )
    if f.rule == Rule.SCHOOL_DROPOUT:
        return _raise(
            actor,
            f,
            ProblemCategory.SCHOOLING,
            _("%(source)s lists the child as having dropped out of school.") % {"source": source},
        )
    raise CarenetError(_("This finding cannot be confirmed."))


def _register(
    actor: User, f: Finding, record: ListRecord, source: str, village: Division | None, id_number: str
) -> str:
    if village is None:
        raise CarenetError(_("Choose the village the child lives in."), field="village")
    village = scope(actor, Division.objects.filter(level=DivisionLevel.VILLAGE)).filter(pk=village.pk).first()
    if village is None:
        raise CarenetError(_("Choose a village of your own division."), field="village")
    number = id_number or record.id_number
    birth = record.birth_date
    child = registry.child_register(
        actor=actor,
        division=village,
        id_number=number,
        name=record.name,
        sex=record.sex,
        birth_date=birth,
        address=record.address,
        notes=source,
    )
    f.child = child
    done = [_("Child %(id)s registered") % {"id": child.pk}]
    done.append(_file(actor, f, child, ApplicationKind.OPEN, source))
    return "；".join(done)
