"""`python -m pluralist.cli`: the same command as `pluralist`."""

from . import main

main()
