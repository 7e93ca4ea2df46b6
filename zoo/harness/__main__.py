"""``python -m zoo.harness ARGS``: lm-eval's own command line (``lm_eval ARGS``) with the model type
``time-mlm`` registered, e.g. ``python -m zoo.harness --model time-mlm --model_args pretrained=DIR --tasks
zoo_xh --include_path <folder written by zoo lm-eval --tasks-only>``."""

import sys

from lm_eval.__main__ import cli_evaluate

import zoo.harness.model  # noqa: F401  (registers time-mlm)

if __name__ == "__main__":
    sys.argv[0] = "python -m zoo.harness"
    cli_evaluate()
