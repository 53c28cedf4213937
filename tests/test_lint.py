"""Lint and format are part of the test suite, so `./dev.sh test` (and CI) fail on them too."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    assert RUFF, "ruff is missing: it is a dev dependency in requirements.lock"
    return subprocess.run([RUFF, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_no_lint_errors():
    result = _ruff("check", "carenet", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted():
    result = _ruff("format", "--check", "carenet", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
