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
    VISIT_RECORD = "visit.record"  # record a home visit for a child one can see
    VISIT_REVIEW = "visit.review"  # supervise visits: mark checked, send back, sample
    VISIT_RULES = "visit.rules"  # set visit frequencies (city defaults; a district's overrides)
    PROBLEM_HANDLE = "problem.handle"  # act on problems found: notes, progress, resolve, verify, close
    APPLICATION_FILE = "application.file"  # file an application (or an ending) for a category and its support
    APPLICATION_DECIDE = (
        "application.decide"  # take the step of one's level: check, review, approve; return, reject
    )
    BENEFIT_VIEW = "benefit.view"  # enrolments, payroll batches, the ledger and its proof (accounts masked)
    BENEFIT_SUSPEND = "benefit.suspend"  # suspend or resume a child's payments (a district decision)
    BANK_ACCOUNT_EDIT = "bank_account.edit"  # record the account an allowance is paid into
    STANDARD_MANAGE = "standard.manage"  # set benefit standards (city-wide; a district's own)
    PAYROLL_PREPARE = "payroll.prepare"  # generate a district's batch and mark it reviewed
    PAYROLL_APPROVE = "payroll.approve"  # approve a reviewed batch (not the person who reviewed it)
    PAYROLL_EXPORT = (
        "payroll.export"  # write the bank file (full account numbers) and import the bank's return
    )
    SCREENING_VIEW = "screening.view"  # see the findings of screening (政策找人) for one's division
    SCREENING_IMPORT = "screening.import"  # import department lists and run screening
    SCREENING_REVIEW = "screening.review"  # confirm or dismiss findings (confirming may file an application)


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
            Perm.VISIT_RECORD,
            Perm.VISIT_REVIEW,
            Perm.VISIT_RULES,
            Perm.PROBLEM_HANDLE,
            Perm.APPLICATION_DECIDE,
            Perm.BENEFIT_VIEW,
            Perm.BENEFIT_SUSPEND,
            Perm.PAYROLL_APPROVE,
            Perm.SCREENING_VIEW,
            Perm.SCREENING_IMPORT,
            Perm.SCREENING_REVIEW,
        }
    ),
    # Finance prepares and sends the payroll; the specialist approves it (two people for every batch).
    Role.DISTRICT_FINANCE: frozenset(
        {
            Perm.CHILD_VIEW,
            Perm.DIVISION_VIEW,
            Perm.BENEFIT_VIEW,
            Perm.BANK_ACCOUNT_EDIT,
            Perm.STANDARD_MANAGE,
            Perm.PAYROLL_PREPARE,
            Perm.PAYROLL_EXPORT,
        }
    ),
    Role.STREET_SUPERVISOR: frozenset(
        _READ
        | _WRITE
        | {
            Perm.CHILD_EXPORT,
            Perm.VISIT_RECORD,
            Perm.VISIT_REVIEW,
            Perm.PROBLEM_HANDLE,
            Perm.APPLICATION_DECIDE,
            Perm.BENEFIT_VIEW,
            Perm.SCREENING_VIEW,
        }
    ),
    # Directors register and update children of their village; ID numbers stay masked on screen
    # (they type them in, they do not need to read them back).
    Role.VILLAGE_DIRECTOR: frozenset(
        _READ
        | _WRITE
        | {
            Perm.VISIT_RECORD,
            Perm.PROBLEM_HANDLE,
            Perm.APPLICATION_FILE,
            Perm.APPLICATION_DECIDE,
            Perm.BENEFIT_VIEW,
            Perm.BANK_ACCOUNT_EDIT,
        }
    ),
    Role.SOCIAL_WORKER: frozenset({Perm.CHILD_VIEW, Perm.DOCUMENT_UPLOAD, Perm.VISIT_RECORD}),
    Role.CHARITY_STAFF: frozenset({Perm.DIVISION_VIEW}),
    Role.AUDITOR: frozenset(
        _READ | {Perm.AUDIT_VIEW, Perm.CHILD_EXPORT, Perm.BENEFIT_VIEW, Perm.SCREENING_VIEW}
    ),
}


def has_perm(user: User, perm: Perm) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return perm in ROLE_PERMS.get(user.role, frozenset())
