"""The small demo city the demo's tests read: built once per test module, rolled back afterwards."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """400 children, seed 7, inside a transaction that is rolled back afterwards. Yields the build's log."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            out = io.StringIO()
            err = io.StringIO()
            call_command("demo", children=400, seed=7, stdout=out, stderr=err)
            yield err.getvalue()
            transaction.set_rollback(True)
