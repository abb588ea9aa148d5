"""`python -m mge` is the same as the `mge` command."""

from mge.cli.app import main

main()
