"""Home visits: the rules that say how often, each child's schedule, and the visits themselves.

A visit is stored exactly once per `client_id` (a UUID the recording device makes before it first tries to
send): replays of the same body find the stored visit, a different body under the same id is refused.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from carenet.registry.models import Category, Child


class Interval(models.IntegerChoices):
    WEEKLY = 7, _("Every week")
    FORTNIGHTLY = 14, _("Every two weeks")
    MONTHLY = 30, _("Every month")
    BIMONTHLY = 60, _("Every two months")
    QUARTERLY = 90, _("Every quarter")
    HALF_YEARLY = 182, _("Every half year")
    YEARLY = 365, _("Every year")


class VisitRule(models.Model):
    """How often children of one category are visited: city-wide (district_code "") or a district's override.

    Rules are never edited in place: a change closes the rule in force (valid_to) and opens a new one, so
    the history of who set which frequency when is the table itself."""

    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    district_code = models.CharField(_("district"), max_length=6, blank=True, default="")
    interval_days = models.PositiveSmallIntegerField(_("visit frequency"), choices=Interval.choices)
    valid_from = models.DateTimeField(_("in force from"), auto_now_add=True)
    valid_to = models.DateTimeField(_("in force until"), null=True, blank=True)
    note = models.CharField(_("reason for the change"), max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["category", "district_code", "-valid_from"]
        verbose_name = _("visit rule")
        verbose_name_plural = _("visit rules")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "district_code"],
                condition=models.Q(valid_to__isnull=True),
                name="one_rule_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.get_interval_days_display()}"


class VisitSchedule(models.Model):
    """One row per active child that some rule says must be visited: when it is next due.

    Derived data, kept current by visits.schedule.refresh() whenever a visit is stored, a category opens or
    closes, a child moves, is archived or restored, or a rule changes. Work lists and rollups read only this
    table, so they cost one index range per division whatever the number of past visits."""

    child = models.OneToOneField(Child, primary_key=True, on_delete=models.CASCADE, related_name="schedule")
    division_code = models.CharField(max_length=12)
    interval_days = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=30)  # the category whose rule sets the next due date
    last_visit_on = models.DateField(null=True, blank=True)
    next_due_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # Every work list is ordered (next_due_on, child_id): with child_id last in each index, a page of
            # "due soon" stops after its rows instead of walking every child due on the first day (400 ms
            # for the city at 1M children with next_due_on alone).
            models.Index(fields=["next_due_on", "child"], name="sched_due"),
            models.Index(
                fields=["division_code", "next_due_on", "child"],
                name="sched_div_due",
                opclasses=["varchar_pattern_ops", "date_ops", "int8_ops"],
            ),
            models.Index(Substr("division_code", 1, 6), "next_due_on", "child", name="sched_district_due"),
            models.Index(Substr("division_code", 1, 9), "next_due_on", "child", name="sched_street_due"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} due {self.next_due_on}"


class VisitTally(models.Model):
    """How many scheduled children each street has per due date, visited before or never: the work-list
    counts and rollups of a street and above, read without scanning a schedule row per child.

    Kept by the database itself: triggers on VisitSchedule (migration 0006) append every change to
    VisitTallyChange, and `visits.tally.compact()` folds those changes in here. The counts of a street are
    the rows of both tables under it; `carenet visit_tally check` compares them with the schedule."""

    street_code = models.CharField(max_length=9)  # the first nine digits of the children's village code
    next_due_on = models.DateField()
    visited = models.BooleanField()  # False: never visited (VisitSchedule.last_visit_on is null)
    children = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["street_code", "next_due_on", "visited"], name="tally_key"),
        ]

    def __str__(self) -> str:
        return f"{self.street_code} {self.next_due_on} {self.visited}: {self.children}"


class VisitTallyChange(models.Model):
    """One change to VisitTally, appended by the schedule's triggers (a street, due date and visited state
    gained or lost `children`): appending never waits for another writer, so phones posting visits for
    the same street at once do not queue on a shared counter row."""

    id = models.BigAutoField(primary_key=True)
    street_code = models.CharField(max_length=9)
    next_due_on = models.DateField()
    visited = models.BooleanField()
    children = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.street_code} {self.next_due_on} {self.visited}: {self.children:+d}"


class LivingSituation(models.TextChoices):
    GOOD = "good", _("Good")
    ADEQUATE = "adequate", _("Adequate")
    DIFFICULT = "difficult", _("Difficult")
    UNSAFE = "unsafe", _("Unsafe")


class ReviewState(models.TextChoices):
    PENDING = "pending", _("Not yet reviewed")
    CHECKED = "checked", _("Checked")
    RETURNED = "returned", _("Sent back")


class Visit(models.Model):
    client_id = models.UUIDField(unique=True, editable=False)
    # No index of their own on child and recorded_by: visit_child_day and visit_recorder_day start with them
    # (every index is one more write for each visit posted).
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="visits", db_index=False)
    # The child's village; follows the child when it moves so the new village's staff see its history.
    division_code = models.CharField(max_length=12, editable=False)
    visited_on = models.DateField(_("visit date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    received_at = models.DateTimeField(auto_now_add=True)
    body_hash = models.CharField(max_length=64, editable=False)  # SHA-256 of the canonical request body

    met_child = models.BooleanField(_("met the child"), default=True)
    met_guardian = models.BooleanField(_("met the guardian"), default=False)
    met_others = models.CharField(_("others met"), max_length=100, blank=True)
    living = models.CharField(
        _("living situation"), max_length=10, choices=LivingSituation.choices, blank=True, default=""
    )
    living_note = models.CharField(_("living situation notes"), max_length=300, blank=True)
    guardian_present = models.BooleanField(_("guardian present"), null=True, blank=True)
    guardian_capable = models.BooleanField(_("guardian able to care"), null=True, blank=True)
    guardianship_change = models.CharField(_("change in guardianship"), max_length=300, blank=True)
    school_enrolled = models.BooleanField(_("enrolled in school"), null=True, blank=True)
    school_attending = models.BooleanField(_("attending school"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=30, blank=True)
    dropout_risk = models.BooleanField(_("at risk of dropping out"), default=False)
    health = models.CharField(_("health"), max_length=300, blank=True)
    safety_concern = models.CharField(_("safety concerns"), max_length=300, blank=True)
    needs = models.CharField(_("needs"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_accuracy = models.PositiveIntegerField(null=True, blank=True)  # metres

    due_on = models.DateField(null=True, blank=True, editable=False)  # the due date in force when recorded
    on_time = models.BooleanField(default=True, editable=False)

    review_state = models.CharField(
        _("review"), max_length=10, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.CharField(_("review comment"), max_length=300, blank=True)

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [
            models.Index(fields=["child", "visited_on"], name="visit_child_day"),
            models.Index(
                fields=["division_code", "id"],
                name="visit_div_id",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(Substr("division_code", 1, 6), "id", name="visit_district_id"),
            models.Index(Substr("division_code", 1, 9), "id", name="visit_street_id"),
            models.Index(fields=["recorded_by", "visited_on"], name="visit_recorder_day"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.visited_on}"


class VisitPhoto(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="photos")
    file = models.FileField(upload_to="visits/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["visit", "position"]

    def __str__(self) -> str:
        return self.file.name
