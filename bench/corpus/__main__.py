"""`python -m bench.corpus`: the fault-0 invariant table alone, or `fetch`."""

import sys

from bench.corpus import main

sys.exit(main(sys.argv[1:]))
