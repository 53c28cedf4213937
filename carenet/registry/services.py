"""Writes to the child registry. Every function is one transaction: it either all lands or nothing does."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from carenet.accounts.jurisdiction import division_in_scope, scope
from carenet.accounts.models import Division, DivisionLevel, Role, User
from carenet.accounts.permissions import Perm, has_perm
from carenet.audit import events
from carenet.core import idnumber, pinyin
from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.registry.models import (
    ArchiveReason,
    Caseload,
    Category,
    CategoryMembership,
    Child,
    ChildDocument,
    ChildStatus,
    FamilyMember,
    Household,
)
from carenet.registry.signals import child_changed

CHILD_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "address",
    "school",
    "grade",
    "health",
    "disability_kind",
    "disability_level",
    "notes",
)
MEMBER_FIELDS = (
    "name",
    "relationship",
    "is_guardian",
    "phone",
    "status",
    "status_since",
    "status_until",
    "evidence_note",
)
DOCUMENT_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/webp"}


def _log(
    actor: User,
    entity: str,
    entity_id: int,
    child_id: int | None,
    division_code: str,
    action: str,
    changes: dict[str, Any],
) -> None:
    """One append-only change row (audit.events); division_code scopes who may read it."""
    events.change_recorded(
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        child_id=child_id,
        division_code=division_code,
        action=action,
        changes=changes,
    )


def _require(actor: User, perm: Perm) -> None:
    if not has_perm(actor, perm):
        raise PermissionDeniedError(_("Your role may not do this."))


def _check_division(actor: User, division: Division) -> None:
    if division.level != DivisionLevel.VILLAGE:
        raise CarenetError(
            _("A child is registered under a village or community, not a %(level)s.")
            % {"level": division.get_level_display()},
            field="division",
        )
    if not division_in_scope(actor, division):
        raise CarenetError(_("This village is outside your jurisdiction."), field="division")


def identity_check(
    *, id_number: str, birth_date: dt.date | None, sex: str | None
) -> tuple[str, dt.date, str]:
    """Validate the ID number and make sure the birth date and sex typed in agree with it."""
    try:
        info = idnumber.parse(id_number)
    except idnumber.IdNumberError as exc:
        raise CarenetError(str(exc), field="id_number") from exc
    if birth_date and birth_date != info.birth_date:
        raise CarenetError(
            _("The birth date %(typed)s does not agree with the ID number, which says %(id)s.")
            % {"typed": birth_date.isoformat(), "id": info.birth_date.isoformat()},
            field="birth_date",
        )
    if sex and sex != info.sex:
        raise CarenetError(
            _("The sex does not agree with the ID number (17th digit: odd male, even female)."), field="sex"
        )
    return info.number, info.birth_date, info.sex


def _check_unique_id(number: str, *, actor: User, exclude_pk: int | None = None) -> None:
    from carenet.core import crypto
    from carenet.registry.models import ID_PURPOSE

    digest = crypto.blind_index(number, purpose=ID_PURPOSE)
    other = Child.objects.filter(id_number_hash=digest).exclude(pk=exclude_pk).first()
    if other is None:
        return
    if scope(actor, Child.objects.filter(pk=other.pk)).exists():
        raise CarenetError(
            _("A child with this ID number is already registered: %(name)s (record %(pk)s).")
            % {"name": other.name, "pk": other.pk},
            field="id_number",
        )
    raise CarenetError(
        _(
            "A child with this ID number is already registered in another area; ask the district bureau to transfer the record."
        ),
        field="id_number",
    )


def _name_keys(child: Child) -> None:
    child.name = pinyin.clean_name(child.name)
    if not child.name:
        raise CarenetError(_("The name is required."), field="name")
    child.name_pinyin = pinyin.name_key(child.name)
    child.name_initials = pinyin.name_initials(child.name)


def process_photo(upload: UploadedFile) -> ContentFile:
    """Check the upload really is an image, shrink it and re-encode as JPEG (this also drops EXIF GPS)."""
    if upload.size and upload.size > settings.MAX_PHOTO_BYTES:
        raise CarenetError(
            _("The photo is %(size)d KB; the limit is %(limit)d KB.")
            % {"size": upload.size // 1024, "limit": settings.MAX_PHOTO_BYTES // 1024},
            field="photo",
        )
    try:
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CarenetError(
            _("The photo is not a readable image (JPEG, PNG or WebP)."), field="photo"
        ) from exc
    image = image.convert("RGB")
    image.thumbnail((800, 800))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name="photo.jpg")


@transaction.atomic
def child_register(
    *,
    actor: User,
    division: Division,
    id_number: str = "",
    household: Household | None = None,
    household_address: str = "",
    household_phone: str = "",
    photo: UploadedFile | None = None,
    guardian: dict[str, Any] | None = None,
    **fields: Any,
) -> Child:
    _require(actor, Perm.CHILD_CREATE)
    _check_division(actor, division)
    unknown = set(fields) - set(CHILD_FIELDS)
    if unknown:
        raise TypeError(f"unknown child fields: {sorted(unknown)}")
    child = Child(division=division, division_code=division.code, created_by=actor, **fields)
    if id_number:
        number, birth, sex = identity_check(
            id_number=id_number, birth_date=child.birth_date, sex=child.sex or None
        )
        _check_unique_id(number, actor=actor)
        child.birth_date, child.sex = birth, sex
        child.set_id_number(number)
    if not child.birth_date:
        raise CarenetError(_("The birth date is required when there is no ID number."), field="birth_date")
    if child.birth_date > timezone.localdate():
        raise CarenetError(_("The birth date is in the future."), field="birth_date")
    if not child.sex:
        raise CarenetError(_("The sex is required when there is no ID number."), field="sex")
    _name_keys(child)
    if household is None:
        household = Household.objects.create(
            division=division,
            division_code=division.code,
            address=household_address or child.address,
            phone=household_phone,
        )
        _log(
            actor,
            "household",
            household.pk,
            None,
            division.code,
            "create",
            events.diff({}, events.snapshot(household)),
        )
    child.household = household
    if photo is not None:
        child.photo.save("photo.jpg", process_photo(photo), save=False)
    try:
        with transaction.atomic():
            child.save()
    except IntegrityError as exc:  # two people registering the same ID at the same moment
        raise CarenetError(
            _("A child with this ID number is already registered."), field="id_number"
        ) from exc
    after = events.snapshot(child, {"id_number": id_number and child.id_number})
    _log(actor, "child", child.pk, child.pk, child.division_code, "create", events.diff({}, after))
    if guardian:
        try:
            member_add(actor=actor, child=child, **guardian)
        except CarenetError as exc:  # name the guardian's field, not the child's
            raise CarenetError(
                exc.message, field=f"guardian.{exc.field}" if exc.field else "guardian"
            ) from exc
    return child


@transaction.atomic
def child_update(
    *,
    actor: User,
    child: Child,
    division: Division | None = None,
    id_number: str | None = None,
    photo: UploadedFile | None = None,
    **fields: Any,
) -> Child:
    _require(actor, Perm.CHILD_EDIT)
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    if child.status != ChildStatus.ACTIVE:
        raise CarenetError(_("An archived record cannot be edited; restore it first."))
    before = events.snapshot(child, {"id_number": child.id_number})
    for key, value in fields.items():
        if key not in CHILD_FIELDS:
            raise TypeError(f"unknown child field {key}")
        setattr(child, key, value)
    moved = division is not None and division.pk != child.division_id
    if moved:
        _check_division(actor, division)
        child.division, child.division_code = division, division.code
    number = child.id_number if id_number is None else id_number
    if number:
        number, birth, sex = identity_check(id_number=number, birth_date=child.birth_date, sex=child.sex)
        if number != before["id_number"]:
            _check_unique_id(number, actor=actor, exclude_pk=child.pk)
            child.set_id_number(number)
    elif id_number == "":
        child.set_id_number(None)
    _name_keys(child)
    if photo is not None:
        child.photo.save("photo.jpg", process_photo(photo), save=False)
    try:
        with transaction.atomic():
            child.save()
    except IntegrityError as exc:
        raise CarenetError(
            _("A child with this ID number is already registered."), field="id_number"
        ) from exc
    changes = events.diff(before, events.snapshot(child, {"id_number": child.id_number}))
    if changes:
        _log(actor, "child", child.pk, child.pk, child.division_code, "update", changes)
    if moved:
        child_changed.send(sender=Child, child_ids=[child.pk], moved=True)
    return child


@transaction.atomic
def child_archive(*, actor: User, child: Child, reason: str, note: str = "") -> Child:
    _require(actor, Perm.CHILD_ARCHIVE)
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    if reason not in ArchiveReason.values:
        raise CarenetError(_("Choose why the record is archived."), field="reason")
    if child.status == ChildStatus.ARCHIVED:
        raise CarenetError(_("This record is already archived."))
    before = events.snapshot(child)
    child.status, child.archive_reason, child.archive_note = ChildStatus.ARCHIVED, reason, note
    child.archived_on = timezone.localdate()
    child.save(update_fields=["status", "archive_reason", "archive_note", "archived_on", "updated_at"])
    _log(
        actor,
        "child",
        child.pk,
        child.pk,
        child.division_code,
        "archive",
        events.diff(before, events.snapshot(child)),
    )
    child_changed.send(sender=Child, child_ids=[child.pk], moved=False)
    return child


@transaction.atomic
def child_restore(*, actor: User, child: Child) -> Child:
    _require(actor, Perm.CHILD_ARCHIVE)
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    if child.status != ChildStatus.ARCHIVED:
        raise CarenetError(_("This record is not archived."))
    before = events.snapshot(child)
    child.status, child.archive_reason, child.archive_note = ChildStatus.ACTIVE, "", ""
    child.archived_on = None
    child.save(update_fields=["status", "archive_reason", "archive_note", "archived_on", "updated_at"])
    _log(
        actor,
        "child",
        child.pk,
        child.pk,
        child.division_code,
        "restore",
        events.diff(before, events.snapshot(child)),
    )
    child_changed.send(sender=Child, child_ids=[child.pk], moved=False)
    return child


def _member_id(member: FamilyMember, id_number: str | None) -> None:
    if id_number is None:
        return
    if id_number == "":
        member.set_id_number(None)
        return
    try:
        member.set_id_number(idnumber.parse(id_number).number)
    except idnumber.IdNumberError as exc:
        raise CarenetError(str(exc), field="id_number") from exc


def _member_dates(member: FamilyMember) -> None:
    if member.status_since and member.status_until and member.status_until < member.status_since:
        raise CarenetError(_("The end date is before the start date."), field="status_until")
    if member.status_since and member.status_since > timezone.localdate():
        raise CarenetError(_("The status date is in the future."), field="status_since")


@transaction.atomic
def member_add(*, actor: User, child: Child, id_number: str = "", **fields: Any) -> FamilyMember:
    _require(actor, Perm.CHILD_EDIT)
    child = scope(actor, Child.objects.all()).get(pk=child.pk)
    member = FamilyMember(child=child, **{k: v for k, v in fields.items() if k in MEMBER_FIELDS})
    if not member.name.strip():
        raise CarenetError(_("The name is required."), field="name")
    _member_id(member, id_number)
    _member_dates(member)
    member.save()
    _log(
        actor,
        "member",
        member.pk,
        child.pk,
        child.division_code,
        "create",
        events.diff({}, events.snapshot(member, {"id_number": id_number})),
    )
    return member


@transaction.atomic
def member_update(
    *, actor: User, member: FamilyMember, id_number: str | None = None, **fields: Any
) -> FamilyMember:
    _require(actor, Perm.CHILD_EDIT)
    member = scope(actor, FamilyMember.objects.select_for_update()).get(pk=member.pk)
    before = events.snapshot(member, {"id_number": member.id_number})
    for key, value in fields.items():
        if key in MEMBER_FIELDS:
            setattr(member, key, value)
    _member_id(member, id_number)
    _member_dates(member)
    member.save()
    changes = events.diff(before, events.snapshot(member, {"id_number": member.id_number}))
    if changes:
        _log(actor, "member", member.pk, member.child_id, member.child.division_code, "update", changes)
    return member


@transaction.atomic
def category_open(
    *, actor: User, child: Child, category: str, start_date: dt.date, reason: str
) -> CategoryMembership:
    _require(actor, Perm.CATEGORY_MANAGE)
    child = scope(actor, Child.objects.select_for_update()).get(pk=child.pk)
    if category not in Category.values:
        raise CarenetError(_("Unknown category."), field="category")
    if not reason.strip():
        raise CarenetError(_("Give the reason (and evidence) for this category."), field="reason")
    if start_date > timezone.localdate():
        raise CarenetError(_("The start date is in the future."), field="start_date")
    if start_date < child.birth_date:
        raise CarenetError(_("The start date is before the child's birth."), field="start_date")
    if CategoryMembership.objects.filter(child=child, category=category, end_date__isnull=True).exists():
        raise CarenetError(_("The child is already in this category."), field="category")
    overlap = CategoryMembership.objects.filter(
        child=child, category=category, end_date__gte=start_date
    ).exists()
    if overlap:
        raise CarenetError(
            _("The start date overlaps an earlier membership of this category."), field="start_date"
        )
    membership = CategoryMembership.objects.create(
        child=child, category=category, start_date=start_date, reason=reason.strip(), approved_by=actor
    )
    events.change_recorded(
        actor=actor,
        entity="category",
        entity_id=membership.pk,
        child_id=child.pk,
        division_code=child.division_code,
        action="create",
        changes={
            "category": [None, category],
            "start_date": [None, start_date.isoformat()],
            "reason": [None, reason],
        },
    )
    child_changed.send(sender=Child, child_ids=[child.pk], moved=False)
    return membership


@transaction.atomic
def category_close(
    *, actor: User, membership: CategoryMembership, end_date: dt.date, reason: str
) -> CategoryMembership:
    _require(actor, Perm.CATEGORY_MANAGE)
    membership = scope(actor, CategoryMembership.objects.select_for_update()).get(pk=membership.pk)
    if membership.end_date is not None:
        raise CarenetError(_("This membership has already ended."))
    if end_date < membership.start_date:
        raise CarenetError(_("The end date is before the start date."), field="end_date")
    if not reason.strip():
        raise CarenetError(_("Give the reason this category ends."), field="reason")
    membership.end_date, membership.end_reason, membership.ended_by = end_date, reason.strip(), actor
    membership.save(update_fields=["end_date", "end_reason", "ended_by"])
    _log(
        actor,
        "category",
        membership.pk,
        membership.child_id,
        membership.child.division_code,
        "update",
        {"end_date": [None, end_date.isoformat()], "end_reason": ["", reason]},
    )
    child_changed.send(sender=Child, child_ids=[membership.child_id], moved=False)
    return membership


@transaction.atomic
def document_add(*, actor: User, child: Child, kind: str, title: str, upload: UploadedFile) -> ChildDocument:
    _require(actor, Perm.DOCUMENT_UPLOAD)
    child = scope(actor, Child.objects.all()).get(pk=child.pk)
    if upload.size > settings.MAX_DOCUMENT_BYTES:
        raise CarenetError(
            _("The file is %(size)d KB; the limit is %(limit)d KB.")
            % {"size": upload.size // 1024, "limit": settings.MAX_DOCUMENT_BYTES // 1024},
            field="file",
        )
    head = upload.read(8)
    upload.seek(0)
    sniffed = _sniff(head)
    if sniffed not in DOCUMENT_TYPES:
        raise CarenetError(_("Only PDF, JPEG, PNG or WebP files can be attached."), field="file")
    doc = ChildDocument(
        child=child,
        kind=kind,
        title=title.strip() or upload.name[:200],
        content_type=sniffed,
        size=upload.size,
        uploaded_by=actor,
    )
    doc.file.save("document", upload, save=False)
    doc.save()
    _log(
        actor,
        "document",
        doc.pk,
        child.pk,
        child.division_code,
        "create",
        {"title": [None, doc.title], "kind": [None, kind]},
    )
    return doc


def _sniff(head: bytes) -> str:
    """Decide the type from the file's first bytes, never from the name or the browser's claim."""
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head[:4] == b"RIFF":
        return "image/webp"
    return "application/octet-stream"


def eligible_caseworkers(child: Child) -> QuerySet[User]:
    """Social workers whose organisation's area covers the child's village."""
    prefixes = [child.division_code[:n] for n in (2, 4, 6, 9)]
    return User.objects.filter(role=Role.SOCIAL_WORKER, is_active=True, division__code__in=prefixes).order_by(
        "username"
    )


@transaction.atomic
def caseload_assign(*, actor: User, child: Child, worker: User) -> Caseload:
    _require(actor, Perm.CASELOAD_MANAGE)
    child = scope(actor, Child.objects.all()).get(pk=child.pk)
    if not eligible_caseworkers(child).filter(pk=worker.pk).exists():
        raise CarenetError(_("Choose a social worker whose area covers this child."), field="worker")
    if Caseload.objects.filter(user=worker, child=child, ended_at__isnull=True).exists():
        raise CarenetError(_("This social worker already has the child in the caseload."), field="worker")
    case = Caseload.objects.create(user=worker, child=child, assigned_by=actor)
    _log(
        actor,
        "caseload",
        case.pk,
        child.pk,
        child.division_code,
        "create",
        {"caseworker": [None, worker.username]},
    )
    return case


@transaction.atomic
def caseload_end(*, actor: User, case: Caseload) -> Caseload:
    _require(actor, Perm.CASELOAD_MANAGE)
    case = Caseload.objects.select_for_update().get(pk=case.pk, child__in=scope(actor, Child.objects.all()))
    if case.ended_at is not None:
        raise CarenetError(_("This assignment has already ended."))
    case.ended_at = timezone.now()
    case.save(update_fields=["ended_at"])
    _log(
        actor,
        "caseload",
        case.pk,
        case.child_id,
        case.child.division_code,
        "update",
        {"caseworker": [case.user.username, None]},
    )
    return case
