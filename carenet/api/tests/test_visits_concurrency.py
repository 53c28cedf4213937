"""Ten retries of one visit arriving at the same time, each on its own database connection, store it once.

On PostgreSQL the transactions run side by side and the unique index decides; on SQLite (a file, as in the
embedded setup) the writers queue on the database's one write lock, and every retry that read "not stored yet"
before the first one committed must still end as a replay."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from carenet.accounts.services import token_issue
from carenet.visits.models import Visit, VisitPhoto

from .test_visits_api import b64, body, image, media_files

RETRIES = 10


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_retries_store_the_visit_once(personas, children):
    token = token_issue(user=personas.director_a)
    sent = json.dumps(body(children.own, photos=[b64(image())]))
    start = threading.Barrier(RETRIES)

    def send(_: int) -> tuple[int, int]:
        try:
            client = Client(headers={"Authorization": f"Bearer {token}"})
            start.wait(timeout=30)
            response = client.post("/api/v1/visits/", sent, content_type="application/json")
            return response.status_code, response.json().get("id")
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=RETRIES) as pool:
        answers = list(pool.map(send, range(RETRIES)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (RETRIES - 1) + [201], answers
    assert len({visit_id for _, visit_id in answers}) == 1
    assert Visit.objects.count() == 1 and VisitPhoto.objects.count() == 1
    assert len(media_files()) == 1
