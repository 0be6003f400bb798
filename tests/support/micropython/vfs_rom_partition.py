# Stand-in for a ROMFS partition on the MicroPython unix port (flash tests
# of host_tools/flash against a pty board): the unix port's `vfs` has
# VfsRom but no rom_ioctl, so a board with a ROMFS partition runs
#
#   import sys, vfs_rom_partition
#   sys.modules["vfs"] = vfs_rom_partition   # `import vfs` now finds this
#
# before its REPL (micropython -i). The module keeps the builtin vfs names
# and adds rom_ioctl() with the semantics of extmod/vfs_rom.c and the rp2
# port (ports/rp2/rp2_flash.c): one partition, memory-mapped (a memoryview,
# no block device object), erased in blocks to 0xFF before writing.
#
#   PICO_ROMFS_PARTITION  the partition's contents (a file of its full size);
#                         without it the board has no ROMFS partition
#
# rom_ioctl(1)                       number of partitions (1, or 0)
# rom_ioctl(2, id)                   the partition as a memoryview, or -ENOENT
# rom_ioctl(3, id, length)           erase the first length bytes (rounded up
# rom_ioctl(3, id, offset, length)   to blocks); returns the minimum write size
# rom_ioctl(4, id, offset, buffer)   write; 0
# rom_ioctl(5, id)                   writing complete (saved to the file); 0
# rom_ioctl(6, id)                   erase block size
# Anything else is -EINVAL, as the ports answer.

import os

from vfs import VfsPosix, VfsRom, mount, umount  # noqa: F401 (re-exported)

BLOCK_SIZE = 4096
MIN_WRITE = 4
ENOENT = 2
EINVAL = 22


class _Partition:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as image:
            self.data = bytearray(image.read())

    def erase(self, offset, length):
        end = min(len(self.data), (offset + length + BLOCK_SIZE - 1) // BLOCK_SIZE * BLOCK_SIZE)
        for index in range(offset, end):
            self.data[index] = 0xFF
        return MIN_WRITE

    def write(self, offset, buffer):
        self.data[offset : offset + len(buffer)] = buffer
        return 0

    def save(self):
        with open(self.path, "wb") as image:
            image.write(self.data)
        return 0


def _open_partition():
    path = os.getenv("PICO_ROMFS_PARTITION")
    return _Partition(path) if path else None


_PARTITION = _open_partition()  # the board's flash: one per process


def rom_ioctl(command, *arguments):
    partition = _PARTITION
    if command == 1:
        return 1 if partition is not None else 0
    if partition is None or not arguments or arguments[0] != 0:
        return -ENOENT
    if command == 2:
        return memoryview(partition.data)
    if command == 3 and len(arguments) == 2:
        return partition.erase(0, arguments[1])
    if command == 3 and len(arguments) == 3:
        return partition.erase(arguments[1], arguments[2])
    if command == 4 and len(arguments) == 3:
        return partition.write(arguments[1], arguments[2])
    if command == 5:
        return partition.save()
    if command == 6:
        return BLOCK_SIZE
    return -EINVAL
