from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from carenet.accounts.models import Division
from carenet.core import crypto, dates, idnumber

ID_PURPOSE = "id_number"


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class ChildStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class ArchiveReason(models.TextChoices):
    AGED_OUT = "aged_out", _("Turned 18")
    DECEASED = "deceased", _("Deceased")
    MOVED_AWAY = "moved_away", _("Moved out of the city")
    NO_LONGER_IN_DIFFICULTY = "resolved", _("No longer in difficulty")
    DUPLICATE = "duplicate", _("Duplicate record")
    OTHER = "other", _("Other")


class Category(models.TextChoices):
    ORPHAN_SCATTERED = "orphan_scattered", _("Orphan (scattered)")
    ORPHAN_INSTITUTIONAL = "orphan_institutional", _("Orphan (institutional)")
    DE_FACTO_UNSUPPORTED = "de_facto_unsupported", _("De-facto unsupported child")
    LEFT_BEHIND = "left_behind", _("Rural left-behind child")
    POOR_FAMILY = "poor_family", _("Child of a family in difficulty")
    DISABLED = "disabled", _("Disabled child")
    MIGRANT = "migrant", _("Migrant child")
    GUARDIANSHIP_LACKING = "guardianship_lacking", _("Guardianship missing or improper")


class DisabilityLevel(models.TextChoices):
    NONE = "", _("None")
    L1 = "1", _("Level 1 (most severe)")
    L2 = "2", _("Level 2")
    L3 = "3", _("Level 3")
    L4 = "4", _("Level 4")


class Household(models.Model):
    """A family as registered: the address and hukou number the children and guardians share."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="households")
    division_code = models.CharField(max_length=12, db_index=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    hukou_number = models.CharField(_("household register number"), max_length=30, blank=True)
    phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    low_income = models.BooleanField(_("minimum-living-allowance family"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        indexes = [
            models.Index(fields=["division_code"], name="household_div", opclasses=["varchar_pattern_ops"])
        ]

    def __str__(self) -> str:
        return self.address or f"#{self.pk}"


class Child(models.Model):
    name = models.CharField(_("name"), max_length=60)
    name_pinyin = models.CharField(max_length=120, editable=False)
    name_initials = models.CharField(max_length=30, editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True, default="汉族")
    # Encrypted at rest (core.crypto); found again through the keyed hash; one child per ID.
    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="children_registered")
    # Denormalised 12-digit village code: the jurisdiction prefix filter needs no join.
    division_code = models.CharField(max_length=12, editable=False)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address = models.CharField(_("current address"), max_length=300, blank=True)
    school = models.CharField(_("school"), max_length=120, blank=True)
    grade = models.CharField(_("grade"), max_length=30, blank=True)
    health = models.CharField(_("health"), max_length=300, blank=True)
    disability_kind = models.CharField(_("disability type"), max_length=60, blank=True)
    disability_level = models.CharField(
        _("disability level"), max_length=1, choices=DisabilityLevel.choices, blank=True, default=""
    )
    photo = models.ImageField(_("photo"), upload_to="photos/%Y/%m/", blank=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ChildStatus.choices, default=ChildStatus.ACTIVE
    )
    archive_reason = models.CharField(
        _("archive reason"), max_length=20, choices=ArchiveReason.choices, blank=True
    )
    archive_note = models.CharField(_("archive note"), max_length=300, blank=True)
    # The day the record was archived: benefits are paid through that month and no further.
    archived_on = models.DateField(_("archived on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("child")
        verbose_name_plural = _("children")
        indexes = [
            models.Index(
                fields=["division_code", "id"],
                name="child_div_id",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            # Newest-first within a district / street: equality on that part of the code lets PostgreSQL
            # walk (part, id) backwards and stop after one page; a LIKE prefix cannot keep id order across
            # villages and made it discard 600k rows for a district list at 1M children (2.5 s cold).
            models.Index(Substr("division_code", 1, 6), "id", name="child_district_id"),
            models.Index(Substr("division_code", 1, 9), "id", name="child_street_id"),
            models.Index(
                fields=["name_pinyin", "id"],
                name="child_pinyin",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(fields=["name_initials"], name="child_initials", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name"], name="child_name", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["birth_date"], name="child_birth"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_enc, purpose=ID_PURPOSE)

    def set_id_number(self, number: str | None) -> None:
        self.id_number_enc = crypto.encrypt(number, purpose=ID_PURPOSE)
        self.id_number_hash = crypto.blind_index(number, purpose=ID_PURPOSE)

    @property
    def id_number_masked(self) -> str:
        return idnumber.mask(self.id_number)

    def age_on(self, day: dt.date) -> int:
        return dates.age_on(self.birth_date, day)


class Relationship(models.TextChoices):
    FATHER = "father", _("Father")
    MOTHER = "mother", _("Mother")
    PATERNAL_GRANDFATHER = "p_grandfather", _("Paternal grandfather")
    PATERNAL_GRANDMOTHER = "p_grandmother", _("Paternal grandmother")
    MATERNAL_GRANDFATHER = "m_grandfather", _("Maternal grandfather")
    MATERNAL_GRANDMOTHER = "m_grandmother", _("Maternal grandmother")
    SIBLING = "sibling", _("Brother or sister")
    UNCLE_AUNT = "uncle_aunt", _("Uncle or aunt")
    STEP_PARENT = "step_parent", _("Step-parent")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    OTHER = "other", _("Other (non-relative)")


class PersonStatus(models.TextChoices):
    ALIVE = "alive", _("Alive and present")
    DECEASED = "deceased", _("Deceased")
    MISSING = "missing", _("Missing")
    IMPRISONED = "imprisoned", _("Imprisoned")
    REHAB = "rehab", _("In compulsory drug rehabilitation")
    SEVERELY_DISABLED = "severely_disabled", _("Severely disabled")
    SERIOUSLY_ILL = "seriously_ill", _("Seriously ill")
    MIGRANT_WORKER = "migrant_worker", _("Working away from home")
    UNKNOWN = "unknown", _("Unknown")


class FamilyMember(models.Model):
    """A parent, guardian or other relative of one child, with the status that matters for eligibility."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("name"), max_length=60)
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    is_guardian = models.BooleanField(_("guardian"), default=False)
    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True, editable=False)  # noqa: DJ001 - NULL: no ID
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PersonStatus.choices, default=PersonStatus.ALIVE
    )
    status_since = models.DateField(_("status since"), null=True, blank=True)
    status_until = models.DateField(_("status until (e.g. release date)"), null=True, blank=True)
    evidence_note = models.CharField(_("evidence"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_guardian", "id"]
        verbose_name = _("family member")
        verbose_name_plural = _("family members")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_enc, purpose=ID_PURPOSE)

    def set_id_number(self, number: str | None) -> None:
        self.id_number_enc = crypto.encrypt(number, purpose=ID_PURPOSE)
        self.id_number_hash = crypto.blind_index(number, purpose=ID_PURPOSE)


class CategoryMembership(models.Model):
    """A child's membership of one category for a time range. Never edited away: ending one closes it."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    end_reason = models.CharField(_("end reason"), max_length=300, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("category membership")
        verbose_name_plural = _("category memberships")
        indexes = [models.Index(fields=["category", "end_date"], name="category_open")]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "category"],
                condition=models.Q(end_date__isnull=True),
                name="one_open_membership",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="membership_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.start_date}–{self.end_date or ''}"

    @property
    def is_open(self) -> bool:
        return self.end_date is None


class DocumentKind(models.TextChoices):
    HUKOU = "hukou", _("Household register page")
    DEATH_CERT = "death_cert", _("Death certificate")
    DISABILITY_CERT = "disability_cert", _("Disability certificate")
    JUDGEMENT = "judgement", _("Court judgement / detention notice")
    MEDICAL = "medical", _("Medical record")
    SCHOOL = "school", _("School certificate")
    OTHER = "other", _("Other")


class ChildDocument(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(upload_to="documents/%Y/%m/")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.title


class Caseload(models.Model):
    """A social worker's assignment to a child: their only way to see a child."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="caseload")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="caseworkers")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "child"], condition=models.Q(ended_at__isnull=True), name="one_open_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.child_id}"
