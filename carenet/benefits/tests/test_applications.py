"""Determination (精准认定): filing, the village check, the street review, the district approval, sending back,
rejecting, and what approval opens or ends. Who may take each step, and what each step leaves behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from carenet.audit.models import AccessLog, ChangeLog
from carenet.benefits import applications as svc
from carenet.benefits import months
from carenet.benefits import selectors_applications as sel
from carenet.benefits.enrolment import programmes_for
from carenet.benefits.models import (
    Application,
    ApplicationEvidence,
    ApplicationStep,
    EndReason,
    Enrolment,
)
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry import services as registry_services
from carenet.registry.models import CategoryMembership, Child, ChildDocument

S = svc.S
THIS_MONTH = months.first(timezone.localdate())


@pytest.fixture(autouse=True)
def _english():
    """The refusals are checked by the words they use; the catalogue would otherwise answer in Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def document(child, user, title="死亡证明") -> ChildDocument:
    content = b"%PDF-1.4 evidence"
    doc = ChildDocument(
        child=child,
        kind="death_cert",
        title=title,
        content_type="application/pdf",
        size=len(content),
        uploaded_by=user,
    )
    doc.file.save("evidence.pdf", ContentFile(content), save=True)
    return doc


@pytest.fixture
def file(personas, children):
    """file(category=..., kind=..., effective_month=..., evidence=True, ...) -> Application, by director A."""

    def make(*, child=None, actor=None, evidence=True, **kwargs) -> Application:
        child = child or children.own
        actor = actor or personas.director_a
        fields = {
            "kind": "open",
            "category": "orphan_scattered",
            "effective_month": THIS_MONTH,
            "reason": "父母双亡，由祖父母抚养",
        } | kwargs
        docs = [document(child, actor)] if evidence else []
        return svc.application_file(actor=actor, child=child, documents=docs, **fields)

    return make


def through(application, personas, *, upto: str) -> Application:
    """Take the application through the steps of the right people, up to and including `upto`."""
    steps = [
        ("check", svc.application_check, personas.director_a),
        ("review", svc.application_review, personas.street_supervisor),
        ("approve", svc.application_approve, personas.district_specialist),
    ]
    for name, move, actor in steps:
        application = move(actor=actor, application=application)
        if name == upto:
            break
    return application


def refresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


# ---------------------------------------------------------------- filing


def test_a_village_director_files_an_application_with_its_evidence_and_first_step(file, personas, children):
    application = file()
    assert application.status == S.FILED
    assert application.division_code == children.own.division_code
    assert application.filed_by == personas.director_a
    step = application.steps.get()
    assert (step.action, step.from_status, step.to_status, step.actor) == (
        "file",
        "",
        S.FILED,
        personas.director_a,
    )
    assert application.evidence.get().step == step


def test_a_street_supervisor_may_not_file(file, personas):
    with pytest.raises(PermissionDeniedError):
        file(actor=personas.street_supervisor)


def test_a_screening_reviewer_may_not_file_by_naming_screening_as_the_source(file, personas):
    """The district files only by confirming a finding (screening.decide); naming the source is no right."""
    with pytest.raises(PermissionDeniedError):
        file(actor=personas.district_specialist, source="screening")
    assert not Application.objects.exists()


def test_a_director_cannot_file_for_a_child_of_the_sibling_village(personas, children):
    with pytest.raises(Child.DoesNotExist):
        svc.application_file(
            actor=personas.director_b,
            child=children.own,
            kind="open",
            category="orphan_scattered",
            effective_month=THIS_MONTH,
            reason="x",
        )


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"category": "astronaut"}, "category"),
        ({"kind": "pause"}, "kind"),
        ({"reason": "   "}, "reason"),
        ({"kind": "end", "end_reason": ""}, "end_reason"),
        ({"kind": "end", "category": "poor_family", "end_reason": "aged_out"}, "category"),
        ({"effective_month": THIS_MONTH.replace(year=THIS_MONTH.year + 1)}, "effective_month"),
        ({"effective_month": dt.date(2000, 1, 1)}, "effective_month"),
    ],
    ids=[
        "unknown category",
        "unknown kind",
        "empty reason",
        "ending without a reason for it",
        "ending a category the child is not in",
        "effective a year ahead",
        "effective before birth",
    ],
)
def test_bad_input_is_refused_naming_the_field(file, fields, field):
    with pytest.raises(CarenetError) as caught:
        file(**fields)
    assert caught.value.field == field
    assert not Application.objects.exists()


def test_a_second_open_application_for_the_same_child_and_category_is_refused(file):
    file()
    with pytest.raises(CarenetError) as caught:
        file()
    assert caught.value.field == "category"


def test_a_child_already_drawing_the_categorys_benefits_cannot_apply_again(file, personas):
    through(file(), personas, upto="approve")
    with pytest.raises(CarenetError) as caught:
        file()
    assert caught.value.field == "category"


def test_evidence_must_be_a_document_of_the_same_child(personas, children):
    other = document(children.sibling_village, personas.director_b)
    with pytest.raises(CarenetError) as caught:
        svc.application_file(
            actor=personas.director_a,
            child=children.own,
            kind="open",
            category="orphan_scattered",
            effective_month=THIS_MONTH,
            reason="x",
            documents=[other],
        )
    assert caught.value.field == "documents"


# ---------------------------------------------------------------- who may take each step


def test_the_director_of_the_sibling_village_cannot_even_find_the_application_to_check(file, personas):
    application = file()
    with pytest.raises(Application.DoesNotExist):
        svc.application_check(actor=personas.director_b, application=application)


def test_the_street_supervisor_cannot_take_the_village_check(file, personas):
    application = file()
    with pytest.raises(PermissionDeniedError, match="village"):
        svc.application_check(actor=personas.street_supervisor, application=application)
    assert refresh(application).status == S.FILED


def test_the_district_specialist_cannot_take_the_street_review(file, personas):
    application = through(file(), personas, upto="check")
    with pytest.raises(PermissionDeniedError, match="street"):
        svc.application_review(actor=personas.district_specialist, application=application)


def test_the_village_director_cannot_review_their_own_check(file, personas):
    application = through(file(), personas, upto="check")
    with pytest.raises(PermissionDeniedError, match="street"):
        svc.application_review(actor=personas.director_a, application=application)


def test_the_street_supervisor_cannot_approve(file, personas):
    application = through(file(), personas, upto="review")
    with pytest.raises(PermissionDeniedError, match="district"):
        svc.application_approve(actor=personas.street_supervisor, application=application)
    assert refresh(application).status == S.REVIEWED


def test_the_city_admin_cannot_approve_in_the_districts_place(file, personas):
    application = through(file(), personas, upto="review")
    with pytest.raises(PermissionDeniedError, match="district"):
        svc.application_approve(actor=personas.city_admin, application=application)


def test_the_specialist_of_another_district_cannot_find_the_application(file, personas):
    application = through(file(), personas, upto="review")
    with pytest.raises(Application.DoesNotExist):
        svc.application_approve(actor=personas.other_district_specialist, application=application)


def test_district_finance_may_not_decide_on_applications(file, personas):
    application = through(file(), personas, upto="review")
    with pytest.raises(PermissionDeniedError):
        svc.application_approve(actor=personas.district_finance, application=application)


def test_a_step_out_of_order_is_refused(file, personas):
    application = file()
    with pytest.raises(CarenetError) as caught:
        svc.application_approve(actor=personas.district_specialist, application=application)
    assert caught.value.field == "action" and not isinstance(caught.value, PermissionDeniedError)


def test_only_the_holder_of_the_current_step_may_send_it_back(file, personas):
    application = through(file(), personas, upto="check")
    with pytest.raises(PermissionDeniedError):
        svc.application_return(actor=personas.director_a, application=application, comment="补材料")
    svc.application_return(actor=personas.street_supervisor, application=application, comment="补材料")
    assert refresh(application).status == S.RETURNED


def test_allowed_actions_show_each_level_only_its_own_buttons(file, personas):
    application = file()
    assert svc.allowed_actions(personas.director_a, application) == ["check", "return", "reject"]
    assert svc.allowed_actions(personas.street_supervisor, application) == []
    assert svc.allowed_actions(personas.city_admin, application) == []
    reviewed = through(application, personas, upto="review")
    assert svc.allowed_actions(personas.district_specialist, reviewed) == ["approve", "return", "reject"]


# ---------------------------------------------------------------- evidence


def test_an_application_without_evidence_cannot_advance(file, personas):
    application = file(evidence=False)
    with pytest.raises(CarenetError) as caught:
        svc.application_check(actor=personas.director_a, application=application)
    assert caught.value.field == "evidence"
    assert refresh(application).status == S.FILED
    assert application.steps.count() == 1


def test_evidence_attached_later_lets_it_advance(file, personas, children):
    application = file(evidence=False)
    doc = document(children.own, personas.director_a)
    evidence = svc.evidence_attach(actor=personas.director_a, application=application, document=doc)
    assert evidence.step == application.steps.get()
    svc.application_check(actor=personas.director_a, application=application)
    assert refresh(application).status == S.CHECKED


def test_evidence_can_be_uploaded_into_the_childs_file_and_attached(file, personas, children):
    application = file(evidence=False)
    upload = SimpleUploadedFile("hukou.pdf", b"%PDF-1.4 hukou", "application/pdf")
    evidence = svc.evidence_upload(
        actor=personas.street_supervisor, application=application, kind="hukou", title="户口本", upload=upload
    )
    assert evidence.document.child == children.own and evidence.document.title == "户口本"


def test_the_same_document_is_not_attached_twice(file, personas):
    application = file()
    doc = application.evidence.get().document
    with pytest.raises(CarenetError):
        svc.evidence_attach(actor=personas.director_a, application=application, document=doc)


def test_no_evidence_can_be_added_to_a_decided_application(file, personas, children):
    application = svc.application_reject(actor=personas.director_a, application=file(), comment="不符合条件")
    with pytest.raises(CarenetError):
        svc.evidence_attach(
            actor=personas.director_a,
            application=application,
            document=document(children.own, personas.director_a),
        )


# ---------------------------------------------------------------- the happy path and what approval opens


def test_approval_opens_the_membership_and_basic_living_and_medical_premium_for_a_scattered_orphan(
    file, personas, children
):
    # Approved late: the effective month two months back is paid as arrears by the next payroll.
    effective = months.add(THIS_MONTH, -2)
    application = through(file(effective_month=effective), personas, upto="approve")
    assert application.status == S.APPROVED and application.decided_at is not None
    membership = CategoryMembership.objects.get(child=children.own, category="orphan_scattered")
    assert membership.end_date is None and membership.start_date == effective
    assert membership.approved_by == personas.district_specialist
    enrolments = Enrolment.objects.filter(child=children.own, end_month__isnull=True)
    programmes = {e.programme for e in enrolments}
    assert {"basic_living", "medical_premium"} <= programmes
    assert programmes == set(programmes_for("orphan_scattered"))
    assert {e.start_month for e in enrolments} == {effective}
    assert {e.application_id for e in enrolments} == {application.pk}


def test_approval_for_a_poor_family_child_opens_basic_living_but_no_premium_subsidy(file, personas, children):
    through(file(category="poor_family"), personas, upto="approve")
    programmes = set(Enrolment.objects.filter(child=children.own).values_list("programme", flat=True))
    assert "basic_living" in programmes and "medical_premium" not in programmes


def test_approval_from_next_month_starts_the_membership_today_and_payment_next_month(
    file, personas, children
):
    next_month = months.add(THIS_MONTH, 1)
    through(file(effective_month=next_month), personas, upto="approve")
    membership = CategoryMembership.objects.get(child=children.own, category="orphan_scattered")
    assert membership.start_date == timezone.localdate()
    assert Enrolment.objects.get(child=children.own, programme="basic_living").start_month == next_month


def test_approval_keeps_an_existing_membership_and_opens_only_the_support(file, personas, children):
    CategoryMembership.objects.create(
        child=children.own,
        category="orphan_scattered",
        start_date=dt.date(2023, 5, 1),
        reason="早先认定",
        approved_by=personas.district_specialist,
    )
    through(file(), personas, upto="approve")
    assert CategoryMembership.objects.filter(child=children.own, category="orphan_scattered").count() == 1
    assert Enrolment.objects.filter(child=children.own).count() == len(programmes_for("orphan_scattered"))


def test_every_step_leaves_an_application_step_and_a_change_log_row(file, personas):
    application = through(file(), personas, upto="approve")
    steps = list(ApplicationStep.objects.filter(application=application).order_by("id"))
    assert [(s.action, s.from_status, s.to_status) for s in steps] == [
        ("file", "", S.FILED),
        ("check", S.FILED, S.CHECKED),
        ("review", S.CHECKED, S.REVIEWED),
        ("approve", S.REVIEWED, S.APPROVED),
    ]
    assert [s.actor for s in steps] == [
        personas.director_a,
        personas.director_a,
        personas.street_supervisor,
        personas.district_specialist,
    ]
    logs = list(ChangeLog.objects.filter(entity="application", entity_id=application.pk).order_by("id"))
    assert [log.changes["action"][1] for log in logs] == ["file", "check", "review", "approve"]
    assert [log.actor for log in logs] == [s.actor for s in steps]
    assert logs[-1].changes["status"] == [S.REVIEWED, S.APPROVED]
    assert sorted(logs[-1].changes["enrolments"][1]) == sorted(programmes_for("orphan_scattered"))


# ---------------------------------------------------------------- sent back, resubmitted, rejected


def test_a_returned_application_is_resubmitted_by_the_village_and_advances_again(file, personas):
    application = through(file(), personas, upto="review")
    svc.application_return(actor=personas.district_specialist, application=application, comment="缺少户口页")
    assert refresh(application).status == S.RETURNED
    with pytest.raises(PermissionDeniedError):
        svc.application_resubmit(actor=personas.street_supervisor, application=application)
    svc.application_resubmit(actor=personas.director_a, application=application, comment="已补户口页")
    assert refresh(application).status == S.FILED
    application = through(application, personas, upto="approve")
    assert application.status == S.APPROVED
    assert [s.action for s in application.steps.order_by("id")] == [
        "file",
        "check",
        "review",
        "return",
        "resubmit",
        "check",
        "review",
        "approve",
    ]
    assert application.steps.get(action="return").comment == "缺少户口页"


@pytest.mark.parametrize("move", [svc.application_return, svc.application_reject])
def test_sending_back_or_rejecting_needs_a_reason(file, personas, move):
    application = file()
    with pytest.raises(CarenetError) as caught:
        move(actor=personas.director_a, application=application, comment="  ")
    assert caught.value.field == "comment"


def test_a_rejection_is_terminal(file, personas):
    application = through(file(), personas, upto="check")
    svc.application_reject(
        actor=personas.street_supervisor, application=application, comment="父亲在世且有抚养能力"
    )
    application = refresh(application)
    assert application.status == S.REJECTED and application.decided_at is not None
    for move, actor in [
        (svc.application_review, personas.street_supervisor),
        (svc.application_resubmit, personas.director_a),
        (svc.application_check, personas.director_a),
    ]:
        with pytest.raises(CarenetError):
            move(actor=actor, application=application)
    with pytest.raises(CarenetError):
        svc.application_return(actor=personas.street_supervisor, application=application, comment="再看看")
    assert svc.allowed_actions(personas.street_supervisor, application) == []
    assert (
        not Enrolment.objects.exists()
        and not CategoryMembership.objects.filter(category="orphan_scattered").exists()
    )
    file()  # a new application may be filed once the old one is decided


# ---------------------------------------------------------------- ending


def test_ending_closes_the_membership_and_ends_the_enrolments_at_the_effective_month(
    file, personas, children
):
    through(file(effective_month=months.add(THIS_MONTH, -6)), personas, upto="approve")
    last = months.add(THIS_MONTH, -1)
    ending = file(
        kind="end", effective_month=last, end_reason=EndReason.PARENT_RETURNED, reason="父亲刑满释放"
    )
    through(ending, personas, upto="approve")
    membership = CategoryMembership.objects.get(child=children.own, category="orphan_scattered")
    month_end = months.add(last, 1) - dt.timedelta(days=1)
    assert membership.end_date == min(month_end, timezone.localdate())
    assert membership.ended_by == personas.district_specialist
    enrolments = list(Enrolment.objects.filter(child=children.own))
    assert len(enrolments) == len(programmes_for("orphan_scattered"))
    assert {(e.end_month, e.end_reason) for e in enrolments} == {(last, EndReason.PARENT_RETURNED)}


def test_an_ending_before_the_child_entered_the_category_is_refused(file, personas):
    through(file(effective_month=THIS_MONTH), personas, upto="approve")
    with pytest.raises(CarenetError) as caught:
        file(kind="end", effective_month=months.add(THIS_MONTH, -3), end_reason="other")
    assert caught.value.field == "effective_month"


# ---------------------------------------------------------------- reads


def test_each_level_finds_in_its_queue_what_waits_for_it(file, personas, children):
    filed = file()
    checked = through(file(category="poor_family"), personas, upto="check")
    reviewed = through(file(category="orphan_institutional"), personas, upto="review")
    other = file(child=children.sibling_village, actor=personas.director_b)
    assert set(sel.application_queue(actor=personas.director_a)) == {filed}
    assert set(sel.application_queue(actor=personas.director_b)) == {other}
    assert set(sel.application_queue(actor=personas.street_supervisor)) == {checked}
    assert set(sel.application_queue(actor=personas.district_specialist)) == {reviewed}
    assert not sel.application_queue(actor=personas.city_admin).exists()
    assert not sel.application_queue(actor=personas.other_district_specialist).exists()


def test_the_list_holds_only_applications_in_jurisdiction_and_filters_by_status(file, personas, children):
    own = file()
    other = file(child=children.sibling_village, actor=personas.director_b)
    everything = sel.ApplicationFilters()
    assert set(sel.application_list(actor=personas.director_a, filters=everything)) == {own}
    assert set(sel.application_list(actor=personas.street_supervisor, filters=everything)) == {own, other}
    assert not sel.application_list(actor=personas.other_district_specialist, filters=everything).exists()
    svc.application_reject(actor=personas.director_a, application=own, comment="不符合")
    undecided = sel.ApplicationFilters(status=sel.STATUS_OPEN)
    assert set(sel.application_list(actor=personas.street_supervisor, filters=undecided)) == {other}


def test_an_undecided_application_follows_a_child_who_moves(file, personas, children, city):
    application = file()
    registry_services.child_update(
        actor=personas.street_supervisor, child=children.own, division=city.village_b
    )
    assert refresh(application).division_code == city.village_b.code
    svc.application_check(actor=personas.director_b, application=application)
    assert refresh(application).status == S.CHECKED


# ---------------------------------------------------------------- pages


def test_the_queue_page_shows_the_directors_waiting_applications(client, file, personas):
    application = file()
    client.force_login(personas.director_a)
    response = client.get(reverse("web:application_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "张伟" in body and reverse("web:application_detail", args=[application.pk]) in body
    assert "待办" in body or "Waiting" in body


def test_the_detail_page_shows_the_timeline_and_evidence_and_records_the_access(client, file, personas):
    application = file()
    client.force_login(personas.street_supervisor)
    response = client.get(reverse("web:application_detail", args=[application.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    doc = application.evidence.get().document
    assert reverse("web:document_download", args=[doc.pk]) in body
    assert 'name="action" value="check"' not in body  # the street does not check
    assert AccessLog.objects.filter(
        actor=personas.street_supervisor, detail=f"application {application.pk}"
    ).exists()


def test_posting_the_check_moves_the_application_and_a_wrong_level_is_told_no(client, file, personas):
    application = file()
    client.force_login(personas.street_supervisor)
    url = reverse("web:application_action", args=[application.pk])
    response = client.post(url, {"action": "check", "comment": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "only the child director" in response.content.decode()
    assert refresh(application).status == S.FILED
    client.force_login(personas.director_a)
    response = client.post(url, {"action": "check", "comment": "已入户核实"})
    assert response.status_code == 302
    application = refresh(application)
    assert application.status == S.CHECKED
    assert application.steps.get(action="check").comment == "已入户核实"


def test_the_other_districts_specialist_gets_a_404_for_the_page(client, file, personas):
    application = file()
    client.force_login(personas.other_district_specialist)
    assert client.get(reverse("web:application_detail", args=[application.pk])).status_code == 404


def test_filing_from_the_childs_page_with_an_upload(client, personas, children):
    client.force_login(personas.director_a)
    url = reverse("web:application_create", args=[children.own.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "kind": "open",
            "category": "de_facto_unsupported",
            "effective_month": months.label(THIS_MONTH),
            "reason": "父亲服刑，母亲失联",
            "doc_kind": "judgement",
            "doc_title": "判决书",
            "doc_file": SimpleUploadedFile("j.pdf", b"%PDF-1.4 judgement", "application/pdf"),
        },
    )
    application = Application.objects.get(child=children.own)
    assert response.status_code == 302 and response["Location"] == reverse(
        "web:application_detail", args=[application.pk]
    )
    assert application.category == "de_facto_unsupported"
    assert ApplicationEvidence.objects.get(application=application).document.title == "判决书"


def test_a_refused_filing_leaves_no_uploaded_document_behind(client, personas, children):
    client.force_login(personas.director_a)
    response = client.post(
        reverse("web:application_create", args=[children.own.pk]),
        {
            "kind": "end",
            "category": "orphan_scattered",
            "effective_month": months.label(THIS_MONTH),
            "end_reason": "aged_out",
            "reason": "年满18周岁",
            "doc_kind": "other",
            "doc_file": SimpleUploadedFile("x.pdf", b"%PDF-1.4 x", "application/pdf"),
        },
    )
    assert response.status_code == 200  # the form again, with the error at the category
    assert not Application.objects.exists() and not ChildDocument.objects.exists()


def test_attaching_evidence_on_the_page(client, file, personas, children):
    application = file(evidence=False)
    doc = document(children.own, personas.director_a, title="户口页")
    client.force_login(personas.director_a)
    response = client.post(reverse("web:application_evidence", args=[application.pk]), {"document": doc.pk})
    assert response.status_code == 302
    assert application.evidence.get().document == doc
