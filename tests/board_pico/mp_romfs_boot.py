# Boot shim for the ROMFS run of the Pico W call (test_pico_call.py), run by
# the MicroPython unix port in the folder acting as the board's filesystem:
#
#   MICROPYPATH=tests/fakes/micropython micropython -X heapsize=N mp_romfs_boot.py
#
# What a Pico with a ROMFS partition does at boot, in the unix port's terms:
# the image (PICO_ROMFS_IMAGE: built by `mpremote romfs build`, or a
# partition file holding one) is read into ONE bytes object before anything
# else, so it sits at the bottom of the heap where a Pico has it in flash;
# it is mounted at /rom, sys.path becomes the device's ("" for the current
# folder, then /rom and /rom/lib, then MICROPYPATH's stand-ins; not this
# shim's folder), and main.py (in the current folder) runs as __main__, as
# MicroPython runs it at boot. Imports from /rom execute in place: bytecode
# and constants stay in the image.
#
# On exit it writes one line on stderr, after everything the door printed:
#   romfs-boot {"image": BYTES, "modules": N, "outside_rom": [...],
#               "live_peak": BYTES, "samples": N}
# outside_rom names every firmware module (intercom.*, boards.*) that was
# not loaded from /rom. With PICO_HEAP_SAMPLE_MS set, a loop timer runs
# gc.collect() and reads gc.mem_alloc() that often (the live heap, the image
# included; host_tools/bench/mp_heap_door.py's sampler); otherwise
# live_peak and samples are 0.

import os
import sys

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


def load_image(path):
    """The image in path (an image file, or a partition holding one and
    erased flash after it) as one bytes object."""
    with open(path, "rb") as image_file:
        length = image_length(image_file.read(12))
        image_file.seek(0)
        image = image_file.read(length)
    if len(image) != length:
        raise OSError("short read of the ROMFS image")
    return image


def firmware_modules_outside_rom():
    outside = []
    for name, module in sys.modules.items():
        if name.split(".")[0] not in ("intercom", "boards"):
            continue
        path = getattr(module, "__file__", "")
        if not path.startswith(MOUNT + "/"):
            outside.append("%s=%s" % (name, path))
    return outside


def report(image, sampler):
    import json

    firmware = [n for n in sys.modules if n.split(".")[0] in ("intercom", "boards")]
    figures = {
        "image": len(image),
        "modules": len(firmware),
        "outside_rom": firmware_modules_outside_rom(),
        "live_peak": sampler.live_peak if sampler is not None else 0,
        "samples": sampler.samples if sampler is not None else 0,
    }
    sys.stderr.write(REPORT_PREFIX + json.dumps(figures) + "\n")


def boot():
    image = load_image(os.getenv("PICO_ROMFS_IMAGE"))
    vfs.mount(vfs.VfsRom(image), MOUNT)
    sys.path[0] = ""  # was this shim's folder
    sys.path[1:1] = [MOUNT, MOUNT + "/lib"]
    sampler = None
    period = os.getenv("PICO_HEAP_SAMPLE_MS")
    if period:  # host_tools/bench is on MICROPYPATH for this run
        from boards import runtime
        from mp_heap_door import HeapSampler, sampled_loop_class

        sampler = HeapSampler()
        runtime.Loop = sampled_loop_class(sampler, int(period))  # Runtime() builds its loop from it
    with open("main.py") as source:
        code = compile(source.read(), "main.py", "exec")
    try:
        exec(code, {"__name__": "__main__"})
    finally:
        report(image, sampler)


boot()
