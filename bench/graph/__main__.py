"""`python -m bench.graph`: the graph benchmark alone."""

import sys

from bench.graph import main

sys.exit(main(sys.argv[1:]))
