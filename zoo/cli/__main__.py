"""``python -m zoo.cli ARGS`` = ``zoo ARGS``."""

from zoo.cli.main import main

main()
