"""`python -m bench.migration`."""

import sys

from bench.migration import main

sys.exit(main(sys.argv[1:]))
