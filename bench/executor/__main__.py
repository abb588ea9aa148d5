"""`python -m bench.executor`."""

import sys

from bench.executor import main

sys.exit(main(sys.argv[1:]))
