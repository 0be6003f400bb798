# Start of the pty board's REPL for test_host_flash_pico_romfs.py (run as
# `micropython -i mp_romfs_repl.py`): `import vfs` then finds the stand-in
# with rom_ioctl and a ROMFS partition (tests/support/micropython), as on a
# Pico whose MicroPython was built with one.

import sys

import vfs_rom_partition

sys.modules["vfs"] = vfs_rom_partition
