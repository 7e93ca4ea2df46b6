"""``python -m zoo.distill ARGS`` = ``zoo distill ARGS``: what ``accelerate launch -m`` and ``torchrun -m``
start in every process (each one runs :func:`zoo.distill.run.distill` with the same options)."""

import sys

from zoo.cli import main

main(["distill", *sys.argv[1:]])
