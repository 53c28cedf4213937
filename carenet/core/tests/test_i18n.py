"""The Simplified Chinese catalogue is complete, correct and compiled.

The UI speaks Simplified Chinese first, so an English string left in it is a bug. These tests catch
the usual ways that happens: a msgid nobody translated (or a fuzzy guess left by msgmerge), a
translation that drops or renames a placeholder, a .mo not recompiled after the .po changed, and a
new string in the source that was never extracted into the catalogue. `scripts/i18n.sh` fixes the
last two and lists what is left to translate.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

PACKAGE = Path(__file__).resolve().parents[2]  # carenet/
LOCALE = PACKAGE / "locale"
PO_PATH = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo"

# Same extraction as scripts/i18n.sh: keep the two in step.
IGNORE_PATTERNS = ["tests/*", "tests_support/*"]
GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgfmt")

# %(name)s, %(n)d, %s, %% … (printf style, as Python's % operator reads them)
PERCENT_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _po() -> polib.POFile:
    assert PO_PATH.is_file(), f"{PO_PATH} is missing; run scripts/i18n.sh"
    return polib.pofile(str(PO_PATH))


def _live(entries: list[polib.POEntry]) -> list[polib.POEntry]:
    return [e for e in entries if not e.obsolete]


def _where(entry: polib.POEntry) -> str:
    return ", ".join(f for f, _ in entry.occurrences[:3]) or "?"


def _placeholders(text: str, flags: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    if "python-format" in flags:
        found.update(PERCENT_PLACEHOLDER.findall(text))
    if "python-brace-format" in flags:
        found.update(BRACE_PLACEHOLDER.findall(text))
    return found


def _key(entry: polib.POEntry | polib.MOEntry) -> tuple[str | None, str, str | None]:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or None)


# ---------------------------------------------------------------- (a) the .po itself


def test_catalogue_header_declares_simplified_chinese():
    po = _po()
    assert not po.metadata_is_fuzzy, "the .po header is marked fuzzy; remove '#, fuzzy' above msgid \"\""
    assert po.metadata.get("Language") == "zh_Hans"
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")


def test_every_entry_is_translated_and_none_is_fuzzy():
    po = _po()
    assert _live(list(po)), "the catalogue has no entries"
    untranslated = [f"{e.msgid!r} ({_where(e)})" for e in _live(po.untranslated_entries())]
    fuzzy = [f"{e.msgid!r} ({_where(e)})" for e in _live(po.fuzzy_entries())]
    assert not untranslated, "untranslated (run scripts/i18n.sh, then translate):\n  " + "\n  ".join(
        untranslated
    )
    assert not fuzzy, "fuzzy (check the translation, then delete the '#, fuzzy' line):\n  " + "\n  ".join(
        fuzzy
    )


def test_plural_entries_fill_the_single_chinese_form():
    for e in _live(list(_po())):
        if e.msgid_plural:
            assert set(e.msgstr_plural) == {0}, f"{e.msgid!r}: Chinese has one plural form, msgstr[0] only"
            assert e.msgstr_plural[0].strip(), f"{e.msgid!r}: msgstr[0] is empty"


def test_translations_keep_the_placeholders_of_the_msgid():
    wrong = []
    for e in _live(list(_po())):
        if e.msgid_plural:
            # One Chinese form stands for every count, so it carries the plural's placeholders.
            expected = _placeholders(e.msgid_plural, e.flags)
            pairs = [(f"msgstr[{n}]", s) for n, s in sorted(e.msgstr_plural.items())]
        else:
            expected = _placeholders(e.msgid, e.flags)
            pairs = [("msgstr", e.msgstr)]
        for label, text in pairs:
            got = _placeholders(text, e.flags)
            if got != expected:
                wrong.append(
                    f"{e.msgid!r} ({_where(e)}): {label} has {sorted(got.elements())}, "
                    f"the msgid has {sorted(expected.elements())}"
                )
    assert not wrong, "placeholders differ between msgid and translation:\n  " + "\n  ".join(wrong)


def test_every_entry_is_flagged_for_the_format_it_uses():
    """A msgid with %(name)s must be marked python-format, or the placeholder check above skips it."""
    unflagged = [
        f"{e.msgid!r} ({_where(e)})"
        for e in _live(list(_po()))
        if re.search(r"%\(\w+\)[sdr]", e.msgid) and "python-format" not in e.flags
    ]
    assert not unflagged, "entries with %(name)s placeholders but no python-format flag:\n  " + "\n  ".join(
        unflagged
    )


# ---------------------------------------------------------------- (b) the committed .mo


def _mo_pairs(mo: polib.MOFile) -> set[tuple]:
    pairs = set()
    for e in mo:
        if e.msgid_plural:
            pairs.add((*_key(e), tuple(sorted(e.msgstr_plural.items()))))
        else:
            pairs.add((*_key(e), e.msgstr))
    return pairs


def test_committed_mo_matches_the_po(tmp_path):
    assert MO_PATH.is_file(), f"{MO_PATH} is missing; run scripts/i18n.sh (the compiled .mo is committed)"
    fresh = tmp_path / "django.mo"
    _po().save_as_mofile(str(fresh))
    expected, committed = _mo_pairs(polib.mofile(str(fresh))), _mo_pairs(polib.mofile(str(MO_PATH)))
    stale = sorted(repr(p[1]) for p in committed - expected)
    missing = sorted(repr(p[1]) for p in expected - committed)
    assert expected == committed, (
        "django.mo is out of date with django.po; run scripts/i18n.sh.\n"
        f"  in the .po but not the .mo: {missing[:20]}\n  in the .mo but not the .po: {stale[:20]}"
    )
    assert polib.mofile(str(MO_PATH)).metadata.get("Plural-Forms") == _po().metadata.get("Plural-Forms")


# ---------------------------------------------------------------- (c) the catalogue covers the source


def _copy_sources(dst: Path) -> None:
    def skip(directory: str, names: list[str]) -> set[str]:
        return {
            n for n in names if n in {"__pycache__", "locale", "static", "node_modules"} or n.startswith(".")
        }

    shutil.copytree(PACKAGE, dst, ignore=skip)
    (dst / "locale").mkdir()


def test_catalogue_has_every_msgid_of_the_source(tmp_path, monkeypatch):
    absent = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if absent:
        pytest.fail(
            f"GNU gettext is not installed ({', '.join(absent)} not found): install it "
            "(apt-get install gettext) so the catalogue can be checked against the source."
        )
    tree = tmp_path / "carenet"
    _copy_sources(tree)
    monkeypatch.chdir(tree)
    with override_settings(LOCALE_PATHS=[str(tree / "locale")]):
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            domain="django",
            ignore_patterns=IGNORE_PATTERNS,
            keep_pot=True,
            verbosity=0,
        )
    pot_path = tree / "locale" / "django.pot"
    assert pot_path.is_file(), "makemessages wrote no .pot"
    pot = polib.pofile(str(pot_path))
    in_source = {_key(e): e for e in pot if e.msgid}
    assert in_source, "makemessages extracted nothing: the check itself is broken"
    in_catalogue = {_key(e) for e in _live(list(_po()))}
    missing = [
        f"{e.msgid!r} ({_where(e)})"
        for k, e in sorted(in_source.items(), key=lambda kv: kv[0][1])
        if k not in in_catalogue
    ]
    assert not missing, (
        f"{len(missing)} msgid(s) of the source are not in {PO_PATH}; "
        "run scripts/i18n.sh and translate them:\n  " + "\n  ".join(missing)
    )


# ---------------------------------------------------------------- (d) a rendered page


@pytest.mark.django_db
def test_login_page_speaks_chinese_by_default(client):
    html = client.get(reverse("web:login")).content.decode()
    assert "登录" in html
    assert "Sign in" not in html
    assert 'lang="zh-CN"' in html


@pytest.mark.django_db
def test_login_page_speaks_english_when_the_browser_asks(client):
    html = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in" in html
    assert "登录" not in html


@pytest.mark.django_db
def test_login_page_speaks_english_after_choosing_it(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    html = client.get("/login/").content.decode()
    assert "Sign in" in html
    assert "登录" not in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/login/"})
    assert "登录" in client.get("/login/").content.decode()
