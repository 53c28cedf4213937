import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image

from carenet.accounts.models import Division
from carenet.audit.models import AccessLog, ChangeLog
from carenet.core import idnumber
from carenet.registry.models import Child, ChildDocument


def login(client, user):
    client.force_login(user)
    return client


def png_bytes(size=(40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 50, 50)).save(out, format="PNG")
    return out.getvalue()


def test_search_posts_the_query_and_finds_homophones(client, personas, children):
    login(client, personas.director_a)
    response = client.post(reverse("web:child_list"), {"q": "张玮", "status": "active"})
    assert response.status_code == 200
    assert "张伟" in response.content.decode()


def test_htmx_search_returns_only_the_results_fragment(client, personas, children):
    login(client, personas.director_a)
    response = client.post(reverse("web:child_list"), {"q": "zhangwei"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "张伟" in body and "<html" not in body


def test_list_shows_no_full_id_numbers(client, personas, children):
    login(client, personas.director_a)
    body = client.get(reverse("web:child_list")).content.decode()
    assert children.own.id_number not in body


def test_detail_writes_an_access_record_and_masks_the_id_for_directors(client, personas, children):
    login(client, personas.director_a)
    body = client.get(reverse("web:child_detail", args=[children.own.pk])).content.decode()
    assert idnumber.mask(children.own.id_number) in body
    assert children.own.id_number not in body
    row = AccessLog.objects.get(child_id=children.own.pk)
    assert (row.actor, row.kind) == (personas.director_a, "view")


def test_district_specialist_sees_the_full_id(client, personas, children):
    login(client, personas.district_specialist)
    body = client.get(reverse("web:child_detail", args=[children.own.pk])).content.decode()
    assert children.own.id_number in body
    assert set(AccessLog.objects.filter(child_id=children.own.pk).values_list("kind", flat=True)) == {
        "view",
        "full_id",
    }


def test_when_the_access_record_cannot_be_written_nothing_is_shown(
    client, personas, children, break_access_log
):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    break_access_log(RuntimeError("audit store down"))
    client.raise_request_exception = False
    login(client, personas.district_specialist)
    response = client.get(reverse("web:child_detail", args=[children.own.pk]))
    assert response.status_code == 500
    assert "张伟" not in response.content.decode()
    assert children.own.id_number not in response.content.decode()


def test_create_form_shows_id_error_next_to_the_field_and_saves_nothing(client, personas, city):
    login(client, personas.director_a)
    number = idnumber.make("120112", dt.date(2015, 2, 3), 11)
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    before = Child.objects.count()
    response = client.post(
        reverse("web:child_create"), {"name": "周小雨", "id_number": bad, "division": city.village_a.code}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"]
    assert Child.objects.count() == before
    response = client.post(
        reverse("web:child_create"),
        {
            "name": "周小雨",
            "id_number": number,
            "division": city.village_a.code,
            "guardian_name": "周大",
            "guardian_relationship": "father",
        },
    )
    child = Child.objects.get(name="周小雨")
    assert response.status_code == 302 and response["Location"] == reverse(
        "web:child_detail", args=[child.pk]
    )
    assert child.members.get().is_guardian


def test_oversized_photo_is_refused_naming_the_field(client, personas, city, settings):
    settings.MAX_PHOTO_BYTES = 1000
    login(client, personas.director_a)
    photo = SimpleUploadedFile("p.png", png_bytes((300, 300)) + b"\0" * 2000, content_type="image/png")
    response = client.post(
        reverse("web:child_create"),
        {
            "name": "周小雨",
            "sex": "F",
            "birth_date": "2015-02-03",
            "division": city.village_a.code,
            "photo": photo,
        },
    )
    assert "photo" in response.context["form"].errors
    assert not Child.objects.filter(name="周小雨").exists()


def test_photo_is_resized_and_served_only_through_the_scoped_view(client, personas, city):
    login(client, personas.director_a)
    photo = SimpleUploadedFile("p.png", png_bytes((1600, 1200)), content_type="image/png")
    client.post(
        reverse("web:child_create"),
        {
            "name": "周小雨",
            "sex": "F",
            "birth_date": "2015-02-03",
            "division": city.village_a.code,
            "photo": photo,
        },
    )
    child = Child.objects.get(name="周小雨")
    response = client.get(reverse("web:child_photo", args=[child.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert max(image.size) <= 800
    login(client, personas.director_b)
    assert client.get(reverse("web:child_photo", args=[child.pk])).status_code == 404


def test_a_document_that_is_not_pdf_or_image_is_refused(client, personas, children):
    login(client, personas.director_a)
    fake = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    client.post(
        reverse("web:document_upload", args=[children.own.pk]), {"kind": "other", "title": "t", "file": fake}
    )
    assert not ChildDocument.objects.exists()
    real = SimpleUploadedFile("x.pdf", b"%PDF-1.4\n%%EOF", content_type="application/pdf")
    client.post(
        reverse("web:document_upload", args=[children.own.pk]),
        {"kind": "hukou", "title": "户口页", "file": real},
    )
    doc = ChildDocument.objects.get()
    response = client.get(reverse("web:document_download", args=[doc.pk]))
    assert response.status_code == 200
    assert "张伟" not in response["Content-Disposition"]
    assert AccessLog.objects.filter(kind="document", child_id=children.own.pk).exists()


def test_export_writes_one_access_record_per_child_and_masks_ids_for_street(client, personas, children):
    login(client, personas.street_supervisor)
    response = client.post(reverse("web:child_export"), {"status": "active"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in rows) == sorted(["张伟", "李娜"])
    assert all("********" in r[4] for r in rows)
    assert AccessLog.objects.filter(kind="export").count() == 2


def test_category_added_through_the_page_appears_in_history(client, personas, children):
    login(client, personas.district_specialist)
    client.post(
        reverse("web:category_open", args=[children.own.pk]),
        {"category": "orphan_scattered", "start_date": "2024-01-01", "reason": "父母双亡，死亡证明"},
    )
    body = client.get(reverse("web:child_detail", args=[children.own.pk])).content.decode()
    assert "父母双亡" in body
    assert ChangeLog.objects.filter(entity="category", child_id=children.own.pk).exists()


def test_division_import_page_lists_bad_rows_and_writes_nothing(client, personas):
    login(client, personas.city_admin)
    before = Division.objects.count()
    csv = "code,name\n120112003,新镇\n12011200300X,坏代码\n120199001001,孤村\n,空\n".encode()
    response = client.post(reverse("web:division_import"), {"file": SimpleUploadedFile("d.csv", csv)})
    lines = [line for line, _msg in response.context["row_errors"]]
    assert lines == [3, 4, 5]
    assert Division.objects.count() == before


def test_division_import_accepts_gbk(client, personas):
    login(client, personas.city_admin)
    csv = "代码,名称\n120112003,新镇\n120112003001,新村\n".encode("gbk")
    client.post(reverse("web:division_import"), {"file": SimpleUploadedFile("d.csv", csv)})
    assert Division.objects.get(code="120112003001").full_name.endswith("新镇/新村")


def test_only_city_admin_imports_divisions(client, personas):
    login(client, personas.district_specialist)
    assert client.get(reverse("web:division_import")).status_code == 403


def test_auditor_browses_change_and_access_logs_but_cannot_edit(client, personas, children):
    login(client, personas.director_a)
    client.get(reverse("web:child_detail", args=[children.own.pk]))
    login(client, personas.auditor)
    assert "p-village-a" in client.get(reverse("web:audit_access")).content.decode()
    assert client.get(reverse("web:audit_changes")).status_code == 200
    assert client.get(reverse("web:child_edit", args=[children.own.pk])).status_code == 403


def test_logout_kills_the_session(client, personas):
    login(client, personas.director_a)
    session_key = client.session.session_key
    client.post(reverse("web:logout"))
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get(reverse("web:home")).status_code == 302


def test_login_locks_the_username_after_repeated_failures(client, personas, settings):
    url = reverse("web:login")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post(url, {"username": "p-village-a", "password": "wrong-password"})
    response = client.post(url, {"username": "p-village-a", "password": settings.DEMO_PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    other = client.post(url, {"username": "p-village-b", "password": settings.DEMO_PASSWORD})
    assert other.status_code == 302


def test_session_expires_after_inactivity(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE <= 60 * 60


@pytest.mark.parametrize("lang,word", [("zh-hans", "儿童"), ("en", "Children")])
def test_pages_speak_the_chosen_language(client, personas, lang, word):
    login(client, personas.director_a)
    client.post(reverse("set_language"), {"language": lang, "next": "/"})
    assert word in client.get(reverse("web:child_list")).content.decode()


def test_district_assigns_a_social_worker_who_then_sees_the_child(client, personas, children):
    from carenet.registry.models import Caseload

    Caseload.objects.all().delete()
    login(client, personas.district_specialist)
    client.post(
        reverse("web:caseload_assign", args=[children.sibling_village.pk]),
        {"worker": personas.social_worker.pk},
    )
    login(client, personas.social_worker)
    assert client.get(reverse("web:child_detail", args=[children.sibling_village.pk])).status_code == 200
    case = Caseload.objects.get()
    login(client, personas.district_specialist)
    client.post(reverse("web:caseload_end", args=[case.pk]))
    login(client, personas.social_worker)
    assert client.get(reverse("web:child_detail", args=[children.sibling_village.pk])).status_code == 404


def test_director_cannot_assign_social_workers(client, personas, children):
    login(client, personas.director_a)
    assert (
        client.post(
            reverse("web:caseload_assign", args=[children.own.pk]), {"worker": personas.social_worker.pk}
        ).status_code
        == 403
    )


def test_a_huge_list_says_more_than_the_cap_instead_of_counting_everything(
    client, personas, children, monkeypatch
):
    from carenet.web.views import common

    monkeypatch.setattr(common, "COUNT_CAP", 2)
    login(client, personas.city_admin)
    response = client.post(reverse("web:child_list"), {"status": "active"})
    assert response.context["page"].paginator.count_exact is False
    assert "10,000" in response.content.decode() or "10000" in response.content.decode()
    login(client, personas.street_supervisor)
    assert client.post(reverse("web:child_list"), {"status": "active"}).context["page"].paginator.count == 2
