# Boot shim for the ROMFS runs of the Pico W door (support/pico.py), run by
# the MicroPython unix port in the folder acting as the board's filesystem:
#
#   LD_PRELOAD=flash_map.so PICO_FLASH_IMAGE=IMAGE \
#   MICROPYPATH=tests/support/micropython micropython -X heapsize=N mp_romfs_boot.py
#
# What a Pico with a ROMFS partition does at boot, in the unix port's terms:
# the image (built by `mpremote romfs build`, or a partition file holding
# one) lies outside the heap, mapped read-only by flash_map.c where a Pico
# has it in flash; PICO_FLASH_AT gives its address and length. It is mounted
# in place at /rom (uctypes.bytearray_at: no copy), sys.path becomes the
# device's ("" for the current folder, then /rom and /rom/lib, then
# MICROPYPATH's stand-ins; not this shim's folder), and main.py (in the
# current folder) runs as __main__, as MicroPython runs it at boot. Imports
# from /rom execute in place: bytecode and constants' data stay in the
# image, so the heap holds only the door's objects.
#
# On exit it writes one line on stderr, after everything the door printed:
#   romfs-boot {"image": BYTES, "modules": [NAME, ...], "outside_rom": [...],
#               "live_peak": BYTES, "samples": N}
# image is the ROMFS image's length (the mapping may be a larger partition);
# modules names the firmware modules (intercom.*, boards.*) still loaded at
# exit; outside_rom names every one of them that was not loaded from /rom.
# With PICO_HEAP_SAMPLE_MS set, a loop timer runs gc.collect() and reads
# gc.mem_alloc() that often (the live heap; host_tools/bench/
# mp_heap_door.py's sampler); otherwise live_peak and samples are 0.

import os
import sys

import uctypes
import vfs

MOUNT = "/rom"
REPORT_PREFIX = "romfs-boot "


def image_length(head):
    """Bytes of the ROMFS image that starts with head: the b"\xd2\xcd\x31"
    header, a base-128 varint of the rest's length, the rest."""
    if head[:3] != b"\xd2\xcd\x31":
        raise OSError("not a ROMFS image")
    size = 0
    at = 3
    while True:
        size = (size << 7) | (head[at] & 0x7F)
        at += 1
        if not head[at - 1] & 0x80:
            return at + size


def mapped_flash():
    """The flash mapping flash_map.c made, as a bytearray over it (no copy)."""
    where = os.getenv("PICO_FLASH_AT")
    if where is None:
        raise OSError("no flash mapping: run with LD_PRELOAD=flash_map.so PICO_FLASH_IMAGE=…")
    address, length = (int(part) for part in where.split())
    return uctypes.bytearray_at(address, length)


def firmware_modules_outside_rom():
    outside = []
    for name, module in sys.modules.items():
        if name.split(".")[0] not in ("intercom", "boards"):
            continue
        path = getattr(module, "__file__", "")
        if not path.startswith(MOUNT + "/"):
            outside.append("%s=%s" % (name, path))
    return outside


def report(image_bytes, sampler):
    import json

    firmware = [n for n in sys.modules if n.split(".")[0] in ("intercom", "boards")]
    figures = {
        "image": image_bytes,
        "modules": sorted(firmware),
        "outside_rom": firmware_modules_outside_rom(),
        "live_peak": sampler.live_peak if sampler is not None else 0,
        "samples": sampler.samples if sampler is not None else 0,
    }
    sys.stderr.write(REPORT_PREFIX + json.dumps(figures) + "\n")


def boot():
    flash = mapped_flash()
    image_bytes = image_length(flash[:12])
    vfs.mount(vfs.VfsRom(flash), MOUNT)
    sys.path[0] = ""  # was this shim's folder
    sys.path[1:1] = [MOUNT, MOUNT + "/lib"]
    sampler = None
    period = os.getenv("PICO_HEAP_SAMPLE_MS")
    if period:  # host_tools/bench is on MICROPYPATH for this run
        from boards.runtime import runtime
        from mp_heap_door import HeapSampler, sampled_loop_class

        sampler = HeapSampler()
        runtime.Loop = sampled_loop_class(sampler, int(period))  # Runtime() builds its loop from it
    with open("main.py") as source:
        code = compile(source.read(), "main.py", "exec")
    try:
        exec(code, {"__name__": "__main__"})
    finally:
        report(image_bytes, sampler)


boot()
