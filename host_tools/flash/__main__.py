"""`python -m host_tools.flash pico|rpi …` (make flash): see cli.py."""

import sys

from host_tools.flash.cli import main

if __name__ == "__main__":
    sys.exit(main())
