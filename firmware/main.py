# MicroPython entry point (DESIGN.md, Contracts: Commands): loads config.json
# from the current folder and runs the board it names.
#
#   cd FOLDER_WITH_CONFIG_JSON
#   MICROPYPATH=/path/to/firmware micropython /path/to/firmware/main.py
#
# The sim board prints JSON events on stdout and reads press/release/hangup/
# quit on stdin. INTERCOM_LOCAL_HOST (where the port has os.getenv) names our
# address when it cannot be found (the unix port has no getsockname).
# Exit status: 0 after quit, 1 when the device cannot start, 2 for a config
# problem (each printed on stderr). A board whose run() returns None (the
# Pico W after Ctrl-C on its console) gets no sys.exit(): on rp2 that would
# soft-reboot into the door again instead of leaving the REPL.
#
# MicroPython collects garbage only when an allocation fails: by then the
# garbage of many imports or audio frames lies between the long-lived
# objects, and a buffer that needs one piece (the I2S ring buffers at boot,
# a 4 KiB SIP receive) may find no free run long enough although the heap
# has room. So the heap is collected whenever a quarter of it has been
# allocated since the last collection, from the first import on
# (gc.threshold): on a Pico W every 40-48 KiB. An eighth needs 8 KiB less
# heap in the Pico call test but costs the MicroPython door about 7 % more
# CPU in the call benchmark (make bench).
#
# The config loader and its schema run once: before the board module is
# imported, they leave sys.modules and their packages, so that on a Pico W
# their functions and tables leave the heap before the board's modules need
# it (the board keeps the effective config, a plain dict; no board module
# imports the loader or the schema).

import gc
import os
import sys

GC_THRESHOLD_SHARE = 4  # collect after 1/4 of the heap was allocated
gc.threshold((gc.mem_free() + gc.mem_alloc()) // GC_THRESHOLD_SHARE)

from intercom.errors import ConfigError  # noqa: E402 (after the threshold)

CONFIG_PATH = "config.json"
EXIT_CONFIG = 2
BOOT_ONLY_MODULES = ("boards.cli.config_file", "intercom.config")


def forget_modules(names):
    """Drops each module from sys.modules and from its package's attributes."""
    for name in names:
        sys.modules.pop(name, None)
        package_name, _, attribute = name.rpartition(".")
        package = sys.modules.get(package_name)
        if package is not None and hasattr(package, attribute):
            delattr(package, attribute)


def load_config(path):
    from boards.cli import config_file

    return config_file.load_config(path)


def main():
    try:
        config = load_config(CONFIG_PATH)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    board = config["device"]["board"]
    local_host = os.getenv("INTERCOM_LOCAL_HOST") if hasattr(os, "getenv") else None
    if board not in ("sim", "pico_w"):
        print(
            "%s: device.board: '%s' runs on CPython (intercom run)" % (CONFIG_PATH, board),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    forget_modules(BOOT_ONLY_MODULES)  # before the board's imports need the heap
    gc.collect()
    if board == "sim":
        from boards.sim import board as board_module
    else:
        from boards.pico_w import board as board_module
    return board_module.run(config, log_mode="json", local_host=local_host)


_status = main()
if _status is not None:
    sys.exit(_status)
