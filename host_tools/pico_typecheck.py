# `make lint`'s MicroPython type check: pyright over the modules of
# firmware/manifest.py (what a Pico W runs) with the settings of
# pyright-micropython.json, which name the Pico W stubs as the only
# typeshed. The settings file holds no file list: the manifest is the one
# list, so a module flashed to the Pico cannot escape the check.
#
#   python -m host_tools.pico_typecheck PYRIGHT_COMMAND...
#
# Writes the combined config (absolute paths) to .venv/pyright-pico/ and runs
# the given pyright command with -p on it; exits with pyright's status.

import json
import os
import subprocess
import sys

from host_tools.firmware_manifest import FIRMWARE, pico_files

ROOT = FIRMWARE.parent
SETTINGS = ROOT / "pyright-micropython.json"
OUT = ROOT / ".venv" / "pyright-pico" / "pyrightconfig.json"
PATH_KEYS = ("typeshedPath", "stubPath", "venvPath")


def without_comments(text):
    """JSON from JSONC whose comments are whole lines starting with //."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def from_out(path):
    """path (absolute) as seen from the generated config's folder."""
    return os.path.relpath(path, OUT.parent)


def combined_config():
    config = json.loads(without_comments(SETTINGS.read_text()))
    for key in PATH_KEYS:
        config[key] = from_out(ROOT / config[key])
    config["extraPaths"] = [from_out(ROOT / path) for path in config["extraPaths"]]
    config["include"] = [from_out(FIRMWARE / path) for path in pico_files()]
    return config


def main(command):
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(combined_config(), indent=2) + "\n")
    return subprocess.run([*command, "-p", str(OUT)]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
