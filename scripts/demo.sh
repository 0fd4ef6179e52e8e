#!/usr/bin/env bash
# One command for the demo: set up, then run gridwatch on embedded SQLite + Redis with a
# seeded history and the live simulator. Extra arguments go to `gridwatch demo`
# (see `.venv/bin/gridwatch demo --help`), e.g. --region 330000 --port 8080.
# It prints the wall's URL (with the token of the demo's wall device: open it, and the
# browser keeps a device cookie) and the demo accounts' passwords.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh regions
exec .venv/bin/gridwatch demo "$@"
