"""Real-browser tests: headless Chromium against a live server, mostly on a 360 px phone.

The page texts are English msgids shown in Chinese through the zh-Hans catalogue. The assertions
compare against what gettext gives for the page's language (so they hold with or without the
catalogue) or against structure: ids, URLs, attributes, masked patterns.
Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from carenet.core import idnumber
from carenet.registry.models import Child
from carenet.tests_support.factories import ChildFactory

pytestmark = [pytest.mark.browser]

MASKED = re.compile(r"^120112\*{8}[0-9]{3}[0-9X]$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def zh(msgid: str) -> str:
    """The text a zh-CN browser is shown for `msgid` (the msgid itself until the catalogue exists)."""
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def zh_catalogue_ready() -> bool:
    return zh("Sign in") != "Sign in"


def assert_assets_loaded(page: Any) -> None:
    """htmx ran and both style sheets (Pico, carenet.css) were applied."""
    page.wait_for_function("() => typeof window.htmx === 'object' && window.htmx !== null")
    sheets = page.evaluate(
        "() => Array.from(document.styleSheets).map(s => [s.href || '', s.cssRules.length])"
    )
    loaded = {href.rsplit("/", 1)[-1]: n for href, n in sheets}
    assert loaded.get("pico.min.css", 0) > 0, f"Pico CSS is not loaded: {sheets}"
    assert loaded.get("carenet.css", 0) > 0, f"carenet.css is not loaded: {sheets}"
    primary = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--pico-primary').trim()"
    )
    assert primary, "Pico's custom properties are not applied"


def sign_in(page: Any, username: str, password: str | None = None) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", settings.DEMO_PASSWORD if password is None else password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def assert_no_horizontal_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, (
        f"the page scrolls sideways by {overflow}px on a {page.viewport_size['width']}px screen"
    )


def test_director_signs_in_on_a_phone_finds_a_child_and_sees_only_the_masked_id(
    page, live_server, city, personas, children, screenshot
):
    ChildFactory(
        name="王小明", division=city.village_a
    )  # a second child of village A, so the search has something to narrow
    sign_in(page, "p-village-a")

    expect(page).to_have_url(f"{live_server.url}/")
    assert_assets_loaded(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main h1")).to_contain_text("A村")
    expect(page.locator("header .whoami")).to_contain_text("p-village-a")
    screenshot(page, "phone-home")
    assert_no_horizontal_scroll(page)

    page.locator("header nav a[href='/children/']").click()
    expect(page).to_have_url(f"{live_server.url}/children/")
    cards = page.locator("#results a.card")
    expect(cards).to_have_count(2)

    # The live search: typing fires an htmx POST that swaps #results; the document is never reloaded.
    page.evaluate("() => { window.__sameDocument = true }")
    with page.expect_response(
        lambda r: (
            r.url.endswith("/children/")
            and r.request.method == "POST"
            and r.request.headers.get("hx-request") == "true"
        )
    ) as search:
        page.locator("#id_q").press_sequentially("zhangwei", delay=30)
    assert search.value.status == 200
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".name")).to_have_text("张伟")
    assert page.evaluate("() => window.__sameDocument") is True, (
        "the search reloaded the page instead of swapping results"
    )
    assert "zhangwei" not in page.url  # the query is POSTed, never put in the URL
    screenshot(page, "phone-list")
    assert_no_horizontal_scroll(page)

    cards.first.click()
    expect(page).to_have_url(f"{live_server.url}/children/{children.own.pk}/")
    expect(page.locator("main h1")).to_contain_text("张伟")
    masked = page.locator("code.idno")
    expect(masked).to_have_text(MASKED)
    expect(masked).to_have_text(idnumber.mask(children.own.id_number))
    full = children.own.id_number
    assert full not in page.content()
    raw = page.request.get(f"/children/{children.own.pk}/")  # the HTML as served, not only the live DOM
    assert raw.status == 200 and full not in raw.text()
    screenshot(page, "phone-detail")
    assert_no_horizontal_scroll(page)


def test_the_home_quick_search_opens_the_list_with_the_match(page, live_server, personas, children):
    sign_in(page, "p-village-a")
    page.fill("form.quicksearch input[name=q]", "zhangwei")
    page.locator("form.quicksearch button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/children/")
    expect(page.locator("#id_q")).to_have_value("zhangwei")
    expect(page.locator("#results a.card .name")).to_have_text(["张伟"])


def test_registering_a_child_rejects_a_wrong_check_digit_then_saves_the_fixed_number(
    page, live_server, city, personas, screenshot
):
    good = idnumber.make("120112", dt.date(2016, 5, 6), 123)
    bad = good[:17] + next(d for d in "0123456789" if d != good[17])
    before = Child.objects.count()

    sign_in(page, "p-village-a")
    page.goto("/children/new/")
    assert_assets_loaded(page)
    page.fill("#id_name", "赵小明")
    page.fill("#id_id_number", bad)
    expect(page.locator("#id_division")).to_have_value(
        city.village_a.code
    )  # a director's own village is preselected
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    expect(page).to_have_url(f"{live_server.url}/children/new/")
    error = page.locator("#id_id_number + small.error")  # rendered right under the ID field
    expected = zh("The check digit is wrong: the number has a typo.")
    expect(error).to_have_text(expected)
    if zh_catalogue_ready():
        assert CJK.search(error.inner_text()), f"the error is not in Chinese: {error.inner_text()!r}"
    expect(page.locator("#id_id_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_name")).to_have_value("赵小明")  # what was typed is kept
    assert Child.objects.count() == before, "a child was saved despite the wrong ID number"
    screenshot(page, "phone-create-errors")
    assert_no_horizontal_scroll(page)

    page.fill("#id_id_number", good)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/children/\d+/$"))
    assert Child.objects.count() == before + 1
    child = Child.objects.get(name="赵小明")
    expect(page).to_have_url(f"{live_server.url}/children/{child.pk}/")
    assert child.id_number == good and child.division_code == city.village_a.code
    assert child.birth_date == dt.date(2016, 5, 6) and child.sex == "M"  # taken from the number
    expect(page.locator("p.flash")).to_contain_text("赵小明")
    expect(page.locator("code.idno")).to_have_text(idnumber.mask(good))
    assert good not in page.content()


def test_a_director_typing_the_url_of_a_sibling_villages_child_gets_a_404_without_the_name(
    page, live_server, personas, children
):
    sign_in(page, "p-village-a")
    response = page.goto(f"/children/{children.sibling_village.pk}/")
    assert response is not None and response.status == 404
    html = page.content()
    assert children.sibling_village.name not in html
    assert idnumber.mask(children.sibling_village.id_number) not in html
    # …and the edit page and the photo of that child do not exist either.
    for path in (
        f"/children/{children.sibling_village.pk}/edit/",
        f"/children/{children.sibling_village.pk}/photo/",
    ):
        other = page.request.get(path)
        assert other.status == 404, path
        assert children.sibling_village.name not in other.text()


def test_signing_out_ends_the_session_on_the_server(browser, page, live_server, personas):
    sign_in(page, "p-village-a")
    expect(page).to_have_url(f"{live_server.url}/")
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")

    page.locator("header form[action='/logout/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert not [c for c in page.context.cookies() if c["name"] == "sessionid"]

    page.go_back()  # the browser's back button must not show the signed-in page again
    page.wait_for_load_state()
    assert "/login/" in page.url, f"back after signing out showed {page.url}"
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    # Replaying the old session cookie from another browser gets nothing: the session is gone server-side.
    thief = browser.new_context(base_url=live_server.url)
    try:
        thief.add_cookies([{k: session[k] for k in ("name", "value", "domain", "path")}])
        replay = thief.new_page()
        replay.goto("/children/")
        expect(replay).to_have_url(re.compile(r"/login/\?next=/children/$"))
    finally:
        thief.close()


def test_switching_the_language_to_english_shows_english_labels(
    desktop_page, live_server, personas, children, screenshot
):
    page = desktop_page
    sign_in(page, "p-village-a")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert_assets_loaded(page)

    page.locator("footer form.lang button[value=en]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(f"{live_server.url}/")  # back where the switch was made
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header nav a[href='/children/']")).to_have_text("Children")
    expect(page.locator("header form[action='/logout/'] button")).to_have_text("Sign out")
    expect(page.locator("form.quicksearch button")).to_have_text("Search")
    expect(page.locator("form.quicksearch input[name=q]")).to_have_attribute(
        "placeholder", "Name, pinyin or ID number"
    )
    page.goto("/children/")
    expect(page.locator("main h1")).to_have_text("Children")
    screenshot(page, "desktop-list-english")

    page.locator("footer form.lang button[value=zh-hans]").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main h1")).to_have_text(zh("Children"))


def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(
    page, live_server, personas, screenshot
):
    wrong = zh("Wrong username or password.")
    for attempt in range(1, settings.LOGIN_MAX_FAILURES + 1):
        sign_in(page, "p-village-a", password=f"not-the-password-{attempt}")
        expect(page).to_have_url(re.compile(r"/login/$"))
        expect(page.locator("main .form-errors")).to_have_text(wrong)

    sign_in(page, "p-village-a")  # the right password, too late
    expect(page).to_have_url(re.compile(r"/login/$"))
    locked = {
        zh("Too many failed sign-ins: this account is locked for %(m)d more minutes.") % {"m": m}
        for m in (settings.LOGIN_LOCKOUT_MINUTES, settings.LOGIN_LOCKOUT_MINUTES - 1)
    }
    text = page.locator("main .form-errors").inner_text().strip()
    assert text in locked, f"{text!r} is not the lockout message"
    screenshot(page, "phone-login-locked")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))  # not signed in
