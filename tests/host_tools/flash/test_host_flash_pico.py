"""`python -m host_tools.flash pico` against the MicroPython unix port behind a
pty (pty_board.py) acting as a Pico: what lands in the board's folder, the
second flash that copies nothing, stale modules removed, a bad config or a
missing port that copy nothing, the board checks; the soft reset after
which the pty board boots main.py (stand-in machine/network modules) and
the tool shows its first events; then the flashed folder completes a call
against a SIPp UAS (support/flat_peer.py)."""

import hashlib
import json
import os
import pathlib
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest
from pty_board import PtyBoard
from support.config import config_json
from support.flat_peer import FlatMedia, start_flat
from support.paths import FIRMWARE, MPY_CROSS, ROOT, STAND_INS
from support.pico import BUTTON, control, start_pico_door, write_pico_toml

from host_tools.flash.pico import Flasher, board_config
from host_tools.flash.pico_board import BoardError

# What pico_w/board.py and main.py import, directly or through the core.
PICO_MODULES = (
    "boards/pico_w/board",
    "boards/pico_w/audio",
    "boards/runtime/runtime",
    "intercom/sip/agent",
)


def flash(port, toml, *extra):
    """Flash for the unix port; no soft reset unless extra has --watch."""
    reset = [] if "--watch" in extra else ["--no-reset"]
    return subprocess.run(
        [sys.executable, "-m", "host_tools.flash", "pico", "--port", port]
        + ["--config", str(toml), "--arch", "x64", *reset, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def board_files(board):
    return {
        path.relative_to(board).as_posix(): path
        for path in board.rglob("*")
        if path.is_file() and (path.parent != board or path.name in ("main.py", "config.json"))
    }


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def board(tmp_path, owned):
    folder = tmp_path / "board"
    folder.mkdir()
    return folder, owned(PtyBoard(folder)).port


def check_flashed(board, toml, tmp_path):
    files = board_files(board)
    assert (board / "main.py").read_bytes() == (FIRMWARE / "main.py").read_bytes()
    assert json.loads((board / "config.json").read_text()) == json.loads(config_json(toml))
    assert not [name for name in files if name.endswith(".py") and name != "main.py"]
    for module in PICO_MODULES:
        assert module + ".mpy" in files
    assert "boards/sim/board.mpy" not in files and "boards/rpi/board.mpy" not in files
    # Every module as our own mpy-cross -march=x64 run compiles it.
    modules = [name for name in files if name.endswith(".mpy")]

    def reference(name):
        out = tmp_path / "reference" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        source = pathlib.PurePosixPath(name).with_suffix(".py")
        command = [str(MPY_CROSS), "-march=x64", "-o", str(out), str(source)]
        subprocess.run(command, cwd=FIRMWARE, check=True)
        return sha256(out)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, digest in zip(modules, pool.map(reference, modules), strict=True):
            assert sha256(files[name]) == digest, name


def test_host_flash_pico_copies_then_skips_unchanged_then_removes_stale(board, tmp_path):
    folder, port = board
    toml = write_pico_toml(tmp_path)
    first = flash(port, toml)
    assert first.returncode == 0, first.stderr
    copied = [line for line in first.stdout.splitlines() if line.startswith("  [")]
    check_flashed(folder, toml, tmp_path)
    assert len(copied) == len(board_files(folder))
    times = {name: path.stat().st_mtime_ns for name, path in board_files(folder).items()}

    second = flash(port, toml)
    assert second.returncode == 0, second.stderr
    assert "unchanged" in second.stdout
    assert not [line for line in second.stdout.splitlines() if line.startswith("  [")]
    assert {n: p.stat().st_mtime_ns for n, p in board_files(folder).items()} == times

    # A stale .py would shadow its .mpy; a changed config copies only itself.
    (folder / "boards" / "runtime" / "runtime.py").write_text("raise ImportError('old')\n")
    third = flash(port, write_pico_toml(tmp_path, gpio={"debounce_ms": 50}))
    assert third.returncode == 0, third.stderr
    assert [line.split()[1] for line in third.stdout.splitlines() if line.startswith("  [")] == [
        "config.json"
    ]
    assert not (folder / "boards" / "runtime" / "runtime.py").exists()
    assert json.loads((folder / "config.json").read_text())["gpio"]["debounce_ms"] == 50


def test_host_flash_pico_bad_config_copies_nothing(board, tmp_path):
    folder, port = board
    toml = write_pico_toml(tmp_path, gpio={"relay": 11, "led": 99})
    result = flash(port, toml)
    assert result.returncode == 2
    assert "gpio.relay" in result.stderr and "gpio.led" in result.stderr
    assert "nothing copied" in result.stderr
    assert list(folder.iterdir()) == []


def test_host_flash_pico_missing_port_is_a_clear_error(tmp_path):
    result = flash(str(tmp_path / "ttyACM9"), write_pico_toml(tmp_path))
    assert result.returncode == 1
    assert "no MicroPython device on %s" % (tmp_path / "ttyACM9") in result.stderr


def probe(version=(1, 29, 0), md5=True, free=1 << 20, mpy=0x0B06, files=None):
    return {"version": list(version), "md5": md5, "free": free, "mpy": mpy, "files": files or {}}


def test_host_flash_pico_board_checks():
    flasher = Flasher("/dev/null", "x64", print)
    flasher.check_board(probe())
    with pytest.raises(BoardError, match="1.26.1 on the board is too old"):
        flasher.check_board(probe(version=(1, 26, 1), md5=False))
    with pytest.raises(BoardError, match="too old"):
        flasher.check_board(probe(md5=False))
    with pytest.raises(BoardError, match="runs x64 code, not armv6m: pass --arch x64"):
        Flasher("/dev/null", "armv6m", print).check_board(probe())
    with pytest.raises(BoardError, match="loads .mpy v5.0"):
        flasher.check_board(probe(mpy=0x0805))


class Sized:
    def __init__(self, path, size):
        self.board_path = path
        self.size = size


def test_host_flash_pico_space_check_counts_replaced_files():
    flasher = Flasher("/dev/null", "x64", print)
    found = probe(free=1000, files={"a.mpy": ("00", 600)})
    flasher.check_space(found, [Sized("a.mpy", 1500)])  # 900 more bytes
    with pytest.raises(BoardError, match="1600 bytes needed, 1000 free"):
        flasher.check_space(found, [Sized("a.mpy", 1500), Sized("b.mpy", 700)])


def stand_in_env(folder):
    """The environment main.py runs in: the stand-ins, then the flashed folder."""
    (folder / "pins.control").write_text("")
    return {
        **os.environ,
        "MICROPYPATH": "%s:%s" % (STAND_INS, folder),
        "PICO_PIN_CONTROL": str(folder / "pins.control"),
        "PICO_PIN_LOG": str(folder / "pins.log"),
        "PICO_I2S_MIC": str(folder / "mic.raw"),
        "PICO_I2S_AMP": str(folder / "amp.raw"),
        "PICO_WDT_LOG": str(folder / "wdt.log"),
    }


@pytest.mark.integration  # SIPp is the flat
def test_host_flash_pico_resets_shows_boot_events_then_the_door_calls(tmp_path, owned):
    folder = tmp_path / "board"
    folder.mkdir()
    rng = numpy.random.default_rng(5)
    (folder / "mic.raw").write_bytes(rng.integers(-9000, 9000, 8000 * 10).astype("<i2").tobytes())
    # The flat first: the flashed config names its port.
    media = owned(FlatMedia(bytes(rng.integers(0, 256, 8000).astype(numpy.uint8))))
    flat = start_flat(owned, tmp_path, media, 1500)
    # The pty board "boots" main.py after the soft reset, as a Pico does.
    board = owned(PtyBoard(folder, "640k", stand_in_env(folder)))
    result = flash(board.port, write_pico_toml(tmp_path, flat.port), "--watch", "4")
    board.stop()
    assert result.returncode == 0, result.stderr
    boot = [line[4:] for line in result.stdout.splitlines() if line.startswith("  | {")]
    assert [json.loads(line)["event"] for line in boot][:1] == ["started"], result.stdout
    # no error: the prompt is where the board plays it from
    assert "error" not in [json.loads(line)["event"] for line in boot], result.stdout

    # MICROPYPATH = stand-ins, then the board folder: only flashed code runs.
    door = start_pico_door(owned, folder, "640k", mpy_folder=folder)
    control(folder, "bounce %d pressed 5\n" % BUTTON)
    door.wait_for("call_started")
    control(folder, "release %d\n" % BUTTON)
    door.wait_for("answered")
    ended = door.wait_for("call_ended", timeout=15)
    assert flat.wait(timeout_s=20) == 0, flat.report()
    control(folder, "interrupt\n")  # Ctrl-C: the runtime stops
    assert door.wait(timeout=15) == 0
    media.stop()
    assert ended["duration_ms"] >= 1000
    assert len(media.packets) >= 25  # the door's RTP reached the flat


class FrozenBoard:
    """A board whose firmware has the door frozen in (make firmware), with
    old copies of the modules on its filesystem: what the flasher does to it."""

    def __init__(self, files):
        self.files = dict(files)
        self.copied = []

    def copy(self, files, on_copied):
        for file in files:
            self.files[file.board_path] = (file.sha256, file.size)
            self.copied.append(file.board_path)
            on_copied(file)

    def remove_trees(self, folders):
        for path in list(self.files):
            if path.split("/")[0] in folders:
                del self.files[path]

    def remove(self, paths):
        for path in paths:
            self.files.pop(path, None)

    def make_folders(self, folders):
        pass

    def probe(self):
        return probe(files=dict(self.files))


def test_host_flash_pico_frozen_firmware_gets_config_json_and_the_prompt_only(tmp_path):
    toml = write_pico_toml(tmp_path)
    text = config_json(toml).decode()
    built, prompts = board_config(str(toml), tmp_path / "build")
    assert built == text
    shadows = {
        "main.py": ("a", 9),
        "boards/runtime/runtime.mpy": ("b", 9),
        "intercom/sdp.mpy": ("c", 9),
        "prompts/old_greeting.wav": ("d", 9),
    }
    board = FrozenBoard(shadows)
    lines = []
    flasher = Flasher("/dev/null", "armv6m", lines.append)
    flasher.board = board
    flasher.flash_config_only(text, board.probe(), tmp_path, prompts)
    assert board.copied == ["config.json", "prompts/no_answer.wav"]
    assert sorted(board.files) == ["config.json", "prompts/no_answer.wav"]
    assert board.files["config.json"][0] == hashlib.sha256(text.encode()).hexdigest()
    assert board.files["prompts/no_answer.wav"][0] == prompts[0].sha256
    assert "copying config.json and prompts/no_answer.wav only" in "\n".join(lines)
    # A second flash with the same config copies nothing.
    lines.clear()
    flasher.flash_config_only(text, board.probe(), tmp_path, prompts)
    assert board.copied == ["config.json", "prompts/no_answer.wav"]
    assert lines == ["unchanged: the door is frozen into the firmware and config.json matches"]


def write_wav(path, samples, rate=8000, channels=1, extra_chunk=False):
    """A WAV file; extra_chunk puts a LIST chunk before the data, as editors do."""
    data = numpy.asarray(samples, dtype="<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt
    if extra_chunk:
        chunks += b"LIST" + struct.pack("<I", 10) + b"INFOISFT\x00\x00"
    chunks += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


def test_host_flash_pico_puts_the_owners_prompt_with_the_plain_header(board, tmp_path):
    folder, port = board
    ramp = numpy.arange(-4000, 4000, dtype=numpy.int16)
    write_wav(tmp_path / "greeting.wav", ramp, extra_chunk=True)
    toml = write_pico_toml(tmp_path, voicemail={"prompt": "greeting.wav"})
    result = flash(port, toml)
    assert result.returncode == 0, result.stderr
    on_board = (folder / "prompts" / "greeting.wav").read_bytes()
    assert on_board[:4] == b"RIFF" and on_board[36:40] == b"data"  # the header the board skips
    assert numpy.array_equal(numpy.frombuffer(on_board[44:], dtype="<i2"), ramp)
    config = json.loads((folder / "config.json").read_text())
    assert config["voicemail"]["prompt"] == "prompts/greeting.wav"
    assert not (folder / "prompts" / "no_answer.wav").exists()
    # Back to the default: the owner's file goes, the default comes.
    result = flash(port, write_pico_toml(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (folder / "prompts").iterdir()) == ["no_answer.wav"]


def test_host_flash_pico_refuses_a_prompt_the_door_cannot_play(board, tmp_path):
    folder, port = board
    write_wav(tmp_path / "stereo.wav", numpy.zeros(1600, dtype=numpy.int16), channels=2)
    result = flash(port, write_pico_toml(tmp_path, voicemail={"prompt": "stereo.wav"}))
    assert result.returncode == 1
    assert "stereo" in result.stderr and "8000 Hz mono 16-bit" in result.stderr
    assert "nothing copied" in result.stderr
    assert list(folder.iterdir()) == []
    result = flash(port, write_pico_toml(tmp_path, voicemail={"prompt": "gone.wav"}))
    assert result.returncode == 1 and "gone.wav" in result.stderr
    assert list(folder.iterdir()) == []
