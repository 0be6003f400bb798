"""The Pico W's littlefs filesystem as a flash image (littlefs-python, PyPI).

RPI_PICO_W keeps an 848 KiB littlefs2 filesystem at the end of its 2 MiB
flash (flash offset 0x12C000, MICROPY_HW_FLASH_STORAGE_BYTES): 212 blocks of
4096 bytes. build_image({"config.json": b"...", ...}, path) writes an image
that the runner loads at that offset, where _boot.py mounts it as "/".
A name with folders ("intercom/sip/uri.mpy") gets them made.
"""

import pathlib

from littlefs import LittleFS

BLOCK_SIZE = 4096
BLOCK_COUNT = 212
PROG_SIZE = 256


def build_image(files, path):
    filesystem = LittleFS(block_size=BLOCK_SIZE, block_count=BLOCK_COUNT, prog_size=PROG_SIZE)
    for name, data in files.items():
        folder = name.rpartition("/")[0]
        if folder:
            filesystem.makedirs(folder, exist_ok=True)
        with filesystem.open(name, "wb") as handle:
            handle.write(data)
    path = pathlib.Path(path)
    path.write_bytes(bytes(filesystem.context.buffer))
    return path
