"""Dates that mean something in law: a person's age on a day."""

from __future__ import annotations

import datetime as dt


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on `day`: a year is complete on the birthday itself (born on 29 February: on 1 March
    of a common year). Ages decide support (paid until 18 — national policy) and school stages."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
