from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ENTITY_LABELS = {
    "child": _("Child"),
    "household": _("Household"),
    "member": _("Family member"),
    "category": _("Category"),
    "document": _("Document"),
    "caseload": _("Social worker assignment"),
    "user": _("Account"),
    "visit": _("Visit"),
    "visit_rule": _("Visit rule"),
    "problem": _("Problem"),
    "application": _("Application"),
    "enrolment": _("Benefit enrolment"),
    "standard": _("Benefit standard"),
    "bank_account": _("Bank account"),
    "payroll_batch": _("Payroll batch"),
    "payment_line": _("Payment"),
}
# Stored access details are short codes (never personal data); these are their readable names.
DETAIL_LABELS = {
    "full_id": _("full ID number shown"),
    "xlsx": _("Excel export"),
    "xlsx full_id": _("Excel export with full ID numbers"),
    "benefits": _("benefits and payments"),
    "payment proof": _("proof of full payment"),
    "api get": _("API read"),
    "api create": _("API create"),
    "api update": _("API update"),
    "api list": _("API list"),
    "api visit record": _("API: visit recorded"),
    "api visit replay": _("API: visit re-sent"),
    "api visits": _("API: visit list"),
    "api visit": _("API: one visit"),
    "api visit photo": _("API: visit photo"),
    "api visits due": _("API: visit work list"),
    "worklist": _("visit work list"),
    "visit review": _("visit review list"),
    "home": _("home page work list"),
}
# Details that carry a record number ("visit 12"): their readable form, the number filled in.
NUMBERED_DETAIL_LABELS = {
    "document": _("document %(n)s"),
    "visit": _("visit %(n)s"),
    "visit photo": _("visit photo %(n)s"),
    "problem": _("problem %(n)s"),
    "api problem": _("API: problem %(n)s"),
    "application": _("application %(n)s"),
    "payroll batch": _("payroll batch %(n)s"),
}


class ChangeLog(models.Model):
    """Append-only: who changed what on a child, household, family member or category, old -> new."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        ARCHIVE = "archive", _("Archived")
        RESTORE = "restore", _("Restored")
        DELETE = "delete", _("Removed")
        REVIEW = "review", _("Reviewed")
        FILE = "file", _("Filed")
        CHECK = "check", _("Checked")
        APPROVE = "approve", _("Approved")
        RETURN = "return", _("Sent back")
        REJECT = "reject", _("Rejected")
        RESUBMIT = "resubmit", _("Resubmitted")
        GENERATE = "generate", _("Generated")
        CONFIRM = "confirm", _("Confirmed")
        DISMISS = "dismiss", _("Dismissed")
        REOPEN = "reopen", _("Open again")
        IMPORT = "import", _("Imported")
        DOWNLOAD = "download", _("Downloaded")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    entity = models.CharField(max_length=30)  # "child", "household", "member", "category", "document"
    entity_id = models.BigIntegerField()
    child_id = models.BigIntegerField(null=True, db_index=True)
    # Kept for scoping the log itself: an auditor of a district sees only that district's changes.
    division_code = models.CharField(max_length=12, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    # {"field": [old, new]}; sensitive values are stored masked, never in clear.
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["division_code", "at"],
                name="changelog_div",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id} {self.action}"


class AccessLog(models.Model):
    """Append-only: every view or export of a child's file. Written *before* the data is shown."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Viewed file")
        API_VIEW = "api_view", _("Read through the API")
        EXPORT = "export", _("Exported")
        PHOTO = "photo", _("Opened photo")
        DOCUMENT = "document", _("Opened document")
        FULL_ID = "full_id", _("Saw full ID number")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    child_id = models.BigIntegerField(db_index=True)
    division_code = models.CharField(max_length=12, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["division_code", "at"],
                name="accesslog_div",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.kind} {self.child_id}"
