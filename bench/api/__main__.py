"""`python -m bench.api`: the API load benchmark alone."""

import sys

from bench.api import main

sys.exit(main(sys.argv[1:]))
