"""Real browser, phone-sized: a director finds the problem on their list, marks it resolved, verifies it;
the street supervisor closes it. Screenshots go to test-artifacts/problems-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from carenet.problems.models import Problem
from carenet.problems.tests.conftest import overdue_by
from carenet.web.tests.test_browser import assert_no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser]


def test_a_director_resolves_and_verifies_on_a_phone_and_the_street_closes(
    page,  # noqa: F811
    browser,  # noqa: F811
    live_server,
    personas,
    children,
    raise_problem,
    screenshot,  # noqa: F811
):
    problem = overdue_by(raise_problem(actor=personas.director_a, description="孩子两周未到校"), 3)
    sign_in(page, personas.director_a.username)
    page.goto("/problems/")
    card = page.locator(f'a.card[href="/problems/{problem.pk}/"]')
    expect(card).to_have_class("card overdue")
    assert (
        page.evaluate("(el) => getComputedStyle(el).borderLeftColor", card.element_handle())
        == "rgb(176, 42, 55)"
    )
    assert_no_horizontal_scroll(page)
    screenshot(page, "problems-list-phone")

    card.click()
    expect(page.locator("main")).to_contain_text("孩子两周未到校")
    assert_no_horizontal_scroll(page)
    page.locator("details:has(input[value=resolve]) summary").click()
    page.fill("#resolve-text", "已联系学校，孩子已返校")
    page.locator("form:has(input[value=resolve]) button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("ol.thread")).to_contain_text("已联系学校，孩子已返校")
    # Resolved: the director now verifies, and may not close.
    expect(page.locator("input[value=close]")).to_have_count(0)
    page.locator("form:has(input[value=verify]) button[type=submit]").click()
    page.wait_for_load_state()
    screenshot(page, "problems-detail-phone")
    assert Problem.objects.get(pk=problem.pk).state == "verified"

    street = browser.new_context(base_url=live_server.url, viewport={"width": 360, "height": 740})
    try:
        phone = street.new_page()
        sign_in(phone, personas.street_supervisor.username)
        phone.goto(f"/problems/{problem.pk}/")
        phone.locator("form:has(input[value=close]) button[type=submit]").click()
        phone.wait_for_load_state()
        expect(phone.locator("input[value=close]")).to_have_count(0)
    finally:
        street.close()
    assert Problem.objects.get(pk=problem.pk).state == "closed"
