"""Toneless pinyin keys for names, so 张伟 is found by "zhangwei", by "zw" and by its homophone 张玮."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Surnames whose reading differs from the character's most common reading (单 shan, not dan).
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "区": "ou",
    "盖": "ge",
    "乐": "yue",
    "尉": "yu",
    "覃": "qin",
    "繁": "po",
    "翟": "zhai",
    "缪": "miao",
    "种": "chong",
    "员": "yun",
    "召": "shao",
    "长孙": "zhangsun",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "澹台": "tantai",
    "宿": "su",
    "过": "guo",
    "能": "nai",
    "秘": "bi",
    "句": "gou",
    "藏": "zang",
}


def has_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def clean_name(name: str) -> str:
    """NFKC, drop spaces; the interpunct in minority names (阿依古丽·买买提) becomes one form."""
    text = unicodedata.normalize("NFKC", name or "").strip()
    text = re.sub(r"[\s]+", "", text)
    return re.sub(r"[·•‧∙・.]", "·", text)


@lru_cache(maxsize=200_000)
def _syllables(text: str) -> tuple[str, ...]:
    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors="default", v_to_u=False))


def name_syllables(name: str) -> list[str]:
    name = clean_name(name).replace("·", "")
    for surname in sorted(SURNAME_READINGS, key=len, reverse=True):
        if name.startswith(surname):
            rest = name[len(surname) :]
            return [SURNAME_READINGS[surname], *_syllables(rest)] if rest else [SURNAME_READINGS[surname]]
    return list(_syllables(name))


def name_key(name: str) -> str:
    """Full toneless pinyin without separators: 张玮 -> 'zhangwei'; Latin names lower-cased."""
    return re.sub(r"[^a-z]", "", "".join(name_syllables(name)).replace("ü", "v"))


def name_initials(name: str) -> str:
    return "".join(s[0] for s in name_syllables(name) if s and s[0].isalpha()).lower()


def query_key(query: str) -> str:
    """Turn a search box entry into the key it should match: Han text is transliterated, Latin kept."""
    query = query.strip().lower()
    if has_han(query):
        return name_key(query)
    return re.sub(r"[^a-z]", "", query)
