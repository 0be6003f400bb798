"""The door from .mpy files on the STOCK RPI_PICO_W firmware, emulated:
what `make flash TARGET=pico` does to a board running MicroPython's own
download (host_tools/flash: mpy-cross -march=armv6m, the manifest's
modules and main.py copied to the filesystem; the stock Pico W firmware has
no ROMFS partition, so the modules load into the heap).

    outcome = boot_from_mpy(stock_firmware_bin, folder, image_files)

boots it with the test image (the network stand-ins, a config.json whose
server nobody answers) and waits until the door has started or main.py
stopped with an exception. The outcome: "started" (bool), "error" (the
exception line, or None) and "where" (the traceback's last File line),
and the heap then (gc.collect(), then
mem_alloc/mem_free at the REPL) with the number of modules imported, when
the door stopped; the C-stack peak of the boot.
"""

import re

from host_tools.flash.firmware_build import compile_firmware
from host_tools.rp2040.call import NETWORK_UART, config_json, door_toml
from host_tools.rp2040.emulator import EmulatedPico
from host_tools.rp2040.kamailio import free_udp_port
from host_tools.rp2040.littlefs_image import build_image

BOOT_TIMEOUT_S = 300
HEAP_MARK = "STOCK-HEAP"
HEAP_QUESTION = (
    b"import gc, sys; gc.collect(); "
    b"print('STOCK-HEAP', gc.mem_alloc(), gc.mem_free(), len(sys.modules))\r"
)
ERROR_LINE = re.compile(r"^[A-Za-z]+(Error|Exception): ")


def mpy_files(folder):
    """{board path: bytes} of what make flash copies: the modules as .mpy, main.py."""
    files = compile_firmware(folder, "armv6m", "{}")
    return {f.board_path: f.local_path.read_bytes() for f in files if f.board_path != "config.json"}


def boot_from_mpy(firmware_bin, folder, image_files):
    files = dict(image_files)
    files.update(mpy_files(folder / "mpy"))
    files["config.json"] = config_json(folder, door_toml(free_udp_port(), free_udp_port()))
    image = build_image(files, folder / "littlefs.img")
    pico = EmulatedPico(firmware_bin, image, folder, network_uart=NETWORK_UART)
    pico.start()
    try:
        pico.wait_for(
            lambda event: (
                event["ev"] == "usb" and ('"started"' in event["data"] or pico.at_prompt())
            ),
            BOOT_TIMEOUT_S,
        )
        lines = pico.usb_lines
        error_at = next((i for i, line in enumerate(lines) if ERROR_LINE.match(line)), None)
        outcome = {
            "started": any('"started"' in line for line in lines),
            "error": None if error_at is None else lines[error_at],
            "where": None if error_at is None else lines[error_at - 1].strip(),
            "stack_peak": pico.mark("boot")["stack_peak"],
            "heap_alloc": None,
            "heap_free": None,
            "modules": None,
        }
        if not outcome["started"]:
            pico.type_usb(HEAP_QUESTION)
            pico.wait_for(
                lambda event: any(line.startswith(HEAP_MARK) for line in pico.usb_lines), 60
            )
            line = next(line for line in pico.usb_lines if line.startswith(HEAP_MARK))
            alloc, free, modules = map(int, line.split()[1:])
            outcome.update(heap_alloc=alloc, heap_free=free, modules=modules)
        return outcome
    finally:
        pico.stop()
