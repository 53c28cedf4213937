"""The phone app for recording home visits (/m/): an app shell, its service worker and the device key.

The shell is plain HTML with every label translated on the server and no personal data at all, so the
service worker may keep it for offline use. Children and visits travel only through the JSON API
(/api/v1/visits/…, /api/v1/children/…), which scopes every read to the caller's jurisdiction. What the
phone keeps (the queue of unsent visits, the last child list) is encrypted in IndexedDB under a key that
this module hands out per user (`mobile_key`); see carenet/web/static/carenet/visit-app.js.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from carenet.accounts.permissions import Perm
from carenet.problems.models import OwnerKind, ProblemCategory, Severity
from carenet.visits.models import LivingSituation
from carenet.web.views.common import require

# Bump to give every device a new key (queues left under the old key could then no longer be read).
DEVICE_KEY_VERSION = 1
# The static files the app needs offline; the service worker caches them with the shell.
SHELL_ASSETS = (
    "vendor/pico/pico.min.css",
    "carenet/carenet.css",
    "carenet/visit-app.css",
    "carenet/visit-app.js",
)
SW_SOURCE = "carenet/visit-sw.js"
# Photos are shrunk on the phone to stay well under MAX_VISIT_PHOTO_BYTES after JPEG compression.
PHOTO_MAX_EDGE = 1280
PHOTO_TARGET_BYTES = 500 * 1024


def device_key(user_id: int, version: int = DEVICE_KEY_VERSION) -> bytes:
    """32 bytes for AES-GCM on the phone. The same user gets the same key at every sign-in, so a queue
    of visits saved offline before a sign-out (or an expired session) can be read and sent afterwards;
    another user's key cannot read it. Derived from SECRET_KEY: rotating it orphans such queues."""
    return salted_hmac("carenet.web.mobile.device-key", f"v{version}:{user_id}", algorithm="sha256").digest()


def _messages() -> dict[str, str]:
    """Every text the script shows, translated here so the zh-Hans catalogue covers them."""
    return {
        "queue_one": ngettext("%(n)s visit waiting to upload", "%(n)s visits waiting to upload", 1),
        "queue_other": ngettext("%(n)s visit waiting to upload", "%(n)s visits waiting to upload", 2),
        "queue_empty": _("All visits are uploaded."),
        "failed_one": ngettext("%(n)s visit needs fixing", "%(n)s visits need fixing", 1),
        "failed_other": ngettext("%(n)s visit needs fixing", "%(n)s visits need fixing", 2),
        "offline": _("No network: visits are kept on this phone and upload when the network returns."),
        "sending": _("Uploading…"),
        "sign_in_again": _("Your session has ended: sign in again to upload the waiting visits."),
        "no_key_offline": _(
            "This phone has no key for offline work yet: open this page once while online and signed in."
        ),
        "saved_queued": _("Visit saved on this phone. It uploads as soon as there is a network."),
        "uploaded": _("Visit uploaded."),
        "server_busy": _("The server did not answer; the visit stays on this phone and is retried."),
        "overdue_days": _("Overdue by %(n)s days"),
        "due_on": _("Due %(date)s"),
        "never_visited": _("Never visited"),
        "last_visit": _("Last visit %(date)s"),
        "visited_now": _("Visit saved today"),
        "no_children": _("No child is due for a visit. Search to record a visit for another child."),
        "no_results": _("No child found."),
        "list_offline": _("Offline: showing the children saved on this phone."),
        "list_unavailable": _("The child list cannot be loaded now."),
        "date_required": _("Enter the visit date."),
        "date_future": _("The visit date cannot be in the future."),
        "date_too_old": _("The visit date is more than %(n)s days ago."),
        "problem_required": _("Describe the problem, or remove it."),
        "too_many_photos": _("At most %(n)s photos per visit."),
        "photo_unreadable": _("This file could not be read as a picture."),
        "photo_remove": _("Remove photo"),
        "locating": _("Finding your location…"),
        "located": _("Location found (within %(m)s m)."),
        "no_location": _("No location: the visit is saved without it."),
        "location_off": _("The visit is saved without a location."),
        "state_queued": _("Waiting to upload"),
        "state_failed": _("Not accepted"),
        "fix": _("Fix"),
        "discard": _("Discard"),
        "discard_confirm": _("Discard this visit? It will not be uploaded."),
        "save_failed": _("The visit could not be saved on this phone: %(error)s"),
        "problem_n": _("Problem %(n)s"),
    }


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "living": [(v, str(label)) for v, label in LivingSituation.choices],
        "category": [(v, str(label)) for v, label in ProblemCategory.choices],
        "severity": [(v, str(label)) for v, label in Severity.choices],
        "owner_kind": [(v, str(label)) for v, label in OwnerKind.choices],
    }


@require(Perm.VISIT_RECORD)
@ensure_csrf_cookie
def mobile_app(request: HttpRequest) -> HttpResponse:
    """The app shell. Holds no child's data, so the service worker may keep a copy for offline use."""
    today = timezone.localdate()
    config: dict[str, Any] = {
        "urls": {
            "due": reverse("api-v1:visit_due"),
            "children": reverse("api-v1:child_list"),
            "visits": reverse("api-v1:visit_create"),
            "key": reverse("web:mobile_key"),
            "sw": reverse("web:mobile_sw"),
            "scope": reverse("web:mobile_app"),
            "login": f"{reverse('web:login')}?next={reverse('web:mobile_app')}",
        },
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "max_photos": settings.MAX_VISIT_PHOTOS,
        "photo_max_edge": PHOTO_MAX_EDGE,
        "photo_target_bytes": min(PHOTO_TARGET_BYTES, settings.MAX_VISIT_PHOTO_BYTES),
        "max_age_days": settings.VISIT_MAX_AGE_DAYS,
        "retry_seconds": 30,
        "messages": _messages(),
    }
    context = {
        "config": config,
        "choices": _choices(),
        "yesno": [("true", _("Yes")), ("false", _("No"))],
        "tri": [("true", _("Yes")), ("false", _("No")), ("", _("Not noted"))],
        "today": today.isoformat(),
        "oldest": (today - dt.timedelta(days=settings.VISIT_MAX_AGE_DAYS)).isoformat(),
    }
    return render(request, "web/mobile/app.html", context)


@require(Perm.VISIT_RECORD)
@require_GET
def mobile_key(request: HttpRequest) -> JsonResponse:
    """The signed-in user's device key (base64). Never cached by the browser or any proxy."""
    key = device_key(request.user.pk)
    response = JsonResponse(
        {
            "key": base64.b64encode(key).decode(),
            "user": request.user.pk,
            "version": DEVICE_KEY_VERSION,
        }
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _read_static(path: str) -> bytes:
    """A static file's bytes from the source tree, or from STATIC_ROOT where only collected files exist."""
    found = finders.find(path)
    if found:
        with open(found, "rb") as fh:
            return fh.read()
    with staticfiles_storage.open(path) as fh:
        return bytes(fh.read())


def _build_sw() -> bytes:
    """The worker's source with the list of files to cache and a version that changes with any of them,
    so a new release replaces the old cache on the phones."""
    source = _read_static(SW_SOURCE)
    digest = hashlib.sha256(source)
    for asset in SHELL_ASSETS:
        digest.update(_read_static(asset))
    shell = reverse("web:mobile_app")
    header = {
        "version": digest.hexdigest()[:16],
        "shell": shell,
        "assets": [staticfiles_storage.url(a) for a in SHELL_ASSETS],
    }
    return b"const CARENET_SW = " + json.dumps(header).encode() + b";\n" + source


_cached_sw = lru_cache(maxsize=1)(_build_sw)


@require_GET
def mobile_sw(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /m/ so that its scope covers the app. Public: it holds no data,
    and a browser re-checks it for updates even when nobody is signed in."""
    body = _build_sw() if settings.DEBUG else _cached_sw()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("web:mobile_app")
    response["Cache-Control"] = "no-cache"
    return response
