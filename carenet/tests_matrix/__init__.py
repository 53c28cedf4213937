"""Machinery of the authorization matrix (tests/test_authorization_matrix.py): route discovery, the
fixed world of personas and targets with the expected visibility, and the per-row checks."""
