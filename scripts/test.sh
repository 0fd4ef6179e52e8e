#!/usr/bin/env bash
# One command for the tests: set up, then run the whole suite. Arguments go to pytest.
# Redis and PostgreSQL: GRIDWATCH_TEST_REDIS_URL / GRIDWATCH_TEST_PG_URL when set (CI sets
# both to the local servers); otherwise an embedded Redis, and PostgreSQL tests run only
# if the local server answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
