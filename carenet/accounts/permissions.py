"""Named permissions and the one table that says which role holds which.

Jurisdiction (which children) is decided in jurisdiction.py; this module only decides *what* a role
may do with the children it can see.
"""

from __future__ import annotations

from enum import StrEnum

from carenet.accounts.models import Role, User


class Perm(StrEnum):
    CHILD_VIEW = "child.view"
    CHILD_CREATE = "child.create"
    CHILD_EDIT = "child.edit"
    CHILD_ARCHIVE = "child.archive"
    CHILD_EXPORT = "child.export"
    CHILD_VIEW_FULL_ID = "child.view_full_id"  # see unmasked ID numbers
    CATEGORY_MANAGE = "category.manage"  # open/close category memberships (the approver)
    DOCUMENT_UPLOAD = "document.upload"
    DIVISION_VIEW = "division.view"
    DIVISION_IMPORT = "division.import"
    AUDIT_VIEW = "audit.view"
    CASELOAD_MANAGE = "caseload.manage"  # assign social workers to children
    USER_MANAGE = "user.manage"  # create, deactivate, unlock accounts under one's division


_WRITE = {Perm.CHILD_CREATE, Perm.CHILD_EDIT, Perm.CHILD_ARCHIVE, Perm.DOCUMENT_UPLOAD}
_READ = {Perm.CHILD_VIEW, Perm.DIVISION_VIEW}

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.CITY_ADMIN: frozenset(Perm),
    Role.DISTRICT_SPECIALIST: frozenset(
        _READ
        | _WRITE
        | {
            Perm.CHILD_EXPORT,
            Perm.CHILD_VIEW_FULL_ID,
            Perm.CATEGORY_MANAGE,
            Perm.CASELOAD_MANAGE,
            Perm.USER_MANAGE,
        }
    ),
    Role.STREET_SUPERVISOR: frozenset(_READ | _WRITE | {Perm.CHILD_EXPORT}),
    # Directors register and update children of their village; ID numbers stay masked on screen
    # (they type them in, they do not need to read them back).
    Role.VILLAGE_DIRECTOR: frozenset(_READ | _WRITE),
    Role.SOCIAL_WORKER: frozenset({Perm.CHILD_VIEW, Perm.DOCUMENT_UPLOAD}),
    Role.CHARITY_STAFF: frozenset({Perm.DIVISION_VIEW}),
    Role.AUDITOR: frozenset(_READ | {Perm.AUDIT_VIEW, Perm.CHILD_EXPORT}),
}


def has_perm(user: User, perm: Perm) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return perm in ROLE_PERMS.get(user.role, frozenset())
