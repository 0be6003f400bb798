# The Pico W on an emulated RP2040 (host_tools/rp2040): the frozen firmware
# (make firmware, from MICROPYTHON_ARCHIVE) runs one whole call through
# Kamailio (host_tools/rp2040/call.py: register, button, answer, wrong code
# refused, right code opens, hang-up). Figures from that run:
#   heap     live heap (gc.collect(), then gc.mem_alloc()) sampled every
#            250 emulated ms from the answer to the hang-up: the peak; the
#            heap after boot.py (stand-ins imported) for reference
#   stack    C-stack high-water mark (painted stack), reset to registration
#            and registration to the call's end; limit 7,936 B
#   cpu      CPU cycles executed (sleep excluded) from the answer to the
#            hang-up, less the heap probe's collections, per 20 ms frame and
#            as a share of clk_sys (125 MHz)
#   flash    firmware.bin size and what is left before the filesystem
# The network, the I2S microphone/amplifier and the heap probe are test
# stand-ins on the littlefs image (tests/boards/pico_rp2040/image): their
# own heap, stack and cycles are included in the figures.

import os
import pathlib
import tempfile

from host_tools.bench.timing import markdown_table
from host_tools.pico_firmware.build import build_firmware
from host_tools.rp2040.call import run_call

SECTION = "Pico W on an emulated RP2040"
ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGE = ROOT / "tests" / "boards" / "pico_rp2040" / "image"
KIB = 1024


def run(options):
    archive = os.environ.get("MICROPYTHON_ARCHIVE") or None
    with open(ROOT / "build" / "pico-build.log", "w") as log:
        firmware = build_firmware(
            ROOT / "build" / "pico", ROOT / "build" / "firmware", archive, log=log
        )
    files = {path.name: path.read_bytes() for path in sorted(IMAGE.glob("*.py"))}
    with tempfile.TemporaryDirectory() as folder:
        figures = run_call(firmware.bin, folder, files).figures()
    rows = [
        [
            "firmware.bin",
            "%d B" % firmware.size,
            "%d B free of %d before the filesystem" % (firmware.free_bytes, firmware.region_bytes),
        ],
        [
            "heap peak in the call (live)",
            "%.1f KiB" % (figures["heap_peak"] / KIB),
            "goal <= 96 KiB; heap %.1f KiB; %d samples; %.1f KiB after boot.py"
            % (figures["heap_size"] / KIB, figures["heap_samples"], figures["heap_boot"] / KIB),
        ],
        ["C stack peak, boot", "%d B" % figures["stack_boot"], "goal <= 7,000 B (limit 7,936 B)"],
        ["C stack peak, call", "%d B" % figures["stack_call"], "registration to hang-up"],
        [
            "CPU per 20 ms frame",
            "%d cycles" % figures["cycles_per_frame"],
            "%.0f %% of %d MHz (goal <= 50 %%), %d ms call"
            % (100 * figures["cpu_share"], figures["clk_sys"] // 1000000, figures["call_ms"]),
        ],
        ["boot to registered", "%d ms" % figures["boot_ms"], "emulated time"],
    ]
    return "\n".join(
        [
            "Command: `make bench` (section `pico`; `python -m host_tools.bench --only pico`).",
            "One call on rp2040js; the network, I2S and heap probe are test stand-ins",
            "(their cost is included). Emulated figures: flash wait states are not modelled.",
            "",
            markdown_table(["figure", "value", "note"], rows),
        ]
    )
