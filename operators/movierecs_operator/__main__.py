"""``python -m movierecs_operator``: see :mod:`movierecs_operator.main`."""

from movierecs_operator.main import main

main()
