"""Real browser, desktop: a district specialist imports department lists (a broken one first: the per-row report,
nothing imported), runs screening, watches it finish, opens the finding "policy finds the person" — a child in no
registry whose parents, found through the household extract, both died — sees both records side by side, and
confirms it: the child is registered in the chosen village and an application filed. Screenshots go to
test-artifacts/screening-*.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from carenet.benefits.models import Application
from carenet.core import idnumber
from carenet.registry.models import Child
from carenet.screening.models import DeptList, Finding
from carenet.web.tests.test_browser import sign_in

pytestmark = [pytest.mark.browser]


def _files(tmp_path: Path) -> dict[str, Path]:
    today = timezone.localdate()
    year = today.year
    father = ("吴建国", idnumber.make("120112", dt.date(year - 40, 3, 1), 411))
    mother = ("郑秀兰", idnumber.make("120112", dt.date(year - 38, 6, 2), 412))
    girl = ("吴小雨", idnumber.make("120112", dt.date(year - 9, 5, 12), 422))
    died = (today - dt.timedelta(days=20)).isoformat()
    files = {
        "household": "户号,与户主关系,姓名,性别,公民身份号码,住址\n"
        f"H900001,配偶,{mother[0]},女,{mother[1]},津南区双港镇A村\n"
        f"H900001,长女,{girl[0]},女,{girl[1]},津南区双港镇A村\n",
        "death": "姓名,性别,公民身份号码,死亡日期,户号,与户主关系\n"
        f"{father[0]},男,{father[1]},{died},H900001,户主\n"
        f"{mother[0]},女,{mother[1]},{died},,\n",
        "broken": f"姓名,性别,公民身份号码,死亡日期\n{father[0]},男,{father[1]},明天\n,女,{mother[1]},{died}\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _import(page, kind: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/screening/lists/new/")
    page.select_option("#id_kind", kind)
    page.fill("#id_list_date", timezone.localdate().isoformat())
    page.set_input_files("#id_file", str(path))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_a_district_imports_screens_and_confirms_a_child_nobody_registered(
    desktop_page, live_server, city, personas, screenshot, tmp_path
):
    page = desktop_page
    files = _files(tmp_path)
    sign_in(page, personas.district_specialist.username)

    _import(page, "death", files["broken"])
    report = page.locator("#row-errors")
    expect(report).to_contain_text("2")  # row 2: the date
    expect(report).to_contain_text("3")  # row 3: the missing name
    screenshot(page, "screening-import-errors")
    assert not DeptList.objects.exists()

    _import(page, "household", files["household"])
    expect(page.locator("main")).to_contain_text("H900001")
    _import(page, "death", files["death"])
    expect(page.locator("main h1")).to_be_visible()
    assert DeptList.objects.count() == 2

    page.goto("/screening/")
    page.locator("form[action$='/screening/runs/'] button[type=submit]").first.click()
    page.wait_for_load_state()
    expect(page.locator("#run-progress")).to_have_attribute("data-state", "done", timeout=30_000)
    screenshot(page, "screening-run")

    finding = Finding.objects.get(rule="new_candidate")
    page.goto("/screening/findings/")
    page.locator(f'a.card[href="/screening/findings/{finding.pk}/"]').click()
    page.wait_for_load_state()
    main = page.locator("main")
    expect(main).to_contain_text("吴小雨")
    expect(main).to_contain_text("吴建国")
    expect(main).to_contain_text("郑秀兰")
    screenshot(page, "screening-finding")

    page.select_option("#id_village", city.village_a.code)
    page.locator(".finding-decide form:has(input[value=confirm]) button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text(str(Application.objects.get(source="screening").pk))
    child = Child.objects.get(name="吴小雨")
    assert child.division_id == city.village_a.pk
    application = Application.objects.get(child=child)
    assert application.category == "orphan_scattered" and application.source == "screening"
    finding.refresh_from_db()
    assert finding.state == "confirmed" and finding.application_id == application.pk
    screenshot(page, "screening-confirmed")
