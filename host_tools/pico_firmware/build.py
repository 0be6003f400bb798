"""Builds the RPI_PICO_W firmware with the door frozen in.

    build_firmware(work, out, archive=None) -> Firmware(elf, bin, uf2, size, region)
    build_firmware(work, out, archive, frozen=False): the stock RPI_PICO_W
        firmware from the same source (the board's own manifest, no door),
        what MicroPython's download for the board is; `make flash` then
        copies the door as .mpy files (measured in make bench, section pico)

The frozen manifest is a small wrapper: the board's own manifest (what the
stock RPI_PICO_W firmware freezes: asyncio, networking helpers, aioble),
then firmware/manifest.py, the one list of what runs on the Pico W. The
board's mpconfigboard.cmake sets MICROPY_FROZEN_MANIFEST itself, but
ports/rp2/CMakeLists.txt lets a -DMICROPY_FROZEN_MANIFEST from the command
line win over it (MICROPY_USER_FROZEN_MANIFEST).

cmake is called directly (the port's Makefile drops CMAKE_ARGS given with a
BOARD). pico-sdk 2.x would fetch picotool from the network for its .uf2;
-Dpicotool_FOUND=0 skips that, and the .uf2 is written here by uf2conv
(adafruit-uf2, PyPI: the UF2 reference converter). The build folder is
reused: a second build compiles only what changed. GIT_CEILING_DIRECTORIES
keeps MicroPython's version header from taking the git describe of a
repository the tree happens to lie in (sys.implementation shows v1.28.0).
"""

import os
import pathlib
import re
import subprocess
import sys

from host_tools.firmware_manifest import MANIFEST
from host_tools.pico_firmware.source import BOARD, source_tree

FLASH_BASE = 0x10000000  # XIP flash: where a UF2 for the RP2040 puts the image
RP2040_FAMILY_ID = 0xE48BFF56


class BuildError(Exception):
    pass


class Firmware:
    def __init__(self, elf, binary, uf2, region_bytes):
        self.elf = elf
        self.bin = binary
        self.uf2 = uf2
        self.size = binary.stat().st_size
        self.region_bytes = region_bytes  # flash before the filesystem

    @property
    def free_bytes(self):
        return self.region_bytes - self.size


def frozen_manifest_text(manifest=MANIFEST):
    return 'include("$(PORT_DIR)/boards/%s/manifest.py")\ninclude("%s")\n' % (
        BOARD,
        pathlib.Path(manifest).resolve(),
    )


def _define(path, name):
    """The integer value of `#define NAME (a * b ...)` in a C header."""
    match = re.search(r"#define\s+%s\s+\(?([0-9 *u]+)\)?" % name, path.read_text())
    if match is None:
        raise BuildError("%s: no #define %s" % (path, name))
    value = 1
    for factor in match.group(1).replace("u", "").split("*"):
        value *= int(factor)
    return value


def firmware_region_bytes(root):
    """Flash bytes before the board's filesystem: what the image may fill."""
    flash = _define(
        root / "lib/pico-sdk/src/boards/include/boards/pico_w.h", "PICO_FLASH_SIZE_BYTES"
    )
    storage = _define(
        root / "ports/rp2/boards" / BOARD / "mpconfigboard.h", "MICROPY_HW_FLASH_STORAGE_BYTES"
    )
    return flash - storage


def write_uf2(binary, uf2):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "adafruit_uf2.uf2conv",
            "--convert",
            "--base",
            hex(FLASH_BASE),
            "--family",
            hex(RP2040_FAMILY_ID),
            "--output",
            str(uf2),
            str(binary),
        ],
        check=True,
        capture_output=True,
    )


def build_firmware(work, out, archive=None, jobs=2, log=sys.stdout, frozen=True):
    work = pathlib.Path(work).resolve()
    out = pathlib.Path(out).resolve()
    root = source_tree(work, archive)
    build = work / ("build-" + BOARD + ("" if frozen else "-stock"))
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(work))
    port = root / "ports" / "rp2"
    configure = [
        "cmake",
        "-S",
        str(port),
        "-B",
        str(build),
        "-DPICO_BUILD_DOCS=0",
        "-DMICROPY_BOARD=" + BOARD,
        "-Dpicotool_FOUND=0",
    ]
    if frozen:
        manifest = work / "frozen_manifest.py"
        text = frozen_manifest_text()
        if not manifest.is_file() or manifest.read_text() != text:
            manifest.write_text(text)
        configure.append("-DMICROPY_FROZEN_MANIFEST=" + str(manifest))
    for command in (configure, ["make", "-C", str(build), "-j%d" % jobs]):
        result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise BuildError("%s failed (exit %d)" % (" ".join(command[:2]), result.returncode))
    out.mkdir(parents=True, exist_ok=True)
    elf = out / "firmware.elf"
    binary = out / "firmware.bin"
    elf.write_bytes((build / "firmware.elf").read_bytes())
    binary.write_bytes((build / "firmware.bin").read_bytes())
    uf2 = out / "firmware.uf2"
    write_uf2(binary, uf2)
    firmware = Firmware(elf, binary, uf2, firmware_region_bytes(root))
    if firmware.free_bytes < 0:
        raise BuildError(
            "firmware.bin is %d bytes, %d more than the %d before the filesystem"
            % (firmware.size, -firmware.free_bytes, firmware.region_bytes)
        )
    return firmware
