# The portable core stays sans-I/O and importable under MicroPython.

import os
import subprocess

import pytest
from support.imports import imported_modules
from support.paths import FIRMWARE, MICROPYTHON, ROOT, STAND_INS

from host_tools.firmware_manifest import pico_modules

CORE = FIRMWARE / "intercom"

# The core takes bytes and now_ms in and gives datagrams and deadlines out:
# none of these may appear in it.
FORBIDDEN = {
    "socket",
    "select",
    "time",
    "machine",
    "network",
    "RPi",
    "alsaaudio",
    "threading",
    "_thread",
    "asyncio",
    "uasyncio",
    "os",
    "subprocess",
}


def core_modules():
    names = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(FIRMWARE).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def imported_roots(path):
    for line, module in imported_modules(path):
        yield line, module.split(".")[0]


def test_core_imports_nothing_that_does_io():
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        for line, root in imported_roots(path):
            if root in FORBIDDEN:
                offences.append("%s:%d imports %s" % (path.relative_to(ROOT), line, root))
    assert offences == []


def test_the_scan_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import json\nfrom time import sleep\nif True:\n    import socket\n")
    assert [root for _, root in imported_roots(sample)] == ["json", "time", "socket"]


def pico_board_modules():
    """The board modules of firmware/manifest.py (what a Pico W runs)."""
    return [name for name in pico_modules() if name.startswith("boards")]


@pytest.mark.parametrize("module", core_modules() + pico_board_modules())
def test_module_imports_under_micropython(module):
    # The stand-in machine and network modules play the Pico's built-ins.
    result = subprocess.run(
        [str(MICROPYTHON), "-c", "import " + module],
        cwd=FIRMWARE,
        env={**os.environ, "MICROPYPATH": ".:%s" % STAND_INS},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
