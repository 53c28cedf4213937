"""Authorization-matrix rows for the phone app's routes (joined into ROWS by tests/test_authorization_matrix.py).

The app shell and the device key carry no child's data (children travel through the visits and children
API, which have their own rows); the service worker is public because browsers re-check it for updates
whether or not anyone is signed in, and it holds nothing but code and static file names."""

from __future__ import annotations

from carenet.accounts.permissions import Perm
from carenet.tests_matrix.checks import Kind, Row

ROWS: list[Row] = [
    Row("web:mobile_app", Kind.SIGNED_IN, perm=Perm.VISIT_RECORD),
    Row("web:mobile_key", Kind.SIGNED_IN, perm=Perm.VISIT_RECORD),
    Row("web:mobile_sw", Kind.PUBLIC),
]
