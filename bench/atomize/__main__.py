"""`python -m bench.atomize`."""

import sys

from bench.atomize import main

sys.exit(main(sys.argv[1:]))
