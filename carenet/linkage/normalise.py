"""Normalisers for record linkage: one prepared row per input row, every field in a comparable form.

`prepare()` turns the raw columns of a list (id, name, sex, birth_date, id_number, address) into the
keys the comparison engine reads: the name as simplified characters, toneless pinyin and a shape key;
the resident ID number in its 18-digit form with what it says (area, birth date, sequence, sex) and
whether its check digit holds; the birth date as a date whatever way it was written; the address
without the province/city/district prefix that one list writes and another leaves out.

Everything runs as polars expressions over whole columns; Python only touches the distinct characters
of the names (for pinyin) and tables built once. No Django here: this module has to run unchanged on
Spark workers. The scalar helpers at the bottom apply the same rules to one value, for tests and for
the human-readable reasons.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import polars as pl
from pypinyin import Style, lazy_pinyin

# carenet.core.pinyin imports only pypinyin (no Django), so its surname table is shared, not copied.
from carenet.core.pinyin import SURNAME_READINGS
from carenet.linkage.hanzi import COMPOUND_SURNAMES, EXTRA_SURNAME_READINGS, LATIN_EXTRA, SHAPE, T2S

INPUT_COLUMNS = ("id", "name", "sex", "birth_date", "id_number", "address")
PREPARED_COLUMNS = (
    "id",
    "name_raw",  # NFKC, no spaces or bracketed notes, simplified characters, one interpunct "·"
    "name_py",  # toneless pinyin, letters only: zhangwei, ayigulimaimaiti, josemuller
    "name_sk",  # name_raw with each look-alike character replaced by its group's first (己/已/巳 -> 己)
    "given_py",  # pinyin of the given name (the whole name for Latin names)
    "surname",  # surname characters (null for Latin names)
    "sex",  # M / F from the sex column, else from the ID number
    "birth",  # pl.Date from birth_date
    "idn",  # 18-character ID number, 15-digit ones converted; null unless of the right shape
    "id_raw_bad",  # something was written in id_number but it is not an ID number's shape
    "id_other",  # that something, as upper-case letters and digits (a passport or another country's number)
    "id_from_15",  # idn was converted from a 15-digit legacy number
    "id_valid",  # the check digit holds (null when idn is null)
    "id_region",  # digits 1-6
    "id_birth",  # digits 7-14 as a date, when they are one
    "id_seq",  # digits 15-17
    "id_sex",  # 17th digit: odd M, even F
    "addr",  # address without spaces and without its leading province/city/district
    "addr_tokens",  # the address's parts (双港镇, 幸福路, 1号), for a token Jaccard
    "addr_area",  # the province/city/district prefix that was cut off, if any
)

READINGS: dict[str, str] = {**SURNAME_READINGS, **EXTRA_SURNAME_READINGS}
COMPOUNDS: frozenset[str] = COMPOUND_SURNAMES | {s for s in READINGS if len(s) == 2}

# GB 11643-1999: the check digit is ISO 7064 MOD 11-2 over the first 17 digits, weights 2^(17-i) mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

SEX_WORDS = {"男": "M", "男性": "M", "m": "M", "male": "M", "1": "M"}
SEX_WORDS |= {"女": "F", "女性": "F", "f": "F", "female": "F", "2": "F"}

# Excel stores dates as days since 1899-12-30; five-digit serials cover 1927-2173, which holds every
# birth date we meet, while a bare four-digit "2012" stays what it is (a year, not a date).
EXCEL_EPOCH = dt.date(1899, 12, 30)
YEAR_MIN, YEAR_MAX = 1880, 2100

_INTERPUNCTS = "·•‧∙・⋅.。"  # after NFKC, which folds ．･｡ into these
_DASHES = "-‐‑–—"
_BRACKETS = r"\([^)]*\)|\[[^\]]*\]|【[^】]*】"
_TIME_PART = r"(?:[T\s]+[0-9]{1,2}:[0-9]{2}.*)$"
_DATE_SEPARATORS = {**dict.fromkeys("年月/._", "-"), "日": "", "号": ""}
_WHITESPACE = " \t\r\n"

# ---------------------------------------------------------------- character maps


@cache
def _fold_map() -> dict[str, str]:
    """NFKC of every single character it changes (full-width digits and letters, the ideographic space,
    compatibility ideographs), then traditional to simplified.

    Applied as one Aho-Corasick replace_many, which is several times cheaper than a Unicode
    normalisation followed by a table lookup; composing sequences (e + combining accent) are left
    alone, as the Latin name key strips accents anyway. Control characters go: the address code uses
    two of them as marks.
    """
    fold = {chr(cp): "" for cp in range(0x20) if chr(cp) not in _WHITESPACE}
    codepoints = itertools.chain(range(0x80, 0xD800), range(0xE000, 0x10000), range(0x2F800, 0x2FA20))
    for cp in codepoints:
        ch = chr(cp)
        if (normal := unicodedata.normalize("NFKC", ch)) != ch:
            fold[ch] = normal.translate(_T2S_TRANSLATION)
    return fold | T2S


def _compose(base: dict[str, str], then: dict[str, str]) -> dict[str, str]:
    """A map doing `base` and then `then` in the same pass."""
    table = str.maketrans(then)
    return {k: v.translate(table) for k, v in base.items()} | {k: v for k, v in then.items() if k not in base}


@cache
def _name_map() -> dict[str, str]:
    return _compose(_fold_map(), {**dict.fromkeys(_INTERPUNCTS, "·"), **dict.fromkeys(_WHITESPACE, "")})


@cache
def _id_map() -> dict[str, str]:
    # Only what an ID number can hold: full-width digits and x, the ideographic space, separators.
    fold = {ch: n for ch, n in _fold_map().items() if n.isspace() or n in "0123456789Xx-_"}
    return _compose(fold, {**dict.fromkeys([*_WHITESPACE, *_DASHES, "_"], ""), "x": "X"})


@cache
def _addr_map() -> dict[str, str]:
    return _compose(_fold_map(), dict.fromkeys(_WHITESPACE, ""))


@cache
def _char_pinyin(ch: str) -> str:
    """Toneless reading of one character ('' when pypinyin does not know it); ü is written v."""
    syllable = lazy_pinyin(ch, style=Style.NORMAL, errors="default")[0].lower()
    return syllable if syllable.isascii() and syllable.isalpha() else ""


_HAN = re.compile(r"[\u3007\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _pinyin_table(names: pl.Series) -> dict[str, str]:
    """Reading of every Han character the names hold, keyed as it will appear in name_raw."""
    # All names as one string, counted by code point: far cheaper than exploding them into rows.
    joined = names.drop_nulls().str.join("").item() or ""
    present = np.flatnonzero(np.bincount(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)))
    table = {}
    for ch in (chr(cp) for cp in present if _HAN.match(chr(cp))):
        folded = _fold_map().get(ch, ch)
        if len(folded) == 1 and (reading := _char_pinyin(folded)):
            table[folded] = reading
    return table


# ---------------------------------------------------------------- stages
#
# Each field is a chain of stages; a stage reads only columns made by earlier stages. Writing every
# intermediate as a column matters: an expression used twice inside another is evaluated twice, and
# nested reuse multiplies (a first version of this module took 40 s instead of 2). The stages of the
# four fields go into the same with_columns calls, so polars can run the fields side by side.
# Steps that only some values need work on a copy masked to null elsewhere, which the kernels skip.

Stages = list[list[pl.Expr]]
c = pl.col


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text != "").then(text)


def _only_where(text: pl.Expr, pattern: str) -> pl.Expr:
    return pl.when(text.str.contains(pattern)).then(text)


def _letters_only(text: pl.Expr) -> pl.Expr:
    """Lower-case, letters only (Han kept), for pinyin that may carry "·", digits or Latin capitals."""
    odd = _only_where(text, "[^a-z]").str.to_lowercase().str.replace_all(r"[^\p{L}]", "")
    return pl.coalesce(odd, text)


def _fold_latin(text: pl.Expr) -> pl.Expr:
    """Lower-case letters only: accents stripped (José -> jose), punctuation and digits dropped."""
    text = text.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
    return text.str.replace_many(LATIN_EXTRA).str.replace_all(r"[^\p{L}]", "")


def _name_stages(table: dict[str, str]) -> Stages:
    n0, n1, raw, han, dotted = c("_n0"), c("_n1"), c("name_raw"), c("_han"), c("_dotted")
    # Bracketed notes (曾用名, 小名, a list's own "(1)") are not part of the name.
    unbracketed = pl.coalesce(_only_where(n0, r"[(\[【]").str.replace_all(_BRACKETS, ""), n0)
    # A dash between Han characters is a typed interpunct (阿依古丽-买买提); Latin names keep theirs.
    dashed = pl.when(han & c("_n0b").str.contains(f"[{_DASHES}]")).then(c("_n0b"))
    dashed = dashed.str.replace_many(dict.fromkeys(_DASHES, "·"))
    single_dots = pl.coalesce(_only_where(n1, "··").str.replace_all("·+", "·"), n1).str.strip_chars("·")
    # Names with an interpunct (阿依古丽·买买提) put the family or father's name last; a compound
    # surname (欧阳, 司马) counts when the name is long enough to have a given name after it.
    compound = raw.str.slice(0, 2).is_in(sorted(COMPOUNDS)) & (raw.str.len_chars() >= 3)
    in_dotted = pl.when(dotted).then(raw)
    surname = (
        pl.when(~han)
        .then(None)
        .when(dotted)
        .then(in_dotted.str.extract(r"·([^·]+)$", 1))
        .when(c("_compound"))
        .then(raw.str.slice(0, 2))
        .otherwise(raw.str.slice(0, 1))
    )
    given = pl.when(c("_compound")).then(raw.str.slice(2)).otherwise(raw.str.slice(1))
    given = pl.coalesce(in_dotted.str.extract(r"^(.+)·", 1), given)
    # Surnames are one or two characters: a whole-value lookup, with the surname readings (单 shan).
    surnames = table | {s: "".join(table.get(ch, ch) for ch in s) for s in COMPOUNDS}
    surname_py = pl.when(dotted).then(c("surname").str.replace_many(table))
    surname_py = surname_py.otherwise(c("surname").replace(surnames | READINGS))
    given_py, sur_py = c("_given_py"), c("_surname_py")
    han_py = pl.when(dotted).then(given_py + sur_py).otherwise(sur_py + given_py)
    name_py = pl.coalesce("_han_py", "_latin_py")
    return [
        [c("name").cast(pl.Utf8).str.replace_many(_name_map()).alias("_n0")],
        [unbracketed.alias("_n0b"), n0.str.contains(r"\p{Han}").alias("_han")],
        [pl.coalesce(dashed, c("_n0b")).alias("_n1")],
        [_blank_to_null(single_dots).alias("name_raw")],
        [raw.str.contains("·", literal=True).alias("_dotted"), compound.alias("_compound")],
        [
            surname.alias("surname"),
            pl.when(han).then(given).alias("_given"),
            raw.str.replace_many(SHAPE).alias("name_sk"),
            _fold_latin(pl.when(~han).then(raw)).alias("_latin_py"),
        ],
        [
            surname_py.alias("_surname_py"),
            c("_given").fill_null("").str.replace_many(table).alias("_given_py"),
        ],
        [han_py.alias("_han_py0")],
        [_letters_only(c("_han_py0")).alias("_han_py"), _letters_only(given_py).alias("_given_key")],
        [
            _blank_to_null(name_py).alias("name_py"),
            _blank_to_null(pl.when(han).then(c("_given_key")).otherwise(name_py)).alias("given_py"),
        ],
    ]


def _check_digit_expr(body17: pl.Expr) -> pl.Expr:
    # The weights are 2^(17-i) mod 11 and 13 = 2 (mod 11), so reading the 17 digits as a base-13
    # number gives half the weighted sum, mod 11, in one parse. (13^17 - 1 still fits an Int64.)
    half = body17.str.to_integer(base=13, strict=False) % 11
    return (half * 2 % 11).replace_strict(dict(enumerate(ID_CHECK_CHARS)), return_dtype=pl.Utf8)


def _id_stages() -> Stages:
    id_, is18, is15, idn = c("_id"), c("_is18"), c("_is15"), c("idn")
    raw_id = c("id_number").cast(pl.Utf8)
    # Legacy 15-digit cards (issued before 1999) leave out the century, always 19, and the check digit.
    body = (
        pl.when(is18)
        .then(id_.str.slice(0, 17))
        .when(is15)
        .then(id_.str.slice(0, 6) + "19" + id_.str.slice(6))
    )
    valid = pl.when(c("_body").is_not_null()).then(is15 | (c("_given_check") == c("_check")))
    sex_digit = idn.str.slice(16, 1).cast(pl.Int8, strict=False)
    return [
        [
            _blank_to_null(
                pl.coalesce(_only_where(raw_id, "[^0-9X]").str.replace_many(_id_map()), raw_id)
            ).alias("_id")
        ],
        [
            id_.str.contains(r"^[0-9]{17}[0-9X]$").fill_null(False).alias("_is18"),
            id_.str.contains(r"^[0-9]{15}$").fill_null(False).alias("_is15"),
        ],
        [
            body.alias("_body"),
            pl.when(is18).then(id_.str.slice(17, 1)).alias("_given_check"),
            is15.alias("id_from_15"),
            (id_.is_not_null() & ~is18 & ~is15).alias("id_raw_bad"),
        ],
        [
            _check_digit_expr(c("_body")).alias("_check"),
            # Any other identifier (a passport, a foreign or internal number): kept as upper-case letters and
            # digits, compared as a plain identifier (no check digit, nothing read from it).
            pl.when(c("id_raw_bad"))
            .then(_blank_to_null(raw_id.str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "")))
            .alias("id_other"),
        ],
        [
            pl.when(is15).then(c("_body") + c("_check")).when(is18).then(id_).alias("idn"),
            valid.alias("id_valid"),
        ],
        [
            idn.str.slice(0, 6).alias("id_region"),
            idn.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("_id_birth"),
            idn.str.slice(14, 3).alias("id_seq"),
            pl.when(sex_digit % 2 == 1)
            .then(pl.lit("M"))
            .when(sex_digit.is_not_null())
            .then(pl.lit("F"))
            .alias("id_sex"),
        ],
        [_in_range(c("_id_birth")).alias("id_birth")],
    ]


def _in_range(date: pl.Expr) -> pl.Expr:
    return pl.when(date.dt.year().is_between(YEAR_MIN, YEAR_MAX)).then(date)


def _birth_stages(dtype: pl.DataType) -> Stages:
    if dtype == pl.Date:
        return [[c("birth_date").alias("_birth")], [_in_range(c("_birth")).alias("birth")]]
    if isinstance(dtype, pl.Datetime):
        return [[c("birth_date").dt.date().alias("_birth")], [_in_range(c("_birth")).alias("birth")]]
    text, b0, rest, dash = c("birth_date").cast(pl.Utf8), c("_b0"), c("_b_rest"), c("_b_dash")
    # Each attempt sees only what the ones before could not read (the rest is masked to null), so a
    # list written in one form pays for about one parse.
    unread = pl.when(c("_b_iso").is_null()).then(b0).str.replace(_TIME_PART, "").str.replace_all(r"\s", "")
    serial = rest.str.extract(r"^([0-9]{5})(?:\.0*)?$", 1).cast(pl.Int32)
    # Year last: day first (4/3/2012 is 4 March), unless the middle part cannot be a month (US order).
    year_last = _only_where(dash, r"^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$")
    year_last = year_last.str.replace(r"^([0-9]{1,2})-(1[3-9]|2[0-9]|3[01])-([0-9]{4})$", "$3-$1-$2")
    year_last = year_last.str.replace(r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$", "$3-$2-$1")
    return [
        [
            pl.coalesce(_only_where(text, r"[^\x00-\x7f]").str.replace_many(_fold_map()), text)
            .str.strip_chars()
            .alias("_b0")
        ],
        [b0.str.to_date("%Y-%m-%d", strict=False).alias("_b_iso")],
        [unread.alias("_b_rest")],
        [
            _only_where(rest, r"^[0-9]{8}$").str.to_date("%Y%m%d", strict=False).alias("_b_eight"),
            (pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)).cast(pl.Date).alias("_b_serial"),
            rest.str.replace_many(_DATE_SEPARATORS).alias("_b_dash"),
        ],
        [pl.coalesce(year_last, dash).str.to_date("%Y-%m-%d", strict=False).alias("_b_other")],
        [pl.coalesce("_b_iso", "_b_eight", "_b_serial", "_b_other").alias("_birth")],
        [_in_range(c("_birth")).alias("birth")],
    ]


# ---------------------------------------------------------------- addresses

# Region names are found with one Aho-Corasick pass: each full name (天津市, 津南区) is overwritten by
# as many FULL marks as it has characters, each bare stem (天津) by STEM marks. The prefix to strip is
# the leading run of marks cut back to its last FULL mark, so a stem counts only when a full name
# follows it: "天津津南区双港镇" loses 天津津南区, "南京路5号" (a road, not the city) loses nothing.
# The marks are one-byte control characters (removed from the input beforehand), so byte lengths
# are character counts.
_FULL, _STEM, _SEP = "\x01", "\x02", "\x03"
_GENERIC_AREAS = {"市辖区", "郊区", "矿区", "城区", "市区", "东区", "西区", "南区", "北区", "新区", "林区"}
_ADDR_MARKERS = (
    *"街道 社区 单元 号楼 号院 大道 胡同 花园 家园 大厦 公寓".split(),
    *"省市区县旗镇乡路街巷弄号村组楼栋室",
)


@cache
def _region_names() -> tuple[frozenset[str], frozenset[str]]:
    """(full names, bare stems) of provinces, prefectures and counties, past and present.

    From python-stdnum's copy of the GB/T 2260 division codes (cn/loc.dat), which it keeps for the
    resident ID check: already a dependency, and pure data.
    """
    provinces, cities, counties = set(), set(), set()
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    for line in text.splitlines():
        match = re.match(r'^(\s*)(\d+) \w+="(.*)"', line)
        if not match or (match[1] and match[2] == "0000"):  # 0000 repeats the province
            continue
        level = provinces if not match[1] else cities if match[2].endswith("00") else counties
        for name in re.sub(r"\[[^\]]*\]", "", match[3]).split(","):
            name = simplify(name.strip())
            if len(name) >= 2 and "直辖" not in name and name not in _GENERIC_AREAS:
                level.add(name)
    province_suffixes = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
    stems = {_stem(n, province_suffixes) for n in provinces} | {_stem(n, ("地区", "市")) for n in cities}
    full = provinces | cities | counties
    return frozenset(full), frozenset(s for s in stems if len(s) >= 2) - full


def _stem(name: str, suffixes: tuple[str, ...]) -> str:
    return next((name[: -len(s)] for s in suffixes if name.endswith(s)), "")


@cache
def _region_marks() -> tuple[list[str], list[str]]:
    full, stems = _region_names()
    marks = {name: _FULL * len(name) for name in full}
    marks |= {name: _STEM * len(name) for name in (*stems, "中华人民共和国", "中国")}
    names = sorted(marks, key=lambda n: (-len(n), n))  # leftmost-first then picks the longest name
    return names, [marks[n] for n in names]


def _addr_stages() -> Stages:
    names, marks = _region_marks()
    markers = sorted(_ADDR_MARKERS, key=len, reverse=True)
    a0, han, compact, marked, local, latin = (
        c(n) for n in ("_a0", "_a_han", "_a_compact", "_a_marked", "_a_local", "_a_latin")
    )
    run = marked.str.len_bytes() - marked.str.strip_chars_start(_FULL + _STEM).str.len_bytes()
    han_tokens = local.str.replace_many(markers, [m + _SEP for m in markers], leftmost=True)
    han_tokens = han_tokens.str.strip_chars_end(_SEP).str.split(_SEP)
    return [
        [c("address").cast(pl.Utf8).str.replace_many(_addr_map()).alias("_a0")],
        [a0.str.contains(r"\p{Han}").alias("_a_han")],
        [
            pl.when(han).then(a0).alias("_a_compact"),
            pl.when(~han)
            .then(c("address"))
            .str.replace_many(_fold_map())
            .str.to_lowercase()
            .alias("_a_latin"),
        ],
        [compact.str.replace_many(names, marks, leftmost=True).alias("_a_marked")],
        [marked.str.slice(0, run).str.strip_chars_end(_STEM).str.len_bytes().alias("_a_cut")],
        [
            compact.str.slice(c("_a_cut")).alias("_a_local"),
            _blank_to_null(compact.str.slice(0, c("_a_cut"))).alias("addr_area"),
        ],
        [
            _blank_to_null(pl.coalesce(local, latin.str.replace_all(r"\s+", ""))).alias("addr"),
            pl.coalesce(han_tokens, latin.str.extract_all(r"[\p{L}\p{N}]+")).alias("_a_tokens"),
        ],
        [pl.when(c("addr").is_not_null()).then(c("_a_tokens")).alias("addr_tokens")],
    ]


def prepare(df: pl.DataFrame) -> pl.DataFrame:
    """One prepared row per input row, same order, with the PREPARED_COLUMNS."""
    missing = [pl.lit(None, dtype=pl.Utf8).alias(col) for col in INPUT_COLUMNS if col not in df.columns]
    df = df.with_columns(missing) if missing else df
    table = _pinyin_table(df["name"].cast(pl.Utf8))
    sex_word = c("sex").cast(pl.Utf8).str.replace_many(_fold_map()).str.strip_chars().str.to_lowercase()
    sex_stage = [sex_word.replace_strict(SEX_WORDS, default=None, return_dtype=pl.Utf8).alias("_sex_word")]
    chains = (
        _name_stages(table),
        _birth_stages(df.schema["birth_date"]),
        _id_stages(),
        _addr_stages(),
        [sex_stage],
    )
    lf = df.lazy()
    for stage in itertools.zip_longest(*chains, fillvalue=[]):
        lf = lf.with_columns(*itertools.chain.from_iterable(stage))
    lf = lf.with_columns(c("id").cast(pl.Utf8), pl.coalesce("_sex_word", "id_sex").alias("sex"))
    return lf.select(*PREPARED_COLUMNS).collect()


# ---------------------------------------------------------------- scalar helpers


@dataclass(frozen=True)
class IdInfo:
    number: str  # 18 characters
    valid: bool  # the check digit holds
    region: str  # digits 1-6
    birth: dt.date | None  # digits 7-14 when they are a real date
    seq: str  # digits 15-17
    sex: str  # "M" or "F", from the 17th digit
    converted_from_15: bool


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def normalise_id(text: str | None) -> IdInfo | None:
    """The ID number in its 18-character form with what it says; None when it is not one's shape."""
    clean = (text or "").translate(_translation(_id_map)).upper()
    converted = bool(re.fullmatch(r"[0-9]{15}", clean))
    if converted:
        clean = id_with_check(clean[:6] + "19" + clean[6:])
    elif not re.fullmatch(r"[0-9]{17}[0-9X]", clean):
        return None
    return IdInfo(
        number=clean,
        valid=clean[17] == check_digit(clean[:17]),
        region=clean[:6],
        birth=_date_or_none(clean[6:10], clean[10:12], clean[12:14]),
        seq=clean[14:17],
        sex="M" if int(clean[16]) % 2 else "F",
        converted_from_15=converted,
    )


def parse_date(text: str | None) -> dt.date | None:
    text = (text or "").translate(_translation(_fold_map)).strip()
    if iso := re.fullmatch(r"\+?([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text):
        return _date_or_none(*iso.groups())
    text = re.sub(r"\s", "", re.sub(_TIME_PART, "", text))
    if eight := re.fullmatch(r"([0-9]{4})([0-9]{2})([0-9]{2})", text):
        return _date_or_none(*eight.groups())
    if serial := re.fullmatch(r"([0-9]{5})(?:\.0*)?", text):
        return _in_years(EXCEL_EPOCH + dt.timedelta(days=int(serial[1])))
    text = text.translate(str.maketrans(_DATE_SEPARATORS))
    text = re.sub(r"^([0-9]{1,2})-(1[3-9]|2[0-9]|3[01])-([0-9]{4})$", r"\3-\1-\2", text)
    text = re.sub(r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})$", r"\3-\2-\1", text)
    if match := re.fullmatch(r"\+?([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text):
        return _date_or_none(*match.groups())
    return None


def _date_or_none(year: str, month: str, day: str) -> dt.date | None:
    try:
        return _in_years(dt.date(int(year), int(month), int(day)))
    except ValueError:
        return None


def _in_years(date: dt.date) -> dt.date | None:
    return date if YEAR_MIN <= date.year <= YEAR_MAX else None


def simplify(text: str | None) -> str:
    """Traditional characters to simplified (張偉 -> 张伟), nothing else."""
    return (text or "").translate(_T2S_TRANSLATION)


def clean_name(text: str | None) -> str:
    """name_raw for one name."""
    name = (text or "").translate(_translation(_name_map))
    name = re.sub(_BRACKETS, "", name)
    if _HAN.search(name):
        name = name.translate(str.maketrans(dict.fromkeys(_DASHES, "·")))
    return re.sub("·+", "·", name).strip("·")


def split_name(text: str | None) -> tuple[str | None, str]:
    """(surname, given name) of a Chinese name; (None, name) for a name without Han characters."""
    name = clean_name(text)
    if not _HAN.search(name):
        return None, name
    if "·" in name:
        given, _, surname = name.rpartition("·")
        return surname, given
    size = 2 if len(name) >= 3 and name[:2] in COMPOUNDS else 1
    return name[:size], name[size:]


def name_pinyin(text: str | None) -> str:
    """Toneless pinyin without separators: 张玮 -> zhangwei, 单雄 -> shanxiong, José Müller -> josemuller."""
    surname, given = split_name(text)
    if surname is None:
        return _fold_latin_text(given)
    given_py = _chars_pinyin(given)
    if "·" in clean_name(text):
        return _letters(given_py + _chars_pinyin(surname))
    return _letters(READINGS.get(surname, _chars_pinyin(surname)) + given_py)


def shape_key(text: str | None) -> str:
    """name_sk for one name: look-alike characters replaced by their group's first (已 -> 己)."""
    return clean_name(text).translate(_SHAPE_TRANSLATION)


def _chars_pinyin(text: str) -> str:
    return "".join(_char_pinyin(ch) or ch for ch in text)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if unicodedata.category(ch).startswith("L"))


def _fold_latin_text(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return _letters(text.lower().translate(_LATIN_TRANSLATION))


@cache
def _translation(make_map: Callable[[], dict[str, str]]) -> dict[int, str]:
    return str.maketrans(make_map())


_T2S_TRANSLATION = str.maketrans(T2S)
_SHAPE_TRANSLATION = str.maketrans(SHAPE)
_LATIN_TRANSLATION = str.maketrans(LATIN_EXTRA)
