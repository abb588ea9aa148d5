"""`python -m bench.precision`: the precision table alone."""

import sys

from bench.precision import main

sys.exit(main(sys.argv[1:]))
