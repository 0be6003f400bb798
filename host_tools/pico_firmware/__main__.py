"""`make firmware`: python -m host_tools.pico_firmware [--archive A.tar.gz] [--out DIR]

Builds the Pico W firmware with the door frozen in (build.py) and prints
where firmware.uf2/.elf/.bin went, the image size and the flash left.
"""

import argparse
import sys

from host_tools.pico_firmware.build import BuildError, build_firmware
from host_tools.source_archive import SourceError

DEFAULT_WORK = "build/pico"
DEFAULT_OUT = "build/firmware"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.pico_firmware")
    parser.add_argument("--archive", help="MicroPython source archive (default: clone the tag)")
    parser.add_argument("--work", default=DEFAULT_WORK, help="source and build folder")
    parser.add_argument("--out", default=DEFAULT_OUT, help="where firmware.uf2/.elf/.bin go")
    arguments = parser.parse_args(argv)
    try:
        firmware = build_firmware(arguments.work, arguments.out, arguments.archive)
    except (BuildError, SourceError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    print("firmware: %s (also .elf, .bin)" % firmware.uf2)
    print(
        "size: %d bytes of %d before the filesystem, %d free"
        % (firmware.size, firmware.region_bytes, firmware.free_bytes)
    )
    return 0


sys.exit(main())
