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
# problem (each printed on stderr).

import os
import sys

from boards import config_file
from intercom.errors import ConfigError

CONFIG_PATH = "config.json"
EXIT_CONFIG = 2


def main():
    try:
        config = config_file.load_config(CONFIG_PATH)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    board = config["device"]["board"]
    local_host = os.getenv("INTERCOM_LOCAL_HOST") if hasattr(os, "getenv") else None
    if board == "sim":
        from boards import sim as board_module
    elif board == "pico_w":
        from boards import pico_w as board_module
    else:
        print(
            "%s: device.board: '%s' runs on CPython (intercom run)" % (CONFIG_PATH, board),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return board_module.run(config, CONFIG_PATH, log_mode="json", local_host=local_host)


sys.exit(main())
