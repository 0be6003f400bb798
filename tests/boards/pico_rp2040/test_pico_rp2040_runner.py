"""The emulator runner (host_tools/rp2040) on the frozen Pico W firmware:
what it counts as busy. A Pico that waits (WFE) with its USB CDC port open
must be counted asleep, not busy, or the CPU figures of the call (make
bench) measure the emulator instead of the door."""

import pytest

from host_tools.rp2040.emulator import EmulatedPico
from host_tools.rp2040.littlefs_image import build_image

pytestmark = pytest.mark.integration  # the emulated RP2040 on a firmware build
IDLE_MS = 1000
# boot.py on the test image: a boot.py that fails keeps the frozen main.py
# from running (ports/rp2/main.c), and the REPL waits for input on USB.
REPL_BOOT = b"raise RuntimeError('stay at the REPL')\n"


def test_a_pico_waiting_at_the_repl_with_its_usb_port_open_is_counted_asleep(
    pico_firmware, tmp_path
):
    image = build_image({"boot.py": REPL_BOOT}, tmp_path / "littlefs.img")
    pico = EmulatedPico(pico_firmware.bin, image, tmp_path)
    pico.start()
    try:
        pico.wait_for(lambda event: event["ev"] == "ready", 120)
        start = pico.mark("start")
        pico.wait_for(lambda event: event["ns"] >= start["ns"] + IDLE_MS * 1000000, 120)
        end = pico.mark("end")
    finally:
        pico.stop()
    elapsed_cycles = (end["ns"] - start["ns"]) * end["clk_sys"] // 1000000000
    busy_cycles = end["busy"] - start["busy"]
    # Asleep for most of the second: the USB port, open and quiet, wakes
    # nothing.
    assert busy_cycles < elapsed_cycles // 2, (busy_cycles, elapsed_cycles)
