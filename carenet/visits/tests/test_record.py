"""record_visit as a service: nothing half-written when the visit is refused late."""

from __future__ import annotations

import io
import uuid

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from carenet.core.errors import CarenetError
from carenet.problems.models import Problem
from carenet.visits import services
from carenet.visits.models import Visit, VisitPhoto


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, format="PNG")
    return out.getvalue()


def _files() -> list[str]:
    root = settings.MEDIA_ROOT / "visits"
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_problem_refused_late_leaves_no_visit_no_problem_and_no_photo_file(
    city, personas, children, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    data = services.VisitInput(
        client_id=uuid.uuid4(),
        child_id=children.own.pk,
        visited_on=timezone.localdate(),
        fields={"living": "good"},
        photos=[_png()],
        problems=[
            services.ProblemInput(
                category="health", severity="general", description="x", owner_kind="department"
            )
        ],
    )
    with pytest.raises(CarenetError) as err:
        services.record_visit(actor=personas.director_a, data=data, digest="d" * 64)
    assert err.value.field == "problems[0].owner_department"
    assert (Visit.objects.count(), VisitPhoto.objects.count(), Problem.objects.count()) == (0, 0, 0)
    assert _files() == []


def test_a_stored_visit_keeps_its_photo(city, personas, children, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = services.VisitInput(
        client_id=uuid.uuid4(), child_id=children.own.pk, visited_on=timezone.localdate(), photos=[_png()]
    )
    visit, created = services.record_visit(actor=personas.director_a, data=data, digest="d" * 64)
    assert created and len(_files()) == 1 and visit.photos.get().content_type == "image/png"
    again, created = services.record_visit(actor=personas.director_a, data=data, digest="d" * 64)
    assert (again.pk, created, len(_files())) == (visit.pk, False, 1)
    with pytest.raises(services.VisitConflict):
        services.record_visit(actor=personas.director_a, data=data, digest="e" * 64)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"location_accuracy": -1}, "location_accuracy"),
        ({"location_accuracy": 2**31}, "location_accuracy"),
        ({"location_accuracy": 12.5}, "location_accuracy"),
        ({"latitude": 91}, "latitude"),
        ({"living": "palace"}, "living"),
        ({"health": "x" * 301}, "health"),
    ],
)
def test_a_service_caller_gets_the_field_named_not_a_database_error(city, personas, children, fields, field):
    """The API's schema refuses these first; any other caller of the service gets the same clear error
    (a negative accuracy used to reach the database's CHECK and come back as a 500)."""
    data = services.VisitInput(
        client_id=uuid.uuid4(), child_id=children.own.pk, visited_on=timezone.localdate(), fields=fields
    )
    with pytest.raises(CarenetError) as err:
        services.record_visit(actor=personas.director_a, data=data, digest="d" * 64)
    assert err.value.field == field
    assert not Visit.objects.exists()
