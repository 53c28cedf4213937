from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from carenet.accounts.jurisdiction import scope
from carenet.accounts.models import Division, DivisionLevel, User
from carenet.core.errors import CarenetError
from carenet.registry.models import (
    ArchiveReason,
    Category,
    ChildStatus,
    DisabilityLevel,
    DocumentKind,
    PersonStatus,
    Relationship,
    Sex,
)

DATE = forms.DateInput(attrs={"type": "date"})
# Above this many villages a dropdown is unusable on a phone: type the 12-digit code instead.
MAX_VILLAGE_OPTIONS = 400


def with_any(choices: Any) -> list[tuple[str, Any]]:
    """A filter's choices with an empty "Any" first."""
    return [("", _("Any")), *choices]


def apply_error(form: forms.Form, error: CarenetError) -> None:
    """Show a service's error next to the field it names, or above the form."""
    name = (error.field or "").replace("guardian.", "guardian_")
    field = name if name in form.fields else None
    form.add_error(field, error.message)


class VillageField(forms.Field):
    """A village the user may file under: a dropdown for small jurisdictions, a code box for large ones."""

    def __init__(self, *, user: User, **kwargs: Any) -> None:
        self.user = user
        villages = scope(user, Division.objects.filter(level=DivisionLevel.VILLAGE))
        self.small = villages.count() <= MAX_VILLAGE_OPTIONS
        if self.small:
            choices = [("", "—")] + [(d.code, d.full_name or d.name) for d in villages.order_by("code")]
            kwargs.setdefault("widget", forms.Select(choices=choices))
        else:
            kwargs.setdefault(
                "widget",
                forms.TextInput(
                    attrs={"inputmode": "numeric", "maxlength": 12, "placeholder": "120112001001"}
                ),
            )
            kwargs.setdefault("help_text", _("12-digit village / community code"))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Division | None:
        if value in (None, ""):
            return None
        if isinstance(value, Division):
            return value
        code = str(value).strip()
        division = scope(self.user, Division.objects.filter(level=DivisionLevel.VILLAGE, code=code)).first()
        if division is None:
            if Division.objects.filter(code=code).exists():
                raise forms.ValidationError(
                    _("Division %(code)s is not a village in your jurisdiction."), params={"code": code}
                )
            raise forms.ValidationError(_("Unknown division code %(code)s."), params={"code": code})
        return division

    def prepare_value(self, value: Any) -> Any:
        return value.code if isinstance(value, Division) else value


class ChildForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        required=False,
        help_text=_("18 digits (15-digit old numbers are converted). Leave empty if the child has none yet."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=DATE,
        help_text=_("Taken from the ID number when left empty."),
    )
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False, initial="汉族")
    address = forms.CharField(label=_("Current address"), max_length=300, required=False)
    school = forms.CharField(label=_("School"), max_length=120, required=False)
    grade = forms.CharField(label=_("Grade"), max_length=30, required=False)
    health = forms.CharField(label=_("Health"), max_length=300, required=False)
    disability_kind = forms.CharField(label=_("Disability type"), max_length=60, required=False)
    disability_level = forms.ChoiceField(
        label=_("Disability level"), choices=DisabilityLevel.choices, required=False
    )
    photo = forms.FileField(
        label=_("Photo"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["division"] = VillageField(user=user, label=_("Village / community"))
        if user.division and user.division.level == DivisionLevel.VILLAGE:
            self.fields["division"].initial = user.division.code
        self.order_fields(["name", "id_number", "sex", "birth_date", "division"])

    def child_fields(self) -> dict[str, Any]:
        from carenet.registry.services import CHILD_FIELDS

        return {k: self.cleaned_data[k] for k in CHILD_FIELDS}


class NewChildForm(ChildForm):
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=60, required=False)
    guardian_relationship = forms.ChoiceField(
        label=_("Guardian's relationship"), choices=[("", "—"), *Relationship.choices], required=False
    )
    guardian_phone = forms.CharField(label=_("Guardian's phone"), max_length=20, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("guardian_name") and not data.get("guardian_relationship"):
            self.add_error("guardian_relationship", _("Choose how the guardian is related to the child."))
        return data

    def guardian(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("guardian_name"):
            return None
        return {
            "name": data["guardian_name"],
            "relationship": data["guardian_relationship"],
            "phone": data["guardian_phone"],
            "is_guardian": True,
        }


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, pinyin or ID number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, pinyin or ID number"), "autocomplete": "off"}
        ),
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", _("All categories")), *Category.choices], required=False
    )
    division = forms.CharField(label=_("Division code"), required=False, max_length=12)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("active", _("Active")), ("archived", _("Archived")), ("", _("All"))],
        required=False,
        initial="active",
    )
    age_min = forms.IntegerField(label=_("Age from"), required=False, min_value=0, max_value=30)
    age_max = forms.IntegerField(label=_("Age to"), required=False, min_value=0, max_value=30)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_division(self) -> str:
        code = self.cleaned_data["division"].strip()
        if code and (not code.isdigit() or len(code) not in (2, 4, 6, 9, 12)):
            raise forms.ValidationError(_("A division code has 2, 4, 6, 9 or 12 digits."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lo, hi = data.get("age_min"), data.get("age_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("age_max", _("The upper age is below the lower age."))
        return data


class ArchiveForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=ArchiveReason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class MemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
    is_guardian = forms.BooleanField(label=_("Is a guardian"), required=False)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=PersonStatus.choices)
    status_since = forms.DateField(label=_("Status since"), required=False, widget=DATE)
    status_until = forms.DateField(
        label=_("Status until"),
        required=False,
        widget=DATE,
        help_text=_("For example the release date of an imprisoned parent."),
    )
    evidence_note = forms.CharField(
        label=_("Evidence"),
        max_length=300,
        required=False,
        help_text=_("Which document proves the status, e.g. death certificate no."),
    )


class CategoryOpenForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    start_date = forms.DateField(label=_("From"), widget=DATE)
    reason = forms.CharField(label=_("Reason and evidence"), max_length=300)


class CategoryCloseForm(forms.Form):
    end_date = forms.DateField(label=_("Until"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"})
    )


class DivisionImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file (columns: code, name)"))


class AuditFilterForm(forms.Form):
    child = forms.IntegerField(label=_("Child record number"), required=False, min_value=1)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


STATUS_CHOICES = ChildStatus.choices


class CaseloadForm(forms.Form):
    worker = forms.ModelChoiceField(label=_("Social worker"), queryset=User.objects.none(), empty_label="—")

    def __init__(self, *args: Any, child: Any, **kwargs: Any) -> None:
        from carenet.registry.services import eligible_caseworkers

        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = eligible_caseworkers(child)
        self.fields["worker"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username}（{u.organisation or u.username}）"
        )


class DivisionCodeField(forms.CharField):
    """Any division in the user's jurisdiction, typed as its code."""

    def __init__(self, *, user: User, **kwargs: Any) -> None:
        self.user = user
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 12}))
        super().__init__(max_length=12, **kwargs)

    def clean(self, value: Any) -> Division:
        code = super().clean(value).strip()
        division = scope(
            self.user, Division.objects.filter(code=code, code__startswith=self.user.division_code)
        ).first()
        if division is None:
            raise forms.ValidationError(
                _("Unknown division code %(code)s, or outside your jurisdiction."), params={"code": code}
            )
        return division


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    role = forms.ChoiceField(label=_("Role"))
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_("At least 10 characters; tell it to the user in person."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        from carenet.accounts.models import Role
        from carenet.accounts.services import GRANTABLE_ROLES

        super().__init__(*args, **kwargs)
        allowed = GRANTABLE_ROLES.get(user.role, set())
        self.fields["role"].choices = [(v, label) for v, label in Role.choices if v in allowed]
        self.fields["division"] = DivisionCodeField(
            user=user,
            label=_("Division code"),
            help_text=_("Where the user works: village 12 digits, street 9, district 6."),
        )
        self.order_fields(["username", "full_name", "role", "division", "phone", "password"])


class PasswordResetForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput(render_value=False))


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Username or name"), required=False, max_length=60)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
