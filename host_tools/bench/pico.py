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
#            hang-up, per 20 ms frame and as a share of clk_sys (125 MHz):
#            the door's, and the test code's apart (the runner counts the
#            cycles of Python functions whose bytecode is in RAM, i.e. the
#            image's stand-ins and heap probe, the C glue into their
#            ioctl() and the network UART's interrupt:
#            host_tools/rp2040/attribution.mjs); the same for the registered
#            door idle for 2 s before the call; wake-ups per second
#   flash    firmware.bin size and what is left before the filesystem
#   stock    the STOCK RPI_PICO_W firmware from the same source with the door
#            as .mpy files on its filesystem (what make flash does to a
#            board running MicroPython's download; host_tools/rp2040/
#            stock.py): whether the door starts, else where it stopped and
#            the live heap then
# The network, the I2S microphone/amplifier and the heap probe are test
# stand-ins on the littlefs image (tests/boards/pico_rp2040/image): their
# heap and stack are included in the figures, their cycles are not.
# `python -m host_tools.rp2040.profile` shows where the cycles go.

import os
import pathlib
import tempfile

from host_tools.bench.timing import markdown_table
from host_tools.pico_firmware.build import build_firmware
from host_tools.rp2040.call import IMAGE, image_files, run_call
from host_tools.rp2040.stock import boot_from_mpy

SECTION = "Pico W on an emulated RP2040"
ROOT = pathlib.Path(__file__).resolve().parents[2]
KIB = 1024


def stock_row(stock, outcome):
    name = "stock firmware, door from .mpy"
    size = "stock firmware.bin %d B" % stock.size
    if outcome["started"]:
        return [name, "starts", "%s; boot C stack %d B" % (size, outcome["stack_peak"])]
    heap = outcome["heap_alloc"] + outcome["heap_free"]
    return [
        name,
        "does not start",
        "%s at %s; then %.1f KiB live of %.1f KiB, %d modules imported; %s"
        % (
            outcome["error"],
            outcome["where"],
            outcome["heap_alloc"] / KIB,
            heap / KIB,
            outcome["modules"],
            size,
        ),
    ]


def run(options):
    archive = os.environ.get("MICROPYTHON_ARCHIVE") or None
    work = ROOT / "build" / "pico"
    with open(ROOT / "build" / "pico-build.log", "w") as log:
        firmware = build_firmware(work, ROOT / "build" / "firmware", archive, log=log)
        stock = build_firmware(
            work, ROOT / "build" / "firmware-stock", archive, log=log, frozen=False
        )
    with tempfile.TemporaryDirectory() as folder:
        figures = run_call(firmware.bin, folder, image_files(IMAGE)).figures()
    with tempfile.TemporaryDirectory() as folder:
        outcome = boot_from_mpy(stock.bin, pathlib.Path(folder), image_files(IMAGE))
    mhz = figures["clk_sys"] // 1000000
    call = figures["call"]
    idle = figures["idle"]
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
            "door CPU per 20 ms frame, call",
            "%d cycles" % figures["door_cycles_per_frame"],
            "%.1f %% of %d MHz (goal <= 50 %%), answer to hang-up (%d ms)"
            % (100 * call["door_share"], mhz, figures["call_ms"]),
        ],
        [
            "test code per 20 ms frame, call",
            "%d cycles" % figures["test_cycles_per_frame"],
            "%.1f %% of %d MHz: stand-ins and heap probe, not counted above "
            "(all: %d cycles, %.1f %%)"
            % (
                100 * call["test_share"],
                mhz,
                figures["cycles_per_frame"],
                100 * call["busy_share"],
            ),
        ],
        [
            "door CPU, talk",
            "%.1f %%" % (100 * figures["talk"]["door_share"]),
            "of %d MHz, the first %d ms after the answer: RTP both ways, no digits or tones"
            % (mhz, figures["talk"]["ms"]),
        ],
        [
            "door CPU, idle registered",
            "%.1f %%" % (100 * idle["door_share"]),
            "of %d MHz, %d ms before the button (test code %.1f %% more)"
            % (mhz, idle["ms"], 100 * idle["test_share"]),
        ],
        [
            "wake-ups",
            "%.0f/s idle, %.0f/s call" % (idle["wakeups_per_s"], call["wakeups_per_s"]),
            "WFE/WFI sleeps ended; %.0f / %.0f busy cycles per wake-up"
            % (idle["cycles_per_wakeup"], call["cycles_per_wakeup"]),
        ],
        ["boot to registered", "%d ms" % figures["boot_ms"], "emulated time"],
        stock_row(stock, outcome),
    ]
    return "\n".join(
        [
            "Command: `make bench` (section `pico`; `python -m host_tools.bench --only pico`).",
            "One call on rp2040js; the network, I2S and heap probe are test stand-ins whose",
            "cycles are counted apart (host_tools/rp2040/attribution.mjs; where the cycles go:",
            "`python -m host_tools.rp2040.profile`). Emulated figures: flash wait states are",
            "not modelled.",
            "",
            markdown_table(["figure", "value", "note"], rows),
        ]
    )
