"""`python -m bench.scheduler`: the scheduler benchmark alone."""

import sys

from bench.scheduler import main

sys.exit(main(sys.argv[1:]))
