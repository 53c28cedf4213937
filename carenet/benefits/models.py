"""Determination (applications), programmes and standards, enrolments, payroll batches and the payment ledger.

Money is Decimal everywhere (DecimalField, two places). Months are the first day of the month.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carenet.core import crypto
from carenet.registry.models import Category, Child, ChildDocument

BANK_PURPOSE = "bank_account"
MONEY = {"max_digits": 12, "decimal_places": 2}


class Programme(models.TextChoices):
    BASIC_LIVING = "basic_living", _("Basic living allowance")
    MEDICAL_PREMIUM = "medical_premium", _("Medical-insurance premium subsidy")
    EDUCATION_GRANT = "education_grant", _("Education grant")
    HOLIDAY = "holiday", _("Holiday condolence money")


class Periodicity(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")
    CAMPAIGN = "campaign", _("Campaign (one payment)")


@dataclass(frozen=True)
class ProgrammeSpec:
    periodicity: str
    categories: frozenset[str]
    # Campaign money goes to whoever is enrolled in this programme in the campaign month.
    via: str | None = None
    # Paid into a bank account (the premium subsidy is settled with the medical-insurance bureau instead).
    needs_account: bool = True


_ORPHANS = frozenset({Category.ORPHAN_SCATTERED, Category.ORPHAN_INSTITUTIONAL})
_LIVING = _ORPHANS | {Category.DE_FACTO_UNSUPPORTED, Category.POOR_FAMILY}

# Which categories each programme serves (民政部 basic-living-allowance policy for orphans and de-facto
# unsupported children; the medical-insurance premium subsidy is for orphans).
PROGRAMMES: dict[str, ProgrammeSpec] = {
    Programme.BASIC_LIVING: ProgrammeSpec(Periodicity.MONTHLY, _LIVING),
    Programme.MEDICAL_PREMIUM: ProgrammeSpec(Periodicity.YEARLY, _ORPHANS, needs_account=False),
    Programme.EDUCATION_GRANT: ProgrammeSpec(Periodicity.YEARLY, _LIVING),
    Programme.HOLIDAY: ProgrammeSpec(Periodicity.CAMPAIGN, _LIVING, via=Programme.BASIC_LIVING),
}

# De-facto unsupported children are paid at the scattered-orphan standard (民发〔2019〕62号).
STANDARD_CATEGORY = {Category.DE_FACTO_UNSUPPORTED: Category.ORPHAN_SCATTERED}


class Standard(models.Model):
    """An amount per month (monthly programmes) or per payment, for one programme and category, city-wide
    (district_code "") or for one district, in force over [valid_from, valid_to]. Never edited: a change
    closes the row in force and opens a new one, so past payments keep the amount they were made at."""

    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices, blank=True)
    district_code = models.CharField(_("district"), max_length=6, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    valid_from = models.DateField(_("from month"))
    valid_to = models.DateField(_("to month"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["programme", "category", "district_code", "-valid_from"]
        verbose_name = _("standard")
        verbose_name_plural = _("standards")
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "category", "district_code"],
                condition=Q(valid_to__isnull=True),
                name="one_open_standard",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="standard_amount_positive"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="standard_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme}/{self.category}/{self.district_code or '*'} {self.amount}"


class EndReason(models.TextChoices):
    AGED_OUT = "aged_out", _("Turned 18")
    DECEASED = "deceased", _("Deceased")
    ARCHIVED = "archived", _("Record archived")
    CATEGORY_ENDED = "category_ended", _("Left the category")
    MOVED = "moved", _("Moved to another district")
    PARENT_RETURNED = "parent_returned", _("Parent released or recovered")
    MOVED_AWAY = "moved_away", _("Moved out of the city")
    OTHER = "other", _("Other")


class Enrolment(models.Model):
    """A child's entitlement to one programme, paid by one district from start_month to end_month.

    A move to another district ends the segment in the move month and opens one in the new district from
    the next month (the new district pays from the next month); division_code is the child's village,
    kept current while the child stays in the district."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="enrolments")
    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    division_code = models.CharField(max_length=12)
    start_month = models.DateField(_("first month"))
    end_month = models.DateField(_("last month"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=20, choices=EndReason.choices, blank=True)
    end_note = models.CharField(_("end note"), max_length=300, blank=True)
    application = models.ForeignKey(
        "Application", null=True, blank=True, on_delete=models.PROTECT, related_name="enrolments"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_month", "-id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        indexes = [
            models.Index(
                fields=["division_code", "programme"],
                name="enrolment_div",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "programme"], condition=Q(end_month__isnull=True), name="one_open_enrolment"
            ),
            models.CheckConstraint(
                condition=Q(end_month__isnull=True) | Q(end_month__gte=models.F("start_month")),
                name="enrolment_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.programme} {self.start_month}–{self.end_month or ''}"

    @property
    def district_code(self) -> str:
        return self.division_code[:6]


class Suspension(models.Model):
    """A district's decision to stop paying an enrolment for a while (e.g. the child's situation is being
    re-checked); months inside it are not owed. Lifting it sets to_month; nothing is deleted."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="suspensions")
    from_month = models.DateField(_("from month"))
    to_month = models.DateField(_("to month"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-from_month"]
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.from_month}–{self.to_month or ''}"


class BankAccount(models.Model):
    """Where a child's allowance is paid (the child's or the guardian's account). Encrypted at rest; the
    last four digits are kept apart so screens can show a masked account without decrypting."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="bank_accounts")
    holder_name = models.CharField(_("account holder"), max_length=60)
    bank_name = models.CharField(_("bank"), max_length=100)
    account_enc = models.TextField(editable=False)
    account_last4 = models.CharField(max_length=4, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-active", "-id"]
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        constraints = [
            models.UniqueConstraint(fields=["child"], condition=Q(active=True), name="one_active_account")
        ]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.masked}"

    @property
    def number(self) -> str:
        return crypto.decrypt(self.account_enc, purpose=BANK_PURPOSE)

    def set_number(self, number: str) -> None:
        self.account_enc = crypto.encrypt(number, purpose=BANK_PURPOSE)
        self.account_last4 = number[-4:]

    @property
    def masked(self) -> str:
        return mask_account(self.account_last4)


def mask_account(last4: str) -> str:
    return f"**** **** **** {last4}" if last4 else ""


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")
    EXPORTED = "exported", _("Exported to the bank")
    RECONCILED = "reconciled", _("Reconciled")


class PayrollBatch(models.Model):
    """One district's payment run for one programme and period (a month; January for yearly programmes; the
    campaign month for a campaign). Unique: generating it again finds this batch."""

    district_code = models.CharField(_("district"), max_length=6)
    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices)
    period = models.DateField(_("period"))
    title = models.CharField(_("title"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    beneficiaries = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(default=0, **MONEY)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    reconciled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reconciled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period", "district_code", "programme"]
        verbose_name = _("payroll batch")
        verbose_name_plural = _("payroll batches")
        constraints = [
            models.UniqueConstraint(
                fields=["district_code", "programme", "period"], name="one_batch_per_period"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="batch_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.district_code} {self.programme} {self.period:%Y-%m}"


class LineStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    EXPORTED = "exported", _("Sent to the bank")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed (reissued next batch)")
    CANCELLED = "cancelled", _("Cancelled")


# A line in one of these states is money paid or on its way: the child-month is not owed again.
LIVE_STATUSES = (LineStatus.APPROVED, LineStatus.EXPORTED, LineStatus.PAID)


class LineKind(models.TextChoices):
    REGULAR = "regular", _("Regular")
    ARREARS = "arrears", _("Arrears")
    REISSUE = "reissue", _("Reissue of a failed payment")


class PaymentLine(models.Model):
    """The ledger: one child, one programme, one month (or period) owed, one amount, in one batch.

    Lines are never deleted once their batch is approved; a failed payment stays as failed and the month is
    paid again by a reissue line in a later batch."""

    batch = models.ForeignKey(PayrollBatch, on_delete=models.PROTECT, related_name="lines")
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="payments")
    enrolment = models.ForeignKey(
        Enrolment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    month = models.DateField(_("month paid for"))
    amount = models.DecimalField(_("amount"), **MONEY)
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices, default=LineKind.REGULAR)
    status = models.CharField(
        _("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.DRAFT
    )
    district_code = models.CharField(max_length=6)
    division_code = models.CharField(max_length=12)
    # Filled when the bank file is written: the ledger records where the money was sent.
    payee_name = models.CharField(_("payee"), max_length=60, blank=True)
    account_enc = models.TextField(blank=True, editable=False)
    account_last4 = models.CharField(max_length=4, blank=True, editable=False)
    failure_reason = models.CharField(_("bank's reason"), max_length=200, blank=True)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "division_code", "child_id", "month"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["child", "programme", "month"], name="line_child_month"),
            models.Index(fields=["district_code", "month"], name="line_district_month"),
            models.Index(fields=["batch", "status"], name="line_batch_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.programme} {self.month:%Y-%m} {self.amount}"

    @property
    def account_masked(self) -> str:
        return mask_account(self.account_last4)

    @property
    def account_number(self) -> str:
        return crypto.decrypt(self.account_enc, purpose=BANK_PURPOSE) if self.account_enc else ""


class StopReason(models.TextChoices):
    AGED_OUT = "aged_out", _("Turned 18")
    ARCHIVED = "archived", _("Record archived")
    CATEGORY_ENDED = "category_ended", _("No longer in the category")
    MOVED = "moved", _("Moved to another district")
    SUSPENDED = "suspended", _("Suspended by the district")
    ENDED = "ended", _("Enrolment ended")
    NO_STANDARD = "no_standard", _("No standard in force")
    NO_ACCOUNT = "no_account", _("No bank account on record")


class PayrollStop(models.Model):
    """A child enrolled in the batch's district who is not paid for the batch's period, and why: the automatic
    stops are shown, never applied silently."""

    batch = models.ForeignKey(PayrollBatch, on_delete=models.CASCADE, related_name="stops")
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=StopReason.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    division_code = models.CharField(max_length=12)

    class Meta:
        ordering = ["batch_id", "reason", "child_id"]
        constraints = [models.UniqueConstraint(fields=["batch", "enrolment"], name="one_stop_per_enrolment")]

    def __str__(self) -> str:
        return f"{self.child_id} {self.reason}"


class ApplicationKind(models.TextChoices):
    OPEN = "open", _("Enter a category and its support")
    END = "end", _("End a category and its support")


class ApplicationStatus(models.TextChoices):
    FILED = "filed", _("Filed")
    CHECKED = "checked", _("Checked by the village")
    REVIEWED = "reviewed", _("Reviewed by the street")
    APPROVED = "approved", _("Approved by the district")
    RETURNED = "returned", _("Sent back")
    REJECTED = "rejected", _("Rejected")


class Application(models.Model):
    """An application for (or to end) a category and its support, moved step by step by the right role at the
    right level: filed → village check (查验) → street review (审核) → district approval (确认)."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="applications")
    kind = models.CharField(
        _("kind"), max_length=5, choices=ApplicationKind.choices, default=ApplicationKind.OPEN
    )
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    # OPEN: the first month paid. END: the last month paid.
    effective_month = models.DateField(_("effective month"))
    end_reason = models.CharField(_("end reason"), max_length=20, choices=EndReason.choices, blank=True)
    reason = models.TextField(_("circumstances"))
    status = models.CharField(
        _("status"), max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.FILED
    )
    division_code = models.CharField(max_length=12)
    source = models.CharField(_("source"), max_length=30, blank=True)  # "", "screening", "payroll"
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(
                fields=["division_code", "status"],
                name="application_div",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.kind} {self.category} {self.status}"


class ApplicationStep(models.Model):
    """One move of an application: who, when, from which state to which, and their comment."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="steps")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class ApplicationEvidence(models.Model):
    """A document of the child's file attached to an application as evidence, at a given step."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="evidence")
    document = models.ForeignKey(ChildDocument, on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey(
        ApplicationStep, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "document"], name="evidence_once")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.document_id}"
