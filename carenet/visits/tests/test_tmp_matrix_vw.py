import pytest

from carenet.conftest import children, city, personas  # noqa: F401
from carenet.tests_matrix import rows_visits_web
from carenet.tests_matrix import world as w
from carenet.tests_matrix.checks import Callers, Kind, check_anonymous, check_persona
from carenet.tests_matrix.routes import all_routes


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(city, personas, children, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    return w.build_world(city, personas, children)


@pytest.mark.parametrize(
    "row",
    [r for r in rows_visits_web.ROWS if r.kind != Kind.STATIC],
    ids=lambda r: f"{r.method} {r.route} [{r.kind}]",
)
def test_rows(row, world):
    route = all_routes()[row.route]
    callers = Callers(world)
    problems = check_anonymous(callers, row, route, world)
    for persona in w.PERSONAS:
        problems += check_persona(callers, row, route, world, persona)
    assert not problems, "\n  ".join(problems)
