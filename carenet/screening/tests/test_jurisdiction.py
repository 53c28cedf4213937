"""Jurisdiction: a district screens its own children with its own lists; findings are seen and decided only under
the division of the child they concern."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carenet.accounts.jurisdiction import scope
from carenet.benefits import months
from carenet.benefits.models import LineKind, LineStatus, PaymentLine, PayrollBatch, Programme
from carenet.core import idnumber
from carenet.core.errors import PermissionDeniedError
from carenet.registry.models import Category, Child, ChildStatus, FamilyMember, PersonStatus
from carenet.screening import decide, runs, selectors
from carenet.screening.models import DeptList, Finding, FindingState, ListKind, ListRecord, Rule, ScreeningRun
from carenet.screening.tests.conftest import (
    LAST_MONTH,
    Person,
    died,
    done,
    family,
    findings,
    import_rows,
    make_child,
    run,
)


@pytest.fixture
def two_districts(city):
    """A father who died in each district; the death list sent to both the city and the district."""
    own, (own_father, own_member), _ = family(city.village_c, "张小明", "张建国", "李秀英")
    other, (other_father, other_member), _ = family(city.village_d, "刘小洋", "刘大洋", "陈美")
    rows = [died(own_father), died(other_father)]
    return {
        "own": own,
        "own_member": own_member,
        "other": other,
        "other_member": other_member,
        "rows": rows,
    }


def test_a_districts_run_covers_its_children_and_its_own_lists(two_districts, personas):
    district_list = import_rows(ListKind.DEATH, two_districts["rows"], actor=personas.district_specialist)
    # The city's copy of a list with another person in it: not the district's to screen.
    city_only = Person.new("钱某", "M", 44)
    import_rows(ListKind.DEATH, [*two_districts["rows"], died(city_only)], actor=personas.city_admin)

    screening = done(run(actor=personas.district_specialist))

    assert screening.division_code == "120112"
    assert list(screening.lists.all()) == [district_list]
    assert screening.requested_by == personas.district_specialist
    [finding] = findings()
    assert (finding.rule, finding.child) == (Rule.PARENT_DIED, two_districts["own"])
    assert finding.division_code.startswith("120112")
    assert scope(personas.district_specialist, DeptList.objects.all()).get() == district_list


def test_a_districts_registry_checks_keep_to_the_district(city, personas):
    own, other = make_child(city.village_a, "成年甲", age=19), make_child(city.village_d, "成年乙", age=19)
    done(run(actor=personas.district_specialist))
    assert [f.child for f in findings(Rule.AGED_OUT)] == [own]
    done(run(actor=personas.city_admin))
    assert {f.child for f in findings(Rule.AGED_OUT)} == {own, other}


def test_a_districts_run_files_every_finding_under_the_district(city, personas):
    """A list naming another district's village does not carry a district's finding out of its jurisdiction."""
    kid = Person.new("钱小宝", "F", 6)
    import_rows(
        ListKind.DIBAO,
        [kid.row(户号="DB9", 行政区划代码=city.village_d.code)],
        actor=personas.district_specialist,
    )
    done(run(actor=personas.district_specialist))
    [finding] = findings(Rule.DIBAO_CHILD)
    assert finding.division_code == "120112"


def test_a_streets_run_files_a_candidate_under_the_street_not_its_district(city):
    """The district of the ID number's area is outside a street's run: the candidate stays with the street."""
    kid = Person.new("钱小宝", "F", 6)
    dibao = import_rows(ListKind.DIBAO, [kid.row(户号="DB9", 行政区划代码=city.village_d.code)])
    street_run = ScreeningRun.objects.create(division_code=city.street.code)
    street_run.lists.set([dibao])
    done(runs.execute(runs.claim(street_run.pk)))
    [finding] = findings(Rule.DIBAO_CHILD)
    assert finding.division_code == city.street.code


def test_a_districts_double_payment_of_a_child_who_moved_away_stays_with_the_district(city, personas):
    """Paid twice by this district, then moved away: the finding stays with this district."""
    kid = make_child(city.village_d, "张小明")
    month = months.first(LAST_MONTH)
    batch = PayrollBatch.objects.create(
        district_code="120112", programme=Programme.BASIC_LIVING, period=month
    )
    for kind in (LineKind.REGULAR, LineKind.REISSUE):
        PaymentLine.objects.create(
            batch=batch,
            child=kid,
            programme=Programme.BASIC_LIVING,
            category=Category.ORPHAN_SCATTERED,
            month=month,
            amount=Decimal("1800.00"),
            kind=kind,
            status=LineStatus.PAID,
            district_code="120112",
            division_code=city.village_a.code,
        )
    done(run(actor=personas.district_specialist))
    [finding] = findings(Rule.PAID_TWICE)
    assert (finding.child, finding.division_code) == (kid, "120112")


def test_findings_are_seen_under_the_childs_division_only(two_districts, personas):
    import_rows(ListKind.DEATH, two_districts["rows"])
    done(run())
    own = Finding.objects.get(child=two_districts["own"])
    other = Finding.objects.get(child=two_districts["other"])

    assert set(scope(personas.city_admin, Finding.objects.all())) == {own, other}
    assert list(scope(personas.district_specialist, Finding.objects.all())) == [own]
    assert list(scope(personas.other_district_specialist, Finding.objects.all())) == [other]
    assert not scope(personas.other_district_specialist, Finding.objects.filter(pk=own.pk)).exists()
    # The street of village C is not the street of villages A and B.
    assert list(scope(personas.street_supervisor, Finding.objects.all())) == []
    assert list(scope(personas.social_worker, Finding.objects.all())) == []


def test_another_districts_specialist_cannot_decide(two_districts, personas):
    import_rows(ListKind.DEATH, two_districts["rows"])
    done(run())
    own = Finding.objects.get(child=two_districts["own"])

    with pytest.raises(Finding.DoesNotExist):
        decide.confirm(actor=personas.other_district_specialist, finding=own)
    with pytest.raises(Finding.DoesNotExist):
        decide.dismiss(actor=personas.other_district_specialist, finding=own.pk, note="不是本人")

    own.refresh_from_db()
    assert own.state == FindingState.OPEN
    member = FamilyMember.objects.get(pk=two_districts["own_member"].pk)
    assert member.status == PersonStatus.ALIVE


@pytest.mark.parametrize("who", ["street_supervisor", "director_a", "auditor", "social_worker"])
def test_roles_without_review_cannot_decide(city, personas, who):
    kid = make_child(city.village_a, "张小明")
    import_rows(ListKind.DEATH, [died(Person(kid.name, kid.sex, kid.birth_date, kid.id_number))])
    done(run())
    finding = Finding.objects.get(rule=Rule.CHILD_DIED)
    actor = getattr(personas, who)

    with pytest.raises(PermissionDeniedError):
        decide.confirm(actor=actor, finding=finding)
    with pytest.raises(PermissionDeniedError):
        decide.dismiss(actor=actor, finding=finding, note="不是本人")

    finding.refresh_from_db()
    kid.refresh_from_db()
    assert finding.state == FindingState.OPEN
    assert kid.status == ChildStatus.ACTIVE


def test_a_duplicate_pair_across_districts_shows_only_the_readers_own_child(city, personas, client):
    from django.urls import reverse

    first = make_child(city.village_d, "张小明")  # 和平区: another district
    first.address = "劝业场街1号"
    first.save()
    again = make_child(city.village_a, "张小明", id_number="")  # 津南区: the specialist's own
    again.birth_date, again.address = first.birth_date, first.address
    again.save()
    done(run())
    [finding] = findings(Rule.DUPLICATE_CHILD)
    assert (finding.child, finding.other_child) == (again, first)

    client.force_login(personas.district_specialist)
    page = client.get(reverse("web:screening_finding_detail", args=[finding.pk])).content.decode()
    assert "津南区/双港镇/A村" in page  # the specialist's own child is shown
    assert "和平区" not in page  # the other district's child is not

    client.force_login(personas.city_admin)
    page = client.get(reverse("web:screening_finding_detail", args=[finding.pk])).content.decode()
    assert "和平区" in page and "津南区/双港镇/A村" in page  # the city sees both


def test_a_child_who_moved_away_since_the_run_is_not_named_in_the_findings_list(city, personas, client):
    from django.urls import reverse

    first = make_child(city.village_a, "张小明")
    first.address = "劝业场街1号"
    first.save()
    again = make_child(city.village_a, "张小明", id_number="")
    again.birth_date, again.address = first.birth_date, first.address
    again.save()
    done(run())
    [finding] = findings(Rule.DUPLICATE_CHILD)
    client.force_login(personas.district_specialist)
    listing = reverse("web:screening_finding_list")
    assert "张小明" in client.get(listing).content.decode()
    # Both children move to 和平区: the finding stays filed with 津南区, its children are no longer its.
    Child.objects.filter(pk__in=[first.pk, again.pk]).update(
        division=city.village_d, division_code=city.village_d.code
    )
    assert Finding.objects.filter(pk=finding.pk).exists()
    assert "张小明" not in client.get(listing).content.decode()
    page = client.get(reverse("web:screening_finding_detail", args=[finding.pk])).content.decode()
    assert "张小明" not in page


@pytest.fixture
def city_candidate(city):
    """An orphan nobody registered, found in the city's lists (a household extract and a death list) and
    routed to the district of the ID number's area: the district must decide, reading the city's record."""
    head, spouse, son = Person.new("赵父", "M", 40), Person.new("钱母", "F", 38), Person.new("赵小虎", "M", 8)
    extract = import_rows(
        ListKind.HOUSEHOLD,
        [
            head.row(户号="H1", 与户主关系="户主"),
            spouse.row(户号="H1", 与户主关系="配偶"),
            son.row(户号="H1", 与户主关系="子"),
        ],
    )
    import_rows(ListKind.DEATH, [died(head), died(spouse)])
    done(run())
    finding = Finding.objects.get(rule=Rule.NEW_CANDIDATE)
    assert extract.division_code == "12" and finding.division_code.startswith("120112")
    return son, finding


def test_a_city_lists_record_is_seen_by_whoever_sees_a_finding_made_from_it(city_candidate, personas):
    son, finding = city_candidate
    referred = {finding.record_id, finding.other_record_id}
    head = ListRecord.objects.get(dept_list=finding.record.dept_list, name="赵父")

    def seen(user) -> set[int]:
        return set(scope(user, ListRecord.objects.all()).values_list("pk", flat=True))

    assert seen(personas.district_specialist) == referred  # through the finding, not the rest of the list
    assert head.pk not in seen(personas.district_specialist)
    assert seen(personas.city_admin) == set(ListRecord.objects.values_list("pk", flat=True))  # the list's own
    for outsider in (personas.other_district_specialist, personas.street_supervisor, personas.social_worker):
        assert seen(outsider) == set(), outsider.username
    assert selectors.finding_record(user=personas.district_specialist, finding=finding).name == son.name


def test_another_districts_reviewer_can_neither_see_the_record_nor_its_id_number(
    city_candidate, city, personas, client
):
    from django.urls import reverse

    son, finding = city_candidate
    other = personas.other_district_specialist
    with pytest.raises(ListRecord.DoesNotExist):
        selectors.finding_record(user=other, finding=finding)
    assert selectors.finding_records(user=other, findings=[finding]) == {}
    with pytest.raises(Finding.DoesNotExist):
        decide.confirm(actor=other, finding=finding, village=city.village_d)
    assert not Child.objects.filter(name=son.name).exists()

    client.force_login(other)
    assert client.get(reverse("web:screening_finding_detail", args=[finding.pk])).status_code == 404
    listing = client.get(reverse("web:screening_finding_list"), {"state": ""}).content.decode()
    assert son.name not in listing and son.number[-4:] not in listing

    # The district the finding is routed to reads the record, its ID number masked on the page, in full only
    # when registering the child.
    client.force_login(personas.district_specialist)
    page = client.get(reverse("web:screening_finding_detail", args=[finding.pk])).content.decode()
    assert son.name in page and idnumber.mask(son.number) in page and son.number not in page
    decide.confirm(actor=personas.district_specialist, finding=finding, village=city.village_a)
    assert Child.objects.get(name=son.name).id_number == son.number
