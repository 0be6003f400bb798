"""`make opensips`: python -m host_tools.opensips [--archive A.tar.gz] [--work DIR]

Builds OpenSIPS (core and the modules the configs load, build.py) and
prints where the binary and the modules are.
"""

import argparse
import sys

from host_tools.opensips.build import BuildError, build_opensips
from host_tools.source_archive import SourceError

DEFAULT_WORK = "build/opensips"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.opensips")
    parser.add_argument("--archive", help="OpenSIPS source archive (default: clone the tag)")
    parser.add_argument("--work", default=DEFAULT_WORK, help="source and build folder")
    arguments = parser.parse_args(argv)
    try:
        opensips = build_opensips(arguments.work, arguments.archive)
    except (BuildError, SourceError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    print("opensips: %s" % opensips.binary)
    print("modules: %s (mpath)" % opensips.module_dir)
    return 0


sys.exit(main())
