"""A reviewer's decision: confirming does what the finding proposes (a status recorded, an application filed, a
record archived, a child registered, a problem raised), all or nothing; dismissing needs a reason; each decision
is audited and taken once."""

from __future__ import annotations

import pytest

from carenet.audit.models import ChangeLog
from carenet.benefits import months
from carenet.benefits.models import Application, ApplicationKind, ApplicationStatus, EndReason
from carenet.core.errors import CarenetError
from carenet.problems.models import Problem, ProblemCategory
from carenet.registry.models import ArchiveReason, Category, Child, ChildStatus, FamilyMember, PersonStatus
from carenet.screening import decide
from carenet.screening.models import Finding, FindingState, ListKind, Rule
from carenet.screening.rules import Proposal
from carenet.screening.tests.conftest import (
    LAST_MONTH,
    TODAY,
    Person,
    child_person,
    died,
    done,
    family,
    import_rows,
    make_child,
    open_membership,
    run,
    years_ago,
)

S = PersonStatus


def only(rule: str) -> Finding:
    return Finding.objects.get(rule=rule)


def decision_logs(finding: Finding) -> list[ChangeLog]:
    return list(ChangeLog.objects.filter(entity="finding", entity_id=finding.pk).exclude(action="create"))


@pytest.fixture
def orphaned(city):
    """The father died; the mother died years ago: confirm → his status, and an orphan application."""
    kid, (father, member), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", mother=S.DECEASED, mother_since=years_ago(3)
    )
    deaths = import_rows(ListKind.DEATH, [died(father)], list_date=TODAY)
    done(run())
    return kid, member, deaths


def test_confirming_a_parents_death_records_it_and_files_the_orphan_application(orphaned, personas):
    kid, member, deaths = orphaned
    finding = only(Rule.PARENT_DIED)
    assert (finding.proposal, finding.category) == (Proposal.OPEN_CATEGORY, Category.ORPHAN_SCATTERED)

    decided = decide.confirm(actor=personas.district_specialist, finding=finding, note="已核实死亡证明")

    member.refresh_from_db()
    assert member.status == S.DECEASED
    assert member.status_since == LAST_MONTH  # the death date the list gives
    assert member.status_until is None
    assert f"Screening finding {finding.pk}" in member.evidence_note and deaths.list_date.isoformat() in (
        member.evidence_note
    )
    application = Application.objects.get(child=kid)
    assert application.kind == ApplicationKind.OPEN
    assert application.category == Category.ORPHAN_SCATTERED
    assert application.source == "screening"
    assert application.status == ApplicationStatus.FILED
    assert application.filed_by == personas.district_specialist
    assert application.effective_month == months.first(TODAY)
    stored = Finding.objects.get(pk=finding.pk)
    assert stored.application == application == decided.application
    assert stored.state == FindingState.CONFIRMED
    assert stored.decided_by == personas.district_specialist and stored.decided_at is not None
    assert stored.decision_note == "已核实死亡证明"
    assert f"Application {application.pk} filed" in stored.outcome
    [log] = decision_logs(finding)
    assert log.action == "confirm"
    assert log.actor == personas.district_specialist
    assert log.changes["state"] == [FindingState.OPEN, FindingState.CONFIRMED]
    assert log.changes["application"] == [None, application.pk]
    assert ChangeLog.objects.filter(entity="member", entity_id=member.pk, action="update").exists()


def test_after_confirming_a_rerun_finds_nothing_new(orphaned, personas):
    decide.confirm(actor=personas.district_specialist, finding=only(Rule.PARENT_DIED))
    again = done(run())
    assert (again.created, again.reopened) == (0, 0)
    assert only(Rule.PARENT_DIED).state == FindingState.CONFIRMED


def test_confirming_a_status_change_files_nothing(city, personas):
    kid, (father, member), _m = family(city.village_a, "张小明", "张建国", "李秀英")
    import_rows(ListKind.PRISON_IN, [father.row(入监日期=LAST_MONTH.isoformat(), 刑满日期="2031-05-01")])
    done(run())
    finding = only(Rule.PARENT_IMPRISONED)
    assert finding.proposal == Proposal.RECORD_STATUS

    decide.confirm(actor=personas.district_specialist, finding=finding)

    member.refresh_from_db()
    assert (member.status, member.status_since) == (S.IMPRISONED, LAST_MONTH)
    assert member.status_until.isoformat() == "2031-05-01"
    assert not Application.objects.filter(child=kid).exists()
    assert only(Rule.PARENT_IMPRISONED).application is None


def test_confirming_a_release_files_the_ending_of_the_de_facto_category(city, personas):
    kid, (father, member), _m = family(
        city.village_a,
        "张小明",
        "张建国",
        "李秀英",
        father=S.IMPRISONED,
        father_since=years_ago(2),
        mother=S.DECEASED,
        mother_since=years_ago(4),
    )
    open_membership(kid, Category.DE_FACTO_UNSUPPORTED, personas.city_admin)
    import_rows(ListKind.PRISON_OUT, [father.row(释放日期=LAST_MONTH.isoformat())])
    done(run())

    decide.confirm(actor=personas.district_specialist, finding=only(Rule.PARENT_RELEASED))

    member.refresh_from_db()
    assert (member.status, member.status_since) == (S.ALIVE, LAST_MONTH)
    application = Application.objects.get(child=kid)
    assert (application.kind, application.category, application.end_reason) == (
        ApplicationKind.END,
        Category.DE_FACTO_UNSUPPORTED,
        EndReason.PARENT_RETURNED,
    )
    assert application.source == "screening"


def test_confirming_is_all_or_nothing(orphaned, personas):
    """An application already under way refuses the new one: the father's status is not recorded either."""
    kid, member, _deaths = orphaned
    Application.objects.create(
        child=kid,
        kind=ApplicationKind.OPEN,
        category=Category.ORPHAN_SCATTERED,
        effective_month=months.first(TODAY),
        reason="村里先报的",
        division_code=kid.division_code,
    )
    finding = only(Rule.PARENT_DIED)
    with pytest.raises(CarenetError):
        decide.confirm(actor=personas.district_specialist, finding=finding)
    member.refresh_from_db()
    assert member.status == S.ALIVE
    assert only(Rule.PARENT_DIED).state == FindingState.OPEN
    assert Application.objects.filter(child=kid).count() == 1
    assert decision_logs(finding) == []


def test_confirming_a_childs_death_archives_the_record(city, personas):
    kid = make_child(city.village_a, "张小明")
    import_rows(ListKind.DEATH, [died(child_person(kid))])
    done(run())

    decided = decide.confirm(actor=personas.district_specialist, finding=only(Rule.CHILD_DIED))

    kid.refresh_from_db()
    assert kid.status == ChildStatus.ARCHIVED
    assert kid.archive_reason == ArchiveReason.DECEASED
    assert kid.archived_on == TODAY
    assert decided.state == FindingState.CONFIRMED
    assert decided.outcome == "Record archived: payments stop"
    assert [log.action for log in decision_logs(decided)] == ["confirm"]


def test_confirming_a_duplicate_archives_the_newer_record(city, personas):
    first = make_child(city.village_a, "张小明")
    again = make_child(city.village_a, "张小明", id_number="")
    again.birth_date = first.birth_date
    again.save()
    done(run())

    decide.confirm(actor=personas.district_specialist, finding=only(Rule.DUPLICATE_CHILD))

    first.refresh_from_db(), again.refresh_from_db()
    assert (first.status, again.status) == (ChildStatus.ACTIVE, ChildStatus.ARCHIVED)
    assert again.archive_reason == ArchiveReason.DUPLICATE
    assert again.archive_note == f"Duplicate of child {first.pk}"


@pytest.fixture
def candidate(city):
    """An orphan nobody registered, found through the household extract."""
    head, spouse, son = Person.new("赵父", "M", 40), Person.new("钱母", "F", 38), Person.new("赵小虎", "M", 8)
    import_rows(
        ListKind.HOUSEHOLD,
        [
            head.row(户号="H1", 与户主关系="户主"),
            spouse.row(户号="H1", 与户主关系="配偶"),
            son.row(户号="H1", 与户主关系="子", 住址="双港镇和平路8号"),
        ],
    )
    import_rows(ListKind.DEATH, [died(head), died(spouse)])
    done(run())
    return son


def test_confirming_a_candidate_registers_the_child_and_files_the_application(candidate, city, personas):
    finding = only(Rule.NEW_CANDIDATE)

    decided = decide.confirm(actor=personas.district_specialist, finding=finding, village=city.village_a)

    child = Child.objects.get(name=candidate.name)
    assert child.division == city.village_a and child.division_code == city.village_a.code
    assert child.id_number == candidate.number
    assert (child.birth_date, child.sex) == (candidate.birth, "M")
    assert child.address == "双港镇和平路8号"
    assert decided.child == child and Finding.objects.get(pk=finding.pk).child == child
    application = Application.objects.get(child=child)
    assert (application.kind, application.category, application.source) == (
        ApplicationKind.OPEN,
        Category.ORPHAN_SCATTERED,
        "screening",
    )
    assert decided.application == application
    assert f"Child {child.pk} registered" in decided.outcome
    assert [log.action for log in decision_logs(finding)] == ["confirm"]


def test_a_candidate_needs_a_village_of_ones_own(candidate, city, personas):
    finding = only(Rule.NEW_CANDIDATE)
    with pytest.raises(CarenetError) as caught:
        decide.confirm(actor=personas.district_specialist, finding=finding)
    assert caught.value.field == "village"
    with pytest.raises(CarenetError) as caught:
        decide.confirm(actor=personas.district_specialist, finding=finding, village=city.village_d)
    assert caught.value.field == "village"
    with pytest.raises(CarenetError) as caught:
        decide.confirm(actor=personas.district_specialist, finding=finding, village=city.street)
    assert caught.value.field == "village"
    assert not Child.objects.filter(name=candidate.name).exists()
    assert only(Rule.NEW_CANDIDATE).state == FindingState.OPEN
    assert decision_logs(finding) == []


def test_confirming_a_dropout_raises_a_schooling_problem(city, personas):
    kid = make_child(city.village_a, "张小明", age=13)
    import_rows(ListKind.SCHOOL, [child_person(kid).row(学籍状态="辍学", 学校="津南一中")])
    done(run())

    decided = decide.confirm(actor=personas.district_specialist, finding=only(Rule.SCHOOL_DROPOUT))

    problem = Problem.objects.get(child=kid)
    assert problem.category == ProblemCategory.SCHOOLING
    assert "dropped out of school" in problem.description
    assert decided.problem == problem
    assert Finding.objects.get(pk=decided.pk).problem == problem
    assert [log.changes["problem"] for log in decision_logs(decided)] == [[None, problem.pk]]


def test_confirming_a_dead_parent_alive_raises_a_benefits_problem(city, personas):
    kid, (father, _member), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", father=S.DECEASED, father_since=years_ago(2)
    )
    import_rows(ListKind.INSURANCE, [father.row(参保日期=LAST_MONTH.isoformat())])
    done(run())

    decide.confirm(actor=personas.district_specialist, finding=only(Rule.PARENT_ALIVE))

    problem = Problem.objects.get(child=kid)
    assert problem.category == ProblemCategory.BENEFITS
    assert father.name in problem.description
    assert FamilyMember.objects.get(pk=_member.pk).status == S.DECEASED  # the registry is not changed by this


def test_dismissing_needs_a_reason(orphaned, personas):
    finding = only(Rule.PARENT_DIED)
    for note in ("", "   "):
        with pytest.raises(CarenetError) as caught:
            decide.dismiss(actor=personas.district_specialist, finding=finding, note=note)
        assert caught.value.field == "note"
    with pytest.raises(CarenetError) as caught:
        decide.dismiss(actor=personas.district_specialist, finding=finding, note="长" * 301)
    assert caught.value.field == "note"
    assert only(Rule.PARENT_DIED).state == FindingState.OPEN

    dismissed = decide.dismiss(actor=personas.district_specialist, finding=finding.pk, note="  同名同姓  ")

    assert dismissed.state == FindingState.DISMISSED
    assert dismissed.decision_note == "同名同姓"
    assert dismissed.application is None and dismissed.outcome == ""
    [log] = decision_logs(finding)
    assert log.action == "dismiss"
    assert log.changes["state"] == [FindingState.OPEN, FindingState.DISMISSED]
    assert log.changes["note"] == [None, "同名同姓"]
    member = FamilyMember.objects.get(pk=finding.member_id)
    assert member.status == S.ALIVE  # dismissing changes nothing in the registry
    assert not Application.objects.exists()


def test_a_finding_is_decided_once(orphaned, personas):
    finding = only(Rule.PARENT_DIED)
    decide.dismiss(actor=personas.district_specialist, finding=finding, note="不是本人")
    with pytest.raises(CarenetError):
        decide.confirm(actor=personas.district_specialist, finding=finding)
    with pytest.raises(CarenetError):
        decide.dismiss(actor=personas.city_admin, finding=finding, note="再驳回")
    assert only(Rule.PARENT_DIED).state == FindingState.DISMISSED
    assert len(decision_logs(finding)) == 1


def test_a_confirmed_finding_cannot_then_be_dismissed(city, personas):
    kid = make_child(city.village_a, "张小明", age=13)
    import_rows(ListKind.SCHOOL, [child_person(kid).row(学籍状态="辍学")])
    done(run())
    finding = only(Rule.SCHOOL_DROPOUT)
    decide.confirm(actor=personas.city_admin, finding=finding)
    with pytest.raises(CarenetError):
        decide.dismiss(actor=personas.city_admin, finding=finding, note="弄错了")
    with pytest.raises(CarenetError):
        decide.confirm(actor=personas.city_admin, finding=finding)
    assert Problem.objects.filter(child=kid).count() == 1
    assert [log.action for log in decision_logs(finding)] == ["confirm"]


def test_confirming_an_allowance_child_registers_it_as_a_poor_familys_child(city, personas):
    kid = Person.new("钱小宝", "F", 6)
    import_rows(ListKind.DIBAO, [kid.row(户号="DB9", 与户主关系="女")])
    done(run())

    decided = decide.confirm(
        actor=personas.district_specialist, finding=only(Rule.DIBAO_CHILD), village=city.village_b
    )

    child = Child.objects.get(name=kid.name)
    assert (child.division, child.id_number, child.sex) == (city.village_b, kid.number, "F")
    assert decided.child == child
    assert Application.objects.get(child=child).category == Category.POOR_FAMILY


def test_confirming_an_id_number_typo_is_corrected_when_registering(city, personas):
    """The list's number has a wrong check digit: the reviewer gives the right one."""
    kid = Person.new("孙小美", "F", 7)
    typo = kid.number[:-1] + ("0" if kid.number[-1] != "0" else "1")
    import_rows(ListKind.DIBAO, [kid.row(公民身份号码=typo, 出生日期="")])
    done(run())
    finding = only(Rule.DIBAO_CHILD)
    with pytest.raises(CarenetError) as caught:
        decide.confirm(actor=personas.district_specialist, finding=finding, village=city.village_a)
    assert caught.value.field == "id_number"
    assert not Child.objects.filter(name=kid.name).exists()

    decide.confirm(
        actor=personas.district_specialist, finding=finding, village=city.village_a, id_number=kid.number
    )

    assert Child.objects.get(name=kid.name).id_number == kid.number


def test_confirming_an_eighteen_year_old_archives_the_record(city, personas):
    adult = make_child(city.village_a, "成年人", age=19)
    done(run())
    decide.confirm(actor=personas.district_specialist, finding=only(Rule.AGED_OUT))
    adult.refresh_from_db()
    assert (adult.status, adult.archive_reason) == (ChildStatus.ARCHIVED, ArchiveReason.AGED_OUT)
    # Archived: the next run does not find the child again.
    assert done(run()).created == 0
