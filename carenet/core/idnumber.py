"""Resident identity numbers (GB 11643-1999): normalisation, validation, legacy conversion, masking.

python-stdnum does the checksum, date and region checks; we add what carenet needs on top:
full-width digits and lower-case x from hand-typed lists, 15-digit legacy numbers, and the
birth date and sex that an 18-digit number carries.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as std_exc
from stdnum.cn import ric


class IdNumberError(ValueError):
    """Raised with a user-facing (translated) message naming what is wrong."""


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    region: str  # first six digits
    converted_from_15: bool


def normalize(raw: str) -> str:
    """Full-width to half-width, drop spaces and dashes, upper-case the check letter."""
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-_").upper()


def convert_15_to_18(number15: str) -> str:
    """Legacy 15-digit numbers (before 1999) omit the century and the check digit; all were 19xx births."""
    body = number15[:6] + "19" + number15[6:]
    return body + ric.calc_check_digit(body + "0")


def parse(raw: str, *, today: dt.date | None = None) -> IdInfo:
    number = normalize(raw)
    converted = False
    if len(number) == 15:
        if not number.isdigit():
            raise IdNumberError(_("A 15-digit ID number must contain digits only."))
        number = convert_15_to_18(number)
        converted = True
    if len(number) != 18:
        raise IdNumberError(
            _("An ID number has 18 digits (or 15 for old cards); this one has %(n)d.") % {"n": len(number)}
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError(_("An ID number has 17 digits followed by a digit or X."))
    try:
        if number[-1] != ric.calc_check_digit(number):
            raise IdNumberError(_("The check digit is wrong: the number has a typo."))
        birth = ric.get_birth_date(number)
    except std_exc.InvalidComponent as exc:
        raise IdNumberError(_("The birth date inside the ID number is not a real date.")) from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise IdNumberError(_("The birth date inside the ID number is out of range."))
    try:
        ric.get_birth_place(number)
    except std_exc.ValidationError as exc:
        raise IdNumberError(
            _("The region code %(code)s inside the ID number is not a known area.") % {"code": number[:6]}
        ) from exc
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, birth_date=birth, sex=sex, region=number[:6], converted_from_15=converted)


def mask(number: str | None) -> str:
    """Keep the region and the last four: enough to tell records apart, not enough to misuse."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def make(region: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid 18-digit number (demo data and tests): sequence 0-999, odd for male."""
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")
