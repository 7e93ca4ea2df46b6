#!/usr/bin/env bash
# The test command: set up (if needed), then the default suite plus the slow end-to-end tests marked for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ZOO_DATA_DIR="${ZOO_DATA_DIR:-$(cd .. && pwd)/shared/data}"
exec .venv/bin/python -m pytest -m "not slow or ci" "$@"
