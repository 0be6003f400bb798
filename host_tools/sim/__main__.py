"""`python -m host_tools.sim` (make sim): see host_tools/sim/README.md."""

import sys

from host_tools.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
