"""Ten retries of one visit arriving at the same time, each on its own database connection, store it once.

This needs a database that runs transactions side by side (PostgreSQL, as in production): SQLite serialises
every write on one file lock, so the race this test is about cannot happen there."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from carenet.accounts.services import token_issue
from carenet.visits.models import Visit, VisitPhoto

from .test_visits_api import b64, body, image, media_files

RETRIES = 10


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_retries_store_the_visit_once(personas, children):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrent writers need PostgreSQL; SQLite serialises writes (run with DATABASE_URL=postgres://…)"
        )
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
