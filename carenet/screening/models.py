"""Screening (政策找人): other departments' lists, linked to the registry, turned into findings to review.

A department list is imported whole or not at all (DeptList + its ListRecords); the original file is kept,
encrypted, with its checksum. A screening run (a background job) links lists to the registry and applies the
rules; each rule's finding is keyed by what it is about (`key`), so a re-run finds the same finding again
instead of making a second one, and by the data behind it (`evidence_hash`), so a dismissed finding comes
back only when that data changes. Nothing here is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from carenet.core import crypto
from carenet.registry.models import Category, Child, FamilyMember

ID_PURPOSE = "id_number"


class ListKind(models.TextChoices):
    DEATH = "death", _("Deaths")
    HUKOU_CANCEL = "hukou_cancel", _("Household-register cancellations")
    PRISON_IN = "prison_in", _("Prison admissions")
    PRISON_OUT = "prison_out", _("Prison releases")
    REHAB = "rehab", _("Compulsory drug rehabilitation")
    DISABILITY = "disability", _("Disability certificates")
    DIBAO = "dibao", _("Minimum-living-allowance roll")
    SCHOOL = "school", _("School enrolment and dropouts")
    INSURANCE = "insurance", _("Medical-insurance enrolment")
    HOUSEHOLD = "household", _("Household-register extract")


class DeptList(models.Model):
    """One department list as imported: its kind and date, the original file (encrypted) and its checksum."""

    kind = models.CharField(_("kind"), max_length=20, choices=ListKind.choices)
    list_date = models.DateField(_("list date"))
    department = models.CharField(_("department"), max_length=100, blank=True)
    # Filed under the importer's division: the city's lists are the city's, a district's its own.
    division_code = models.CharField(max_length=12)
    original_name = models.CharField(_("file name"), max_length=200)
    stored_file = models.CharField(max_length=300)  # under MEDIA_ROOT, AES-GCM encrypted
    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64)
    size = models.PositiveBigIntegerField()
    row_count = models.PositiveIntegerField(_("rows"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = _("department list")
        verbose_name_plural = _("department lists")
        constraints = [
            models.UniqueConstraint(fields=["kind", "sha256", "division_code"], name="list_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.list_date}"


class ListRecord(models.Model):
    """One person of a department list, with the fields linkage compares and what the list says of them."""

    dept_list = models.ForeignKey(DeptList, on_delete=models.PROTECT, related_name="records")
    row = models.PositiveIntegerField()  # the row number in the file (the header is row 1)
    name = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    id_number_enc = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True)  # noqa: DJ001
    address = models.CharField(max_length=300, blank=True)
    event_date = models.DateField(null=True, blank=True)  # died, admitted, released, certified, enrolled …
    until = models.DateField(null=True, blank=True)  # expected release, certificate expiry …
    household_no = models.CharField(max_length=40, blank=True)
    relation = models.CharField(
        max_length=20, blank=True
    )  # relation to the head of the household (户主, 子 …)
    level = models.CharField(max_length=2, blank=True)  # disability level 1–4
    status = models.CharField(max_length=20, blank=True)  # school: enrolled / dropout; insurance: insured …
    detail = models.CharField(max_length=200, blank=True)  # cause, school, disability kind, …
    division_code = models.CharField(max_length=12, blank=True)  # when the list gives it

    class Meta:
        ordering = ["dept_list", "row"]
        constraints = [models.UniqueConstraint(fields=["dept_list", "row"], name="list_row_once")]

    def __str__(self) -> str:
        return f"{self.dept_list_id}:{self.row}"

    @cached_property
    def id_number(self) -> str:
        # Decrypted once per loaded record: a run reads it to link the list, to link it again as a household
        # extract or event list, and in the rules (age, routing). Records are never edited after the import.
        return crypto.decrypt(self.id_number_enc, purpose=ID_PURPOSE)


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScreeningRun(models.Model):
    """One screening job: which lists, for which division, how far it has got, and what it found."""

    division_code = models.CharField(max_length=12)
    lists = models.ManyToManyField(DeptList, related_name="runs", blank=True)
    state = models.CharField(_("state"), max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    stage = models.CharField(_("stage"), max_length=200, blank=True)
    done_steps = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=1)
    created = models.PositiveIntegerField(_("new findings"), default=0)
    reopened = models.PositiveIntegerField(_("findings back after a change"), default=0)
    unchanged = models.PositiveIntegerField(_("findings found again"), default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("screening run")
        verbose_name_plural = _("screening runs")
        indexes = [models.Index(fields=["state", "id"], name="run_state")]

    def __str__(self) -> str:
        return f"run {self.pk} {self.state}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done_steps / max(self.total_steps, 1)))


class Rule(models.TextChoices):
    PARENT_DIED = "parent_died", _("A parent died")
    PARENT_IMPRISONED = "parent_imprisoned", _("A parent imprisoned")
    PARENT_REHAB = "parent_rehab", _("A parent in compulsory rehabilitation")
    PARENT_RELEASED = "parent_released", _("A parent released")
    PARENT_DISABLED = "parent_disabled", _("A parent certified severely disabled")
    CHILD_DIED = "child_died", _("A registered child died")
    AGED_OUT = "aged_out", _("A registered child turned 18")
    DIBAO_CHILD = "dibao_child", _("A child of a minimum-allowance family not registered")
    NEW_CANDIDATE = "new_candidate", _("A child not registered whose parents now qualify")
    DUPLICATE_CHILD = "duplicate_child", _("The same child registered twice")
    PAID_TWICE = "paid_twice", _("A child paid twice for a month")
    PARENT_ALIVE = "parent_alive", _("A registered orphan's parent appears alive")
    SCHOOL_DROPOUT = "school_dropout", _("A registered child dropped out of school")


class FindingState(models.TextChoices):
    OPEN = "open", _("To review")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Finding(models.Model):
    """Something a rule found, routed to the district (and street) of the child, to confirm or dismiss."""

    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices)
    # What the finding is about, stable across runs (rule, child or person, list person): one row per key.
    key = models.CharField(max_length=200)
    # A hash of the data behind it: when it changes, a dismissed finding comes back.
    evidence_hash = models.CharField(max_length=64)
    division_code = models.CharField(max_length=12)
    child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.PROTECT, related_name="findings")
    member = models.ForeignKey(
        FamilyMember, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    record = models.ForeignKey(
        ListRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    # The second list record, when it takes two (the candidate child of a household extract).
    other_record = models.ForeignKey(
        ListRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    other_child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposal = models.CharField(_("proposed action"), max_length=30)
    # The category proposed (or concerned).
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    probability = models.FloatField(_("link probability"), null=True, blank=True)
    reason = models.CharField(_("why"), max_length=300, blank=True)  # the linkage's reason (Chinese)
    evidence = models.JSONField(
        default=dict
    )  # what the rule saw: dates, statuses, list names (no ID numbers)
    state = models.CharField(
        _("state"), max_length=10, choices=FindingState.choices, default=FindingState.OPEN
    )
    first_run = models.ForeignKey(ScreeningRun, null=True, on_delete=models.SET_NULL, related_name="+")
    last_run = models.ForeignKey(ScreeningRun, null=True, on_delete=models.SET_NULL, related_name="+")
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("reason given"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)  # what confirming did
    application = models.ForeignKey(
        "benefits.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    problem = models.ForeignKey(
        "problems.Problem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        constraints = [models.UniqueConstraint(fields=["key"], name="finding_once")]
        indexes = [
            models.Index(
                fields=["division_code", "state"],
                name="finding_div",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.key}"
