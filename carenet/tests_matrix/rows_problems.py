"""Authorization-matrix rows for the problems routes (joined into ROWS by tests/test_authorization_matrix.py)."""

from __future__ import annotations

from carenet.tests_matrix.checks import Row

ROWS: list[Row] = []
