"""The Pico W firmware, built once per test session from the MicroPython
archive that MICROPYTHON_ARCHIVE names (`make test` sets it to
../shared/vendor/micropython-1.28.0-rp2.tar.gz); without it the tests fail
and say so (a clone would need the network)."""

import os

import pytest
from support.paths import ROOT

from host_tools.pico_firmware.build import build_firmware
from host_tools.rp2040.call import IMAGE, image_files


@pytest.fixture(scope="session")
def pico_firmware(tmp_path_factory):
    archive = os.environ.get("MICROPYTHON_ARCHIVE")
    if not archive:
        pytest.fail(
            "MICROPYTHON_ARCHIVE is not set: name the MicroPython source archive, e.g. "
            "MICROPYTHON_ARCHIVE=../shared/vendor/micropython-1.28.0-rp2.tar.gz "
            "(`make test` sets it)"
        )
    log = tmp_path_factory.mktemp("firmware") / "build.log"
    with open(log, "w") as handle:
        return build_firmware(
            ROOT / "build" / "pico", ROOT / "build" / "firmware", archive, log=handle
        )


@pytest.fixture(scope="session", name="image_files")
def image_files_fixture():
    """The test code on the emulated door's littlefs image (boot.py, stand-ins)."""
    return image_files(IMAGE)
