"""Problems found (on a visit or otherwise) and supervised to resolution (督办).

A problem is never deleted. Every change of state, owner, level or deadline is a ProblemAction row (the
thread the page shows) and a ChangeLog row (the audit trail)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from carenet.registry.models import Child


class ProblemCategory(models.TextChoices):
    GUARDIANSHIP = "guardianship", _("Guardianship")
    SCHOOLING = "schooling", _("Schooling")
    HEALTH = "health", _("Health")
    SAFETY = "safety", _("Safety")
    LIVING = "living", _("Living conditions")
    BENEFITS = "benefits", _("Benefits")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    CRITICAL = "critical", _("Critical")


class ProblemState(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    VERIFIED = "verified", _("Verified by the director")
    CLOSED = "closed", _("Closed")


class OwnerKind(models.TextChoices):
    STREET = "street", _("Street / township")
    DEPARTMENT = "department", _("Department")
    GUARDIAN = "guardian", _("Guardian (through the director)")


class Level(models.IntegerChoices):
    STREET = 0, _("Street")
    DISTRICT = 1, _("District")
    CITY = 2, _("City")


class Problem(models.Model):
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="problems")
    visit = models.ForeignKey(
        "visits.Visit", null=True, blank=True, on_delete=models.PROTECT, related_name="problems"
    )
    division_code = models.CharField(max_length=12, editable=False)  # the child's village
    category = models.CharField(_("category"), max_length=20, choices=ProblemCategory.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("description"))
    owner_kind = models.CharField(
        _("owner"), max_length=12, choices=OwnerKind.choices, default=OwnerKind.STREET
    )
    owner_department = models.CharField(_("department"), max_length=100, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ProblemState.choices, default=ProblemState.OPEN
    )
    level = models.PositiveSmallIntegerField(_("supervised at"), choices=Level.choices, default=Level.STREET)
    deadline = models.DateField(_("deadline"))
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        indexes = [
            models.Index(fields=["state", "deadline"], name="problem_state_deadline"),
            models.Index(fields=["division_code", "state"], name="problem_div_state"),
            models.Index(Substr("division_code", 1, 6), "state", name="problem_district_state"),
            models.Index(Substr("division_code", 1, 9), "state", name="problem_street_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state not in (ProblemState.CLOSED,)


class ActionKind(models.TextChoices):
    RAISE = "raise", _("Raised")
    NOTE = "note", _("Note")
    START = "start", _("Work started")
    RESOLVE = "resolve", _("Marked resolved")
    VERIFY = "verify", _("Verified by the director")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Reopened")
    ESCALATE = "escalate", _("Escalated")
    ASSIGN = "assign", _("Owner changed")


class ProblemAction(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=10, choices=ActionKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: the system (automatic escalation)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    text = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.problem_id} {self.kind}"


class Notification(models.Model):
    """An in-app message to one person (and an e-mail where configured)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    problem = models.ForeignKey(Problem, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=300)  # no ID numbers; a child's name at most
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.text
