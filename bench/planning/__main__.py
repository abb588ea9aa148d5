import sys

from bench.planning import main

sys.exit(main(sys.argv[1:]))
