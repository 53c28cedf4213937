from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from carenet.core.pinyin import has_han


class DivisionLevel(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Town / street")
    VILLAGE = "village", _("Village / community")


# Official statistical division codes are hierarchical by construction: 2 (province-level city),
# 4 (prefecture city), 6 (county/district), 9 (town/street), 12 (village/community) digits, each
# code starting with its parent's. The code therefore *is* the materialized path, and "everything
# under X" is a prefix range scan on an indexed column.
LEVEL_BY_LENGTH = {
    2: DivisionLevel.CITY,
    4: DivisionLevel.CITY,
    6: DivisionLevel.DISTRICT,
    9: DivisionLevel.STREET,
    12: DivisionLevel.VILLAGE,
}


class Division(models.Model):
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Full name path for display ("天津市/津南区/双港镇"), kept with the row so lists need no joins.
    full_name = models.CharField(_("full name"), max_length=400, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        indexes = [
            models.Index(fields=["code"], name="division_code_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["level", "code"], name="division_level_code"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"),
                name="division_code_format",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class OrganisationKind(models.TextChoices):
    CITY_BUREAU = "city_bureau", _("City civil-affairs bureau")
    DISTRICT_BUREAU = "district_bureau", _("District civil-affairs bureau")
    RESCUE_CENTRE = "rescue_centre", _("Minor rescue & protection centre")
    STREET_OFFICE = "street_office", _("Street office / town government")
    VILLAGE_COMMITTEE = "village_committee", _("Village / community committee")
    SOCIAL_WORK_ORG = "social_work_org", _("Social-work organisation")
    WELFARE_INSTITUTION = "welfare_institution", _("Child welfare institution")
    CHARITY = "charity", _("Charity association")
    HOSPITAL = "hospital", _("Hospital")
    OTHER_DEPARTMENT = "other_department", _("Other department")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=OrganisationKind.choices)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="organisations")

    class Meta:
        ordering = ["division__code", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["division", "kind", "name"], name="organisation_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("City administrator")
    DISTRICT_SPECIALIST = "district_specialist", _("District child-work specialist")
    DISTRICT_FINANCE = "district_finance", _("District finance officer")
    STREET_SUPERVISOR = "street_supervisor", _("Street child supervisor")
    VILLAGE_DIRECTOR = "village_director", _("Village child director")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    CHARITY_STAFF = "charity_staff", _("Charity staff")
    AUDITOR = "auditor", _("Auditor (read-only)")


# The division level each role's place must have: a street supervisor sits on a street, etc.
ROLE_LEVEL = {
    Role.CITY_ADMIN: {DivisionLevel.CITY},
    Role.DISTRICT_SPECIALIST: {DivisionLevel.DISTRICT},
    Role.DISTRICT_FINANCE: {DivisionLevel.DISTRICT},
    Role.STREET_SUPERVISOR: {DivisionLevel.STREET},
    Role.VILLAGE_DIRECTOR: {DivisionLevel.VILLAGE},
    Role.SOCIAL_WORKER: {DivisionLevel.CITY, DivisionLevel.DISTRICT, DivisionLevel.STREET},
    Role.CHARITY_STAFF: {DivisionLevel.CITY, DivisionLevel.DISTRICT},
    Role.AUDITOR: {DivisionLevel.CITY, DivisionLevel.DISTRICT},
}


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    division = models.ForeignKey(
        Division, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_full_name(self) -> str:
        """Chinese order: family name first, no space (陆勇); Latin names keep "First Last"."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if has_han(first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    @property
    def division_code(self) -> str:
        return self.division.code if self.division_id else ""


class ApiToken(models.Model):
    """A device token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id}"


class LoginFailure(models.Model):
    """Failed sign-ins counted per username (not per IP: a village shares one mobile NAT address)."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username}: {self.failures}"
