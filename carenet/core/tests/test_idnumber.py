import datetime as dt

import pytest

from carenet.core import idnumber


def test_valid_number_gives_birth_date_sex_and_region():
    number = idnumber.make("120112", dt.date(2014, 3, 4), 123)
    info = idnumber.parse(number)
    assert info.birth_date == dt.date(2014, 3, 4)
    assert info.sex == "M"
    assert info.region == "120112"


def test_full_width_digits_spaces_and_lower_case_x_are_normalised():
    number = next(
        idnumber.make("120112", dt.date(2010, 1, 1), s)
        for s in range(1000)
        if idnumber.make("120112", dt.date(2010, 1, 1), s).endswith("X")
    )
    messy = " " + number[:6] + " " + "".join(chr(ord(c) + 0xFEE0) for c in number[6:17]) + "x "
    assert idnumber.parse(messy).number == number


def test_bad_checksum_is_a_typo():
    number = idnumber.make("120112", dt.date(2014, 3, 4), 123)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(idnumber.IdNumberError, match="check digit|校验"):
        idnumber.parse(wrong)


def test_15_digit_legacy_number_is_converted_to_18():
    info = idnumber.parse("120112850304123")
    assert info.number.startswith("12011219850304123")
    assert len(info.number) == 18
    assert info.converted_from_15
    assert info.birth_date == dt.date(1985, 3, 4)


def test_impossible_date_is_refused():
    body = "12011220140230123"
    from stdnum.cn import ric

    with pytest.raises(idnumber.IdNumberError):
        idnumber.parse(body + ric.calc_check_digit(body + "0"))


def test_future_birth_date_is_refused():
    with pytest.raises(idnumber.IdNumberError):
        idnumber.parse(idnumber.make("120112", dt.date(2099, 1, 1), 1), today=dt.date(2026, 1, 1))


def test_unknown_region_is_refused():
    with pytest.raises(idnumber.IdNumberError):
        idnumber.parse(idnumber.make("990000", dt.date(2014, 3, 4), 1))


@pytest.mark.parametrize("raw", ["", "12345", "12011219850304123A", "1201121985030412"])
def test_wrong_length_or_letters_are_refused(raw):
    with pytest.raises(idnumber.IdNumberError):
        idnumber.parse(raw)


def test_mask_keeps_region_and_last_four():
    assert idnumber.mask("120112201403041234") == "120112********1234"
    assert idnumber.mask("") == ""
