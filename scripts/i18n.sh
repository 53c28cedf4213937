#!/usr/bin/env bash
# Refresh the Simplified Chinese catalogue and compile it.
#
#   scripts/i18n.sh
#
# 1. re-extracts every msgid from carenet/ (templates and Python; tests are left out) into
#    carenet/locale/zh_Hans/LC_MESSAGES/django.po, keeping the translations already there;
#    a changed msgid comes back as a fuzzy entry carrying the old translation as a hint;
# 2. compiles django.po to django.mo (the .mo is committed: it is what the running site reads);
# 3. prints how many entries are untranslated or fuzzy and exits 1 if there are any.
#
# Translate the reported entries in django.po (remove the "#, fuzzy" line once an entry is right),
# then run this script again. carenet/core/tests/test_i18n.py checks the same things.
# Needs GNU gettext (xgettext, msgmerge, msgfmt): apt-get install gettext.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

for tool in xgettext msguniq msgmerge msgfmt; do
  command -v "$tool" >/dev/null 2>&1 || { echo "i18n.sh: $tool not found; install GNU gettext (apt-get install gettext)" >&2; exit 2; }
done
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "i18n.sh: no .venv; run ./dev.sh test once to create it" >&2; exit 2; }

export DJANGO_SETTINGS_MODULE=carenet.settings
export CARENET_DEMO=1
PO=carenet/locale/zh_Hans/LC_MESSAGES/django.po
OLD="$(mktemp)"
trap 'rm -f "$OLD"' EXIT
[ -f "$PO" ] && cp "$PO" "$OLD"

# Keep these options in step with carenet/core/tests/test_i18n.py (MAKEMESSAGES_OPTIONS).
# --add-location=file: no line numbers, so the catalogue does not churn with every edit elsewhere.
(cd carenet && "$PY" -m django makemessages --locale zh_Hans --domain django \
    --ignore 'tests/*' --ignore 'tests_support/*' --add-location file --no-obsolete --verbosity 0)

# makemessages stamps a new POT-Creation-Date on every run; if nothing else changed, keep the old
# file so that a no-op run leaves no diff (and the .mo stays byte-identical).
if [ -s "$OLD" ] && diff -q <(grep -v '^"POT-Creation-Date:' "$OLD") <(grep -v '^"POT-Creation-Date:' "$PO") >/dev/null; then
  cp "$OLD" "$PO"
fi

(cd carenet && "$PY" -m django compilemessages --locale zh_Hans --verbosity 0)

"$PY" - "$PO" <<'EOF'
import sys

import polib

po = polib.pofile(sys.argv[1])
live = [e for e in po if not e.obsolete]
untranslated = po.untranslated_entries()
fuzzy = po.fuzzy_entries()
print(f"{sys.argv[1]}: {len(live)} messages, {len(untranslated)} untranslated, {len(fuzzy)} fuzzy")
for label, entries in (("untranslated", untranslated), ("fuzzy", fuzzy)):
    for e in entries:
        where = ", ".join(f for f, _ in e.occurrences[:3])
        print(f"  {label}: {e.msgid!r}  ({where})")
if po.metadata_is_fuzzy:
    print("  the header is marked fuzzy")
sys.exit(1 if untranslated or fuzzy or po.metadata_is_fuzzy else 0)
EOF
