#!/usr/bin/env bash
# The test command: set up (if needed), then the default suite plus the slow end-to-end tests marked for CI,
# in one pytest-xdist worker per core (ZOO_TEST_WORKERS; a test file stays on one worker, so module fixtures
# are built once; files with slow tests start first, tests/conftest.py). Pytest options go after it, e.g.
# `bash scripts/test.sh -n 0 tests/test_cards.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ZOO_DATA_DIR="${ZOO_DATA_DIR:-$(cd .. && pwd)/shared/data}"
workers="${ZOO_TEST_WORKERS:-$(.venv/bin/python -c 'import os; print(len(os.sched_getaffinity(0)))')}"
exec .venv/bin/python -m pytest -m "not slow or ci" -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
