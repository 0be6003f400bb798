"""`python -m host_tools.flash pico` against a pty board whose MicroPython has
a ROMFS partition (the unix port with the vfs.rom_ioctl stand-in from
tests/support/micropython/vfs_rom_partition.py, the partition a file): the
modules land in the partition as the image `mpremote romfs build` makes of
our own x64 compile, only main.py and config.json stay on the filesystem
(a stale module there is removed), a second flash deploys nothing, and the
door then starts from the partition alone. A partition too small for the
image gets files, as a board without one."""

import json
import os
import pathlib

from pty_board import PtyBoard
from support.paths import MICROPYTHON, STAND_INS
from support.pico import build_romfs_image, control, start_pico_door, write_pico_toml
from support.ports import free_port
from test_host_flash_pico import PICO_MODULES, board_files, flash

HERE = pathlib.Path(__file__).resolve().parent


def start_rom_board(owned, tmp_path, partition_bytes):
    """A pty board with a blank (erased) ROMFS partition, its REPL
    `micropython -i mp_romfs_repl.py`; (relay, port, board, partition)."""
    board = tmp_path / "board"
    board.mkdir()
    partition = tmp_path / "romfs.partition"
    partition.write_bytes(b"\xff" * partition_bytes)
    wrapper = tmp_path / "micropython-with-romfs"
    wrapper.write_text(
        '#!/bin/sh\nexec "%s" -i "%s" "$@"\n' % (MICROPYTHON, HERE / "mp_romfs_repl.py")
    )
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "MICROPYPATH": str(STAND_INS),
        "PICO_ROMFS_PARTITION": str(partition),
        "PTY_BOARD_MICROPYTHON": str(wrapper),
    }
    relay = owned(PtyBoard(board, env=env))
    return relay, relay.port, board, partition


def test_host_flash_pico_deploys_a_romfs_image_then_keeps_it(tmp_path, owned):
    relay, port, board, partition = start_rom_board(owned, tmp_path, 512 * 1024)
    try:
        (board / "boards" / "runtime").mkdir(parents=True)
        (board / "boards" / "runtime" / "runtime.mpy").write_bytes(b"M stale")  # would shadow /rom
        toml = write_pico_toml(tmp_path, free_port())
        first = flash(port, toml)
        assert first.returncode == 0, first.stderr
        assert "deploying a ROMFS image" in first.stdout
        assert "verified: the ROMFS image is in the partition" in first.stdout
        deployed = partition.read_bytes()
        reference = build_romfs_image(tmp_path / "reference", "x64").read_bytes()
        assert deployed[: len(reference)] == reference
        # beside the image: the config, main.py and the voicemail's prompt
        assert sorted(board_files(board)) == ["config.json", "main.py", "prompts/no_answer.wav"]
        assert not (board / "boards").exists()  # even empty, it would shadow /rom/boards

        second = flash(port, toml)
        assert second.returncode == 0, second.stderr
        assert "ROMFS unchanged" in second.stdout
        assert "deploying" not in second.stdout
        assert partition.read_bytes() == deployed
    finally:
        relay.stop()

    # The flashed board boots: main.py from the filesystem, every module
    # from the partition (mounted at /rom by support/micropython/mp_romfs_boot.py).
    (board / "mic.raw").write_bytes(bytes(3200))
    door = start_pico_door(owned, board, "640k", romfs_image=partition)
    control(board, "interrupt\n")  # Ctrl-C: the runtime stops
    assert door.wait(timeout=15) == 0
    report = [
        json.loads(line.split(" ", 1)[1])
        for line in (board / "door.stderr").read_text().splitlines()
        if line.startswith("romfs-boot ")
    ]
    assert report and report[0]["outside_rom"] == [] and len(report[0]["modules"]) > 20


def test_host_flash_pico_partition_too_small_for_the_image_gets_files(tmp_path, owned):
    relay, port, board, partition = start_rom_board(owned, tmp_path, 64 * 1024)
    try:
        result = flash(port, write_pico_toml(tmp_path))
    finally:
        relay.stop()
    assert result.returncode == 0, result.stderr
    assert "does not fit the board's 65536-byte ROMFS partition: copying files" in result.stdout
    files = board_files(board)
    for module in PICO_MODULES:
        assert module + ".mpy" in files
    assert partition.read_bytes() == b"\xff" * 64 * 1024
