"""The phone app for home visits in a real headless Chromium on a 360 px phone, against a live server.

What a village director does: sign in through the sign-in page, open /m/, lose the signal, reopen the
page with no network (the service worker's shell and the encrypted child list), record a visit with a
photo and a problem, see it waiting on the phone, get the signal back and see it uploaded — exactly one
visit on the server, however often the same body arrives. After signing out nothing readable is left
on the phone; a visit left waiting at sign-out is sent after the next sign-in. The street supervisor
then finds the visit on the review list.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django.utils.translation import ngettext, override
from PIL import Image
from playwright.sync_api import expect

from carenet.problems.models import Problem
from carenet.registry import services as registry
from carenet.tests_support.browser import PHONE, _open_page
from carenet.visits.models import Visit, VisitPhoto, VisitRule
from carenet.visits.schedule import DEFAULT_INTERVALS
from carenet.web.tests.test_browser import sign_in

pytestmark = [pytest.mark.browser]

# Why the tests wait for the page's sync before touching the database: the test database is an in-memory
# SQLite whose single connection the live server's request threads and the test thread share, so two
# requests at once (or a request and an ORM query in the test) can trip over each other. The app itself
# sends one request at a time; body[data-synced] counts its finished rounds (send the queue, reload the list).

NOTES_SHOT = Path("/work/notes/mobile-form.png")
HEALTH = "咳嗽一周，已就医"  # typed into the form: must never be readable in the phone's storage
VILLAGE_A_LOCATION = {"latitude": 38.990123, "longitude": 117.350456, "accuracy": 25}

# Reads every record of the app's IndexedDB as text: plain fields as JSON, encrypted bytes decoded as UTF-8
# (so a name stored in clear would show up in either).
DUMP_STORAGE = """async () => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open('carenet-visits'); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const out = {};
  for (const name of Array.from(db.objectStoreNames)) {
    const rows = await new Promise((ok, ko) => { const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
    out[name] = rows.map(row => {
      const parts = [];
      for (const [k, v] of Object.entries(row)) {
        if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) parts.push(k + '=' + new TextDecoder('utf-8', {fatal: false}).decode(v));
        else parts.push(k + '=' + JSON.stringify(v));
      }
      return parts.join('\\n');
    });
  }
  db.close();
  return out;
}"""


def queue_text(n: int) -> str:
    with override("zh-hans"):
        return ngettext("%(n)s visit waiting to upload", "%(n)s visits waiting to upload", n) % {"n": n}


def photo_file(tmp_path: Path) -> Path:
    """A 1600 x 1200 PNG straight from a 'camera': the page must shrink it to a JPEG of at most 1280 px."""
    image = Image.new("RGB", (1600, 1200), (40, 120, 60))
    for x in range(0, 1600, 40):  # some detail, so the JPEG is not trivially small
        for y in range(0, 1200, 40):
            image.paste(((x * 7) % 255, (y * 3) % 255, (x + y) % 255), (x, y, x + 20, y + 20))
    path = tmp_path / "camera.png"
    image.save(path, format="PNG")
    return path


def overdue_child(personas: Any, child: Any, days: int = 40) -> None:
    """Open a left-behind category 40 days ago: the monthly rule makes the child 10 days overdue.

    Live-server tests run on a transactional database that is flushed after each test, which also
    deletes the default visit rules the migration wrote; they are put back first."""
    if not VisitRule.objects.filter(valid_to__isnull=True, district_code="").exists():
        VisitRule.objects.bulk_create(
            VisitRule(category=c, district_code="", interval_days=d) for c, d in DEFAULT_INTERVALS.items()
        )
    registry.category_open(
        actor=personas.city_admin,
        child=child,
        category="left_behind",
        start_date=timezone.localdate() - dt.timedelta(days=days),
        reason="browser test",
    )


@pytest.fixture
def phone(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Any]:
    """The same phone with service workers blocked: Playwright's request routing (used to lose an answer or
    refuse a visit) does not see requests that pass through a service worker."""
    yield from _open_page(request, browser, live_server.url, {**PHONE, "service_workers": "block"}, "phone")


def open_app(page: Any) -> None:
    page.goto("/m/")
    page.wait_for_selector("body[data-ready=true]")


def synced(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.synced || 0)"))


def wait_synced(page: Any, after: int) -> None:
    """Until the page has finished a sync round begun after `after` rounds (no request is then in flight)."""
    page.wait_for_function(f"() => Number(document.body.dataset.synced || 0) > {after}")


def queued(page: Any) -> Any:
    return page.locator("#m-status")


def storage_dump(page: Any) -> dict[str, list[str]]:
    return page.evaluate(DUMP_STORAGE)


def test_a_visit_recorded_offline_uploads_once_and_leaves_nothing_readable(
    page, live_server, city, personas, children, settings, tmp_path, screenshot
):
    settings.MEDIA_ROOT = tmp_path / "media"
    child = children.own
    overdue_child(personas, child)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(VILLAGE_A_LOCATION)
    sent: list[str] = []
    page.on(
        "request",
        lambda r: (
            sent.append(r.post_data) if r.method == "POST" and r.url.endswith("/api/v1/visits/") else None
        ),
    )

    page.on("console", lambda m: print("CONSOLE", m.text))
    sign_in(page, "p-village-a")
    open_app(page)
    card = page.locator(f'.m-group[data-group="overdue"] button.m-child[data-child="{child.pk}"]')
    expect(card.locator(".name")).to_have_text(child.name)
    expect(page.locator('.m-group[data-group="never_visited"]')).to_be_hidden()
    assert children.sibling_village.name not in page.content()  # only the director's own children
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")

    # No signal: the page reopens from the service worker and still lists the child (from encrypted storage).
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#m-net")).to_be_visible()
    expect(card.locator(".name")).to_have_text(child.name)

    card.click()
    expect(page.locator("#view-form")).to_be_visible()
    expect(page.locator("#form-child-name")).to_have_text(child.name)
    today = page.evaluate("() => document.getElementById('f-visited_on').max")
    expect(page.locator("#f-visited_on")).to_have_value(today)
    expect(page.locator("#f-living-good")).to_be_checked()  # a routine visit: pick the child, tap Save
    expect(page.locator("#f-met_child-1")).to_be_checked()
    if NOTES_SHOT.parent.is_dir():  # the first screen of a routine visit, as the director sees it
        page.screenshot(path=str(NOTES_SHOT))

    page.locator("#more-health > summary").click()
    page.fill("#f-health", HEALTH)
    page.locator("#problems-box > summary").click()
    page.locator("#problem-add").click()
    problem = page.locator("#problem-list .m-problem").first
    problem.locator('[data-field="category"]').select_option("schooling")
    problem.locator('[data-field="severity"]').select_option("serious")
    problem.locator('[data-field="description"]').fill("孩子连续两周没有上学")
    page.set_input_files("#f-photo", str(photo_file(tmp_path)))
    expect(page.locator("#photo-thumbs .m-thumb")).to_have_count(1)
    expect(page.locator("#location-status")).to_contain_text("25")
    assert screenshot(page, "phone-visit-form-filled").exists()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('*')).filter(e => e.getBoundingClientRect().right > 360.5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().left) + '-' + Math.round(e.getBoundingClientRect().right)).slice(0, 20)"""
    )
    assert overflow <= 0, f"the form scrolls sideways by {overflow}px at 360 px {wide}"

    page.locator("#save").click()
    expect(page.locator("#view-list")).to_be_visible()
    expect(queued(page)).to_have_attribute("data-queued", "1")
    expect(page.locator("#m-queue-text")).to_contain_text(queue_text(1))
    expect(page.locator("#queue-list li")).to_have_count(1)
    expect(page.locator("#queue-list li strong")).to_have_text(child.name)
    screenshot(page, "phone-visit-queued")
    assert not Visit.objects.filter(child=child).exists()  # nothing reached the server while offline

    stored = storage_dump(page)
    assert len(stored["queue"]) == 1 and len(stored["cache"]) == 1
    for text in stored["queue"] + stored["cache"]:
        assert child.name not in text and HEALTH not in text, "personal data stored in clear on the phone"

    # The signal returns: the queue drains by itself.
    rounds = synced(page)
    page.context.set_offline(False)
    wait_synced(page, rounds)
    expect(queued(page)).to_have_attribute("data-queued", "0")
    expect(page.locator("#queue-list li")).to_have_count(0)
    assert sent, "the page never sent the visit"
    body = json.loads(sent[-1])
    visit = Visit.objects.get(client_id=body["client_id"])
    assert Visit.objects.filter(child=child).count() == 1
    assert visit.recorded_by == personas.director_a and visit.visited_on.isoformat() == today
    assert visit.living == "good" and visit.met_child and visit.health == HEALTH
    assert float(visit.latitude) == pytest.approx(38.990123) and visit.location_accuracy == 25
    assert Problem.objects.filter(visit=visit, category="schooling", severity="serious").count() == 1
    photo = VisitPhoto.objects.get(visit=visit)
    with photo.file.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        assert image.format == "JPEG" and max(image.size) == 1280  # shrunk and recompressed on the phone
    assert photo.size <= 500 * 1024
    assert len(set(sent)) == 1, "a retry sent a different body"

    # A replay of the very same body (a lost answer, a double tap) is answered 200 and stores nothing new.
    status = page.evaluate(
        """async (body) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
            const r = await fetch('/api/v1/visits/', {method: 'POST', body,
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
            const data = await r.json();
            return [r.status, data.id];
        }""",
        sent[-1],
    )
    assert status == [200, visit.pk]
    assert Visit.objects.filter(child=child).count() == 1
    assert VisitPhoto.objects.filter(visit__child=child).count() == 1

    # Sign out: no key, no child list, nothing readable left in the browser.
    page.locator("header.m-top form[action='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => localStorage.getItem('carenet.visits.key')") is None
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    after = storage_dump(page)
    assert after["cache"] == [] and after["queue"] == []

    # The street supervisor of that village sees the visit waiting for review.
    sign_in(page, "p-street")
    page.goto("/visits/review/")
    expect(page.locator(".review-list .visit-item a.name", has_text=child.name)).to_have_count(1)
    screenshot(page, "phone-visit-review")


def test_a_visit_whose_answer_was_lost_is_sent_again_after_signing_in_and_stored_once(
    phone, live_server, city, personas, children, settings, tmp_path
):
    """The server stores the visit but the answer never reaches the phone (the signal drops). The visit stays
    queued; the director signs out (the queue stays, encrypted) and back in; the retry is answered 200."""
    settings.MEDIA_ROOT = tmp_path / "media"
    child = children.own
    overdue_child(personas, child)
    arrivals: list[int] = []

    def lose_the_answer(route: Any) -> None:
        response = route.fetch()  # the server receives and stores the visit…
        arrivals.append(response.status)
        route.abort("internetdisconnected")  # …and the phone never hears back

    page = phone
    sign_in(page, "p-village-a")
    open_app(page)
    page.route("**/api/v1/visits/", lose_the_answer)
    page.locator(f'button.m-child[data-child="{child.pk}"]').click()
    page.locator("#f-use-location").uncheck()
    rounds = synced(page)
    page.locator("#save").click()
    wait_synced(page, rounds)
    assert arrivals == [201], f"the server answered {arrivals}"
    assert Visit.objects.filter(child=child).count() == 1
    expect(queued(page)).to_have_attribute("data-queued", "1")  # the phone still thinks it is unsent
    page.unroute("**/api/v1/visits/")

    page.locator("header.m-top form[action='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => localStorage.getItem('carenet.visits.key')") is None
    left = storage_dump(page)
    assert len(left["queue"]) == 1 and left["cache"] == []
    assert child.name not in left["queue"][0]

    sign_in(page, "p-village-a")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/visits/") and r.request.method == "POST"
    ) as replay:
        open_app(page)
    assert replay.value.status == 200  # a replay of the stored visit, not a new one
    expect(queued(page)).to_have_attribute("data-queued", "0")
    assert Visit.objects.filter(child=child).count() == 1


def test_another_user_on_the_same_phone_cannot_read_or_send_a_waiting_visit(
    phone, live_server, city, personas, children, settings, tmp_path
):
    page = phone
    settings.MEDIA_ROOT = tmp_path / "media"
    overdue_child(personas, children.own)
    sign_in(page, "p-village-a")
    open_app(page)
    expect(page.locator(f'button.m-child[data-child="{children.own.pk}"]')).to_be_visible()
    page.context.set_offline(True)
    page.locator(f'button.m-child[data-child="{children.own.pk}"]').click()
    page.locator("#f-use-location").uncheck()
    page.locator("#save").click()
    expect(queued(page)).to_have_attribute("data-queued", "1")
    page.route("**/api/v1/visits/", lambda route: route.abort("internetdisconnected"))  # keep it waiting
    rounds = synced(page)
    page.context.set_offline(False)
    wait_synced(page, rounds)
    expect(queued(page)).to_have_attribute("data-queued", "1")
    page.locator("header.m-top form[action='/logout/'] button").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.unroute("**/api/v1/visits/")

    sign_in(page, "p-village-b")
    open_app(page)
    expect(queued(page)).to_have_attribute("data-queued", "0")  # B sees no queue (it is A's, under A's key)
    assert children.own.name not in page.locator("body").inner_text()
    assert not Visit.objects.exists()
    assert len(storage_dump(page)["queue"]) == 1  # still there, for A


def test_a_visit_the_server_refuses_is_shown_with_the_reason_and_can_be_fixed_and_sent(
    phone, live_server, city, personas, children, settings, tmp_path
):
    page = phone
    settings.MEDIA_ROOT = tmp_path / "media"
    child = children.own
    overdue_child(personas, child)
    reason = "The visit date is in the future."
    refusal = {"detail": [{"loc": ["body", "visited_on"], "msg": reason, "type": "invalid"}]}
    sign_in(page, "p-village-a")
    open_app(page)
    page.route("**/api/v1/visits/", lambda route: route.fulfill(status=422, json=refusal))
    page.locator(f'button.m-child[data-child="{child.pk}"]').click()
    page.locator("#f-use-location").uncheck()
    page.locator("label[for=f-living-difficult]").click()
    rounds = synced(page)
    page.locator("#save").click()
    wait_synced(page, rounds)
    failed = page.locator("#queue-list li.failed")
    expect(failed.locator(".err")).to_have_text(reason)  # the server's own words, not a code
    expect(queued(page)).to_have_attribute("data-queued", "0")  # not retried: the person must act
    first_id = failed.get_attribute("data-client-id")
    page.unroute("**/api/v1/visits/")

    failed.locator(".actions button").first.click()  # Fix: the form comes back as it was saved
    expect(page.locator("#form-child-name")).to_have_text(child.name)
    expect(page.locator("#f-living-difficult")).to_be_checked()
    rounds = synced(page)
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/visits/") and r.request.method == "POST"
    ) as sent:
        page.locator("#save").click()
    wait_synced(page, rounds)
    assert sent.value.status == 201
    expect(page.locator("#queue-list li")).to_have_count(0)
    visit = Visit.objects.get(child=child)
    assert visit.living == "difficult"
    assert str(visit.client_id) != first_id  # a fixed visit is a new visit id: the refused one is gone


def test_an_ended_session_keeps_the_visit_and_asks_to_sign_in_again(
    phone, live_server, city, personas, children, settings, tmp_path
):
    page = phone
    settings.MEDIA_ROOT = tmp_path / "media"
    child = children.own
    overdue_child(personas, child)
    sign_in(page, "p-village-a")
    open_app(page)
    page.locator(f'button.m-child[data-child="{child.pk}"]').click()
    page.locator("#f-use-location").uncheck()
    page.context.clear_cookies()  # the session timed out on the server while the form was open
    rounds = synced(page)
    page.locator("#save").click()
    wait_synced(page, rounds)
    expect(page.locator("#m-signin")).to_be_visible()
    expect(queued(page)).to_have_attribute("data-queued", "1")
    assert page.evaluate("() => localStorage.getItem('carenet.visits.key')") is None  # gone with the session
    assert not Visit.objects.exists()

    page.locator("#m-signin").click()
    page.wait_for_url(re.compile(r"/login/\?next=/m/$"))
    page.fill("#id_username", "p-village-a")
    page.fill("#id_password", settings.DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/m/$"))
    page.wait_for_selector("body[data-ready=true]")
    expect(queued(page)).to_have_attribute("data-queued", "0")
    assert Visit.objects.filter(child=child, recorded_by=personas.director_a).count() == 1
