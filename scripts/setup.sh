#!/usr/bin/env bash
# Creates .venv and installs gridwatch into it (editable), with the given extras.
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"
hash="$(sha1sum pyproject.toml | cut -c1-12)"
marker=".venv/.installed-$hash${EXTRAS:+-$EXTRAS}"
if [ -f "$marker" ]; then exit 0; fi
if ! "$PY" -m uv --version >/dev/null 2>&1; then
    echo "installing uv (fast installer) ..."
    "$PY" -m pip install --quiet --disable-pip-version-check uv || true
fi
spec="."
[ -n "$EXTRAS" ] && spec=".[$EXTRAS]"
if "$PY" -m uv --version >/dev/null 2>&1; then
    [ -x .venv/bin/python ] || "$PY" -m uv venv --quiet --python "$PY" .venv
    "$PY" -m uv pip install --quiet --python .venv/bin/python -e "$spec"
else
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
fi
# Markers of an older pyproject.toml no longer prove anything.
find .venv -maxdepth 1 -name '.installed-*' ! -name ".installed-$hash*" -delete
touch "$marker"
