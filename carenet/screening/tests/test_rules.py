"""The rules, each with a case planted in a list that must be found and a near-miss beside it that must not.

Every test imports small lists, runs a screening (inline: runs.enqueue executes at once) and reads the Findings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from carenet.benefits import months
from carenet.benefits.models import LineStatus, PaymentLine, PayrollBatch, Programme
from carenet.registry.models import Category, ChildStatus, PersonStatus
from carenet.screening.models import FindingState, ListKind, Rule
from carenet.screening.rules import Proposal
from carenet.screening.tests.conftest import (
    LAST_MONTH,
    TODAY,
    Person,
    add_member,
    child_person,
    died,
    done,
    family,
    findings,
    import_rows,
    make_child,
    new_id,
    open_membership,
    run,
    years_ago,
)

S = PersonStatus
FUTURE = TODAY + dt.timedelta(days=700)


# ---------------------------------------------------------------------------------------------- parent_died


def test_a_father_in_the_death_list_is_found_for_his_child(city):
    kid, (father, f), _mother = family(city.village_a, "张小明", "张建国", "李秀英")
    stranger = Person.new("路人甲", "M", 55)
    deaths = import_rows(ListKind.DEATH, [stranger.row(死亡日期="2024-01-02"), died(father)])

    screening = done(run())

    [finding] = findings()
    assert finding.rule == Rule.PARENT_DIED
    assert finding.key == f"parent_died:m{f.pk}"
    assert (finding.child, finding.member) == (kid, f)
    assert finding.record.dept_list == deaths and finding.record.row == 3
    assert finding.division_code == kid.division_code == city.village_a.code
    assert finding.state == FindingState.OPEN
    # The mother is alive: the child's category does not change, only the father's status.
    assert (finding.proposal, finding.category) == (Proposal.RECORD_STATUS, "")
    assert finding.evidence["status"] == S.DECEASED and finding.evidence["was"] == S.ALIVE
    assert finding.evidence["date"] == LAST_MONTH.isoformat()
    assert finding.probability is not None and finding.probability > 0.9
    assert finding.first_run == screening and finding.last_run == screening
    assert father.number not in str(finding.evidence)
    assert (screening.created, screening.reopened, screening.unchanged) == (1, 0, 0)


def test_with_the_mother_already_dead_the_child_becomes_an_orphan(city):
    kid, (father, _f), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", mother=S.DECEASED, mother_since=years_ago(3)
    )
    import_rows(ListKind.DEATH, [died(father)])
    done(run())
    [finding] = findings(Rule.PARENT_DIED)
    assert finding.child == kid
    assert (finding.proposal, finding.category) == (Proposal.OPEN_CATEGORY, Category.ORPHAN_SCATTERED)
    assert finding.evidence["other"] == S.DECEASED


def test_an_orphan_already_in_the_category_only_gets_the_status_recorded(city, personas):
    kid, (father, _f), _m = family(city.village_a, "张小明", "张建国", "李秀英", mother=S.MISSING)
    open_membership(kid, Category.ORPHAN_SCATTERED, personas.city_admin)
    import_rows(ListKind.DEATH, [died(father)])
    done(run())
    [finding] = findings(Rule.PARENT_DIED)
    assert (finding.proposal, finding.category) == (Proposal.RECORD_STATUS, "")


def test_with_the_mother_in_prison_the_child_becomes_de_facto_unsupported(city):
    kid, (father, _f), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", mother=S.IMPRISONED, mother_since=years_ago(1)
    )
    import_rows(ListKind.DEATH, [died(father)])
    done(run())
    [finding] = findings(Rule.PARENT_DIED)
    assert (finding.proposal, finding.category) == (Proposal.OPEN_CATEGORY, Category.DE_FACTO_UNSUPPORTED)


def test_a_namesake_born_the_same_day_is_not_the_father(city):
    """The list's man has the father's name and birth date (a twin, a namesake) but another valid ID number."""
    _kid, (father, _f), _m = family(city.village_a, "张小明", "张建国", "李秀英")
    twin = Person(father.name, "M", father.birth, new_id(father.birth, "M"))
    assert twin.number != father.number
    import_rows(ListKind.DEATH, [died(twin, 住址="天津市津南区双港镇")])
    done(run())
    assert findings() == []


def test_a_father_already_recorded_dead_is_not_found_again(city):
    _kid, (father, _f), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", father=S.DECEASED, father_since=LAST_MONTH
    )
    import_rows(ListKind.DEATH, [died(father)])
    done(run())
    assert findings(Rule.PARENT_DIED) == []
    assert findings() == []


def test_a_father_of_two_registered_siblings_is_found_for_each(city):
    father = Person.new("张建国", "M", 40)
    first, second = make_child(city.village_a, "张大宝"), make_child(city.village_a, "张二宝", age=6)
    f1, f2 = add_member(first, "father", father), add_member(second, "father", father)
    import_rows(ListKind.DEATH, [died(father)])
    done(run())
    got = findings(Rule.PARENT_DIED)
    assert {(f.child_id, f.member_id) for f in got} == {(first.pk, f1.pk), (second.pk, f2.pk)}
    assert len({f.key for f in got}) == 2


def test_a_household_cancellation_for_moving_away_is_not_a_death(city):
    kid, (father, _f), (mother, _m) = family(city.village_a, "张小明", "张建国", "李秀英")
    import_rows(
        ListKind.HUKOU_CANCEL,
        [
            father.row(注销日期=LAST_MONTH.isoformat(), 注销原因="迁出本市"),
            mother.row(注销日期=LAST_MONTH.isoformat(), 注销原因="死亡"),
        ],
    )
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.member.name) == (Rule.PARENT_DIED, kid, mother.name)


# ----------------------------------------------------------------------------------------- parent_imprisoned


def test_a_parent_admitted_to_prison_is_found(city):
    kid, (father, f), _m = family(
        city.village_a, "张小明", "张建国", "李秀英", mother=S.DECEASED, mother_since=years_ago(4)
    )
    # Near-miss: a father who was admitted and is already out again (release date passed).
    other, (other_father, _of), _om = family(city.village_b, "李小龙", "李大龙", "赵美丽")
    import_rows(
        ListKind.PRISON_IN,
        [
            father.row(入监日期=LAST_MONTH.isoformat(), 刑满日期=FUTURE.isoformat()),
            other_father.row(入监日期="2020-01-01", 刑满日期="2021-01-01"),
        ],
    )
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.member) == (Rule.PARENT_IMPRISONED, kid, f)
    assert (finding.proposal, finding.category) == (Proposal.OPEN_CATEGORY, Category.DE_FACTO_UNSUPPORTED)
    assert finding.evidence["until"] == FUTURE.isoformat()
    assert finding.evidence["status"] == S.IMPRISONED
    assert other.findings.count() == 0


# ------------------------------------------------------------------------------------------- parent_released


def test_a_released_parent_ends_the_de_facto_category(city, personas):
    kid, (father, f), _m = family(
        city.village_a,
        "张小明",
        "张建国",
        "李秀英",
        father=S.IMPRISONED,
        father_since=years_ago(2),
        mother=S.DECEASED,
        mother_since=years_ago(5),
    )
    open_membership(kid, Category.DE_FACTO_UNSUPPORTED, personas.city_admin)
    # Near-miss: released, but the registry never had this father in prison.
    other, (free_father, _ff), _om = family(city.village_b, "李小龙", "李大龙", "赵美丽")
    import_rows(
        ListKind.PRISON_OUT,
        [father.row(释放日期=LAST_MONTH.isoformat()), free_father.row(释放日期=LAST_MONTH.isoformat())],
    )
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.member) == (Rule.PARENT_RELEASED, kid, f)
    assert (finding.proposal, finding.category) == (Proposal.END_CATEGORY, Category.DE_FACTO_UNSUPPORTED)
    assert finding.evidence["status"] == S.ALIVE and finding.evidence["was"] == S.IMPRISONED
    assert other.findings.count() == 0


# ------------------------------------------------------------------------------------------- parent_disabled


def test_levels_one_and_two_are_severe_disability_level_three_is_not(city):
    kid1, (father1, f1), _ = family(city.village_a, "张一", "张父一", "李母一")
    kid2, (_f2p, _f2), (mother2, m2) = family(city.village_a, "王二", "王父二", "赵母二")
    kid3, (father3, _f3), _ = family(city.village_b, "刘三", "刘父三", "孙母三")
    import_rows(
        ListKind.DISABILITY,
        [
            father1.row(残疾等级="一级", 残疾类别="肢体"),
            mother2.row(残疾等级="2", 残疾类别="视力"),
            father3.row(残疾等级="三级", 残疾类别="听力"),
        ],
    )
    done(run())
    got = findings(Rule.PARENT_DISABLED)
    assert {(f.child_id, f.member_id) for f in got} == {(kid1.pk, f1.pk), (kid2.pk, m2.pk)}
    assert {f.evidence["level"] for f in got} == {"1", "2"}
    assert all(f.proposal == Proposal.RECORD_STATUS for f in got)
    assert kid3.findings.count() == 0
    assert len(findings()) == 2


# ------------------------------------------------------------------------------------------------ child_died


def test_a_registered_child_in_the_death_list_is_found(city):
    kid = make_child(city.village_a, "张小明")
    # Near-miss: a boy of the same name and birthday, with another ID number, died.
    namesake = Person(kid.name, "M", kid.birth_date, new_id(kid.birth_date, "M"))
    other = make_child(city.village_b, "李小龙")
    import_rows(ListKind.DEATH, [died(child_person(kid)), died(namesake)])
    # Near-miss: a registered child on an insurance roll is alive.
    import_rows(ListKind.INSURANCE, [child_person(other).row(参保日期=LAST_MONTH.isoformat())])
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.member) == (Rule.CHILD_DIED, kid, None)
    assert finding.key == f"child_died:c{kid.pk}"
    assert finding.proposal == Proposal.END_SUPPORT
    assert finding.evidence["died"] == LAST_MONTH.isoformat()


# -------------------------------------------------------------------------------------------------- aged_out


def test_an_active_child_of_eighteen_is_found(city):
    def born(years: int, days: int) -> dt.date:
        day = TODAY - dt.timedelta(days=days)
        return day.replace(year=day.year - years) if not (day.month == 2 and day.day == 29) else day

    adult = make_child(city.village_a, "成年人")
    adult.birth_date = born(18, 0)  # eighteen today
    adult.save()
    almost = make_child(city.village_a, "差一天")
    almost.birth_date = born(18, -1)  # eighteen tomorrow
    almost.save()
    archived = make_child(city.village_b, "已归档")
    archived.birth_date = born(19, 0)
    archived.status = ChildStatus.ARCHIVED
    archived.save()

    done(run())  # no lists at all: the registry's own checks still run

    [finding] = findings()
    assert (finding.rule, finding.child, finding.proposal) == (Rule.AGED_OUT, adult, Proposal.END_SUPPORT)
    assert finding.key == f"aged_out:c{adult.pk}"
    assert finding.evidence == {"birth_date": adult.birth_date.isoformat()}


# ----------------------------------------------------------------------------------------------- dibao_child


def test_an_unregistered_child_on_the_allowance_roll_is_found(city):
    registered = make_child(city.village_a, "张小明")
    head = Person.new("王大力", "M", 41)
    unregistered = Person.new("王小力", "M", 8)
    dibao = import_rows(
        ListKind.DIBAO,
        [
            head.row(户号="DB001", 与户主关系="户主"),
            unregistered.row(户号="DB001", 与户主关系="子"),
            child_person(registered).row(户号="DB002", 与户主关系="子"),
        ],
    )
    done(run())
    [finding] = findings()
    assert finding.rule == Rule.DIBAO_CHILD
    assert finding.record.name == unregistered.name and finding.record.dept_list == dibao
    assert finding.child is None
    assert (finding.proposal, finding.category) == (Proposal.REGISTER, Category.POOR_FAMILY)
    # Routed to the district of the ID number's area (the city ran the screening).
    assert finding.division_code == "120112"
    assert finding.evidence["household"] == "DB001"


def test_an_allowance_child_goes_to_the_division_the_list_names(city):
    kid = Person.new("钱小宝", "F", 6)
    import_rows(ListKind.DIBAO, [kid.row(户号="DB9", 行政区划代码=city.village_c.code)])
    done(run())
    [finding] = findings(Rule.DIBAO_CHILD)
    assert finding.division_code == city.village_c.code


# --------------------------------------------------------------------------------------------- new_candidate


def household(number: str, head: Person, spouse: Person, child: Person, relation: str = "子"):
    return [
        head.row(户号=number, 与户主关系="户主"),
        spouse.row(户号=number, 与户主关系="配偶"),
        child.row(户号=number, 与户主关系=relation),
    ]


def test_policy_finds_the_unregistered_children_whose_parents_now_qualify(city):
    # H1: both parents died: an orphan.  H2: the father died, the mother went to prison: de-facto unsupported.
    # H3 (near-miss): only the father died.  H4 (near-miss): both died, but the child is registered already.
    h1 = (Person.new("赵一父", "M", 40), Person.new("钱一母", "F", 38), Person.new("赵一儿", "M", 8))
    h2 = (Person.new("孙二父", "M", 41), Person.new("李二母", "F", 39), Person.new("孙二女", "F", 10))
    h3 = (Person.new("周三父", "M", 42), Person.new("吴三母", "F", 40), Person.new("周三儿", "M", 7))
    registered = make_child(city.village_a, "郑四儿", age=11)
    h4 = (Person.new("郑四父", "M", 43), Person.new("王四母", "F", 41), child_person(registered))
    extract = import_rows(
        ListKind.HOUSEHOLD,
        household("H1", *h1)
        + household("H2", *h2, relation="长女")
        + household("H3", *h3)
        + household("H4", *h4),
    )
    import_rows(
        ListKind.DEATH, [died(h1[0]), died(h1[1]), died(h2[0]), died(h3[0]), died(h4[0]), died(h4[1])]
    )
    import_rows(ListKind.PRISON_IN, [h2[1].row(入监日期=LAST_MONTH.isoformat(), 刑满日期=FUTURE.isoformat())])

    done(run())

    got = {f.record.name: f for f in findings(Rule.NEW_CANDIDATE)}
    assert set(got) == {"赵一儿", "孙二女"}
    orphan, unsupported = got["赵一儿"], got["孙二女"]
    assert (orphan.proposal, orphan.category) == (Proposal.REGISTER, Category.ORPHAN_SCATTERED)
    assert unsupported.category == Category.DE_FACTO_UNSUPPORTED
    assert orphan.record.dept_list == extract and orphan.child is None
    assert orphan.other_record is not None and orphan.other_record.dept_list.kind == ListKind.DEATH
    assert {p["status"] for p in orphan.evidence["parents"]} == {S.DECEASED}
    assert {p["status"] for p in unsupported.evidence["parents"]} == {S.DECEASED, S.IMPRISONED}
    assert orphan.division_code == unsupported.division_code == "120112"
    assert findings(Rule.NEW_CANDIDATE, child=registered) == []
    assert all(f.rule == Rule.NEW_CANDIDATE for f in findings())


def test_a_dead_head_cancelled_from_the_extract_still_counts_through_the_death_list(city):
    """The police cancel a dead man from the extract: he is found only in the death list, by 户号 and relation."""
    head, spouse, daughter = (
        Person.new("冯父", "M", 40),
        Person.new("陈母", "F", 38),
        Person.new("冯女", "F", 9),
    )
    import_rows(
        ListKind.HOUSEHOLD,
        [spouse.row(户号="H9", 与户主关系="配偶"), daughter.row(户号="H9", 与户主关系="长女")],
    )
    import_rows(ListKind.DEATH, [died(head, 户号="H9", 与户主关系="户主"), died(spouse)])
    done(run())
    [finding] = findings(Rule.NEW_CANDIDATE)
    assert finding.record.name == daughter.name
    assert finding.category == Category.ORPHAN_SCATTERED


def test_an_adult_child_of_dead_parents_is_no_candidate(city):
    head, spouse, son = Person.new("褚父", "M", 60), Person.new("卫母", "F", 58), Person.new("褚子", "M", 25)
    import_rows(ListKind.HOUSEHOLD, household("H7", head, spouse, son))
    import_rows(ListKind.DEATH, [died(head), died(spouse)])
    done(run())
    assert findings() == []


# ------------------------------------------------------------------------------------------- duplicate_child


def test_the_same_child_registered_twice_is_found(city):
    first = make_child(city.village_a, "张小明")
    first.address = "双港镇幸福路1号"
    first.save()
    again = make_child(city.village_a, "张小明", id_number="")
    again.birth_date, again.address = first.birth_date, first.address
    again.save()
    assert again.id_number == ""

    done(run())

    [finding] = findings(Rule.DUPLICATE_CHILD)
    assert (finding.child, finding.other_child) == (again, first)  # the newer record is the one to archive
    assert finding.key == f"duplicate:c{first.pk}:c{again.pk}"
    assert finding.proposal == Proposal.ARCHIVE_DUPLICATE


def test_twins_are_not_duplicates(city):
    first = make_child(city.village_a, "张大宝")
    second = make_child(city.village_a, "张二宝")
    second.birth_date, second.address, second.household = first.birth_date, first.address, first.household
    second.save()
    assert first.id_number != second.id_number
    done(run())
    assert findings(Rule.DUPLICATE_CHILD) == []


# ---------------------------------------------------------------------------------------------- parent_alive


def test_a_dead_parent_insured_after_the_death_is_found(city, personas):
    orphan, (father, f), _m = family(
        city.village_a,
        "张小明",
        "张建国",
        "李秀英",
        father=S.DECEASED,
        father_since=years_ago(2),
        mother=S.DECEASED,
        mother_since=years_ago(2),
    )
    open_membership(orphan, Category.ORPHAN_SCATTERED, personas.city_admin)
    # Near-miss: insured three years ago, and recorded dead since last month.
    other, (other_father, _of), _om = family(
        city.village_b, "李小龙", "李大龙", "赵美丽", father=S.DECEASED, father_since=LAST_MONTH
    )
    import_rows(
        ListKind.INSURANCE,
        [
            father.row(参保日期=LAST_MONTH.isoformat()),
            other_father.row(参保日期=years_ago(3).isoformat()),
        ],
    )
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.member) == (Rule.PARENT_ALIVE, orphan, f)
    assert (finding.proposal, finding.category) == (Proposal.RAISE_PROBLEM, Category.ORPHAN_SCATTERED)
    assert finding.evidence["since"] == years_ago(2).isoformat()
    assert other.findings.count() == 0


# -------------------------------------------------------------------------------------------- school_dropout


def test_a_registered_child_who_dropped_out_is_found(city):
    dropout, pupil = (
        make_child(city.village_a, "张小明", age=13),
        make_child(city.village_b, "李小龙", age=12),
    )
    import_rows(
        ListKind.SCHOOL,
        [
            child_person(dropout).row(学籍状态="辍学", 学校="津南区第一中学", 日期=LAST_MONTH.isoformat()),
            child_person(pupil).row(学籍状态="在读", 学校="津南区第一中学", 日期=LAST_MONTH.isoformat()),
        ],
    )
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.child, finding.proposal) == (
        Rule.SCHOOL_DROPOUT,
        dropout,
        Proposal.RAISE_PROBLEM,
    )
    assert finding.evidence["school"] == "津南区第一中学"


# ------------------------------------------------------------------------------------------------ paid_twice


def test_a_child_paid_twice_for_one_month_is_found(city):
    paid_twice, paid_once = make_child(city.village_a, "张小明"), make_child(city.village_b, "李小龙")
    month = months.first(LAST_MONTH)
    batches = [
        PayrollBatch.objects.create(district_code=code, programme=Programme.BASIC_LIVING, period=month)
        for code in ("120112", "120101")
    ]

    def line(child, batch, status=LineStatus.PAID, division=None):
        return PaymentLine.objects.create(
            batch=batch,
            child=child,
            programme=Programme.BASIC_LIVING,
            category=Category.ORPHAN_SCATTERED,
            month=month,
            amount=Decimal("1800.00"),
            status=status,
            district_code=batch.district_code,
            division_code=division or child.division_code,
        )

    line(paid_twice, batches[0])
    line(paid_twice, batches[1], status=LineStatus.APPROVED)
    # Near-miss: a failed payment reissued is paid once.
    line(paid_once, batches[0], status=LineStatus.FAILED)
    line(paid_once, batches[1])

    done(run())

    [finding] = findings()
    assert (finding.rule, finding.child, finding.proposal) == (
        Rule.PAID_TWICE,
        paid_twice,
        Proposal.RAISE_PROBLEM,
    )
    assert finding.evidence == {"programme": Programme.BASIC_LIVING, "month": month.isoformat(), "times": 2}


# ------------------------------------------------------------------------------- what the rules must not miss


def test_a_grandchild_whose_parents_died_is_a_candidate(city):
    """In the grandfather's household: the son and the daughter-in-law are the grandchild's parents."""
    grandfather, son, daughter_in_law = (
        Person.new("老赵", "M", 70),
        Person.new("赵子", "M", 40),
        Person.new("钱媳", "F", 38),
    )
    granddaughter = Person.new("赵孙女", "F", 8)
    import_rows(
        ListKind.HOUSEHOLD,
        [
            grandfather.row(户号="H1", 与户主关系="户主"),
            son.row(户号="H1", 与户主关系="子"),
            daughter_in_law.row(户号="H1", 与户主关系="儿媳"),
            granddaughter.row(户号="H1", 与户主关系="孙女"),
        ],
    )
    import_rows(ListKind.DEATH, [died(son), died(daughter_in_law)])
    done(run())
    [finding] = findings()
    assert (finding.rule, finding.record.name, finding.category) == (
        Rule.NEW_CANDIDATE,
        granddaughter.name,
        Category.ORPHAN_SCATTERED,
    )


def test_a_nephew_in_the_household_is_not_the_heads_child(city):
    """侄子 (the head's nephew) ends in 子 but is no son: the head and his wife dying does not orphan him."""
    head, spouse, nephew = (
        Person.new("赵父", "M", 40),
        Person.new("钱母", "F", 38),
        Person.new("赵侄", "M", 8),
    )
    import_rows(
        ListKind.HOUSEHOLD,
        [
            head.row(户号="H1", 与户主关系="户主"),
            spouse.row(户号="H1", 与户主关系="配偶"),
            nephew.row(户号="H1", 与户主关系="侄子"),
        ],
    )
    import_rows(ListKind.DEATH, [died(head), died(spouse)])
    done(run())
    assert findings(Rule.NEW_CANDIDATE) == []


def test_both_parents_in_one_death_list_make_the_registered_child_an_orphan(city):
    """The father and the mother die together (one accident, one list): the child is proposed as an orphan, not
    merely two statuses to record — after both are recorded, no later run would propose it."""
    kid, (father, _f), (mother, _m) = family(city.village_a, "张小明", "张建国", "李秀英")
    import_rows(ListKind.DEATH, [died(father), died(mother)])
    done(run())
    got = findings(Rule.PARENT_DIED, child=kid)
    assert len(got) == 2
    assert any(
        (f.proposal, f.category) == (Proposal.OPEN_CATEGORY, Category.ORPHAN_SCATTERED) for f in got
    ), [(f.member.name, f.proposal, f.category) for f in got]


def test_an_archived_child_on_the_allowance_roll_is_not_proposed_for_registration(city):
    """The child is in the registry (archived): registering it again is refused for its ID number, so a finding
    proposing it can never be confirmed."""
    kid = make_child(city.village_a, "张小明")
    kid.status = ChildStatus.ARCHIVED
    kid.save()
    import_rows(ListKind.DIBAO, [child_person(kid).row(户号="DB1", 与户主关系="子")])
    done(run())
    assert [f for f in findings(Rule.DIBAO_CHILD) if f.proposal == Proposal.REGISTER] == []
