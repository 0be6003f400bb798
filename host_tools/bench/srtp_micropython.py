# Run by MicroPython (the unix port with MICROPYPATH=firmware:host_tools/bench,
# or the emulated Pico W from its filesystem: the srtp section of make
# bench): times intercom.media.srtp's protect and unprotect of one G.711
# packet per packet time (cryptolib's AES, hashlib's SHA-1) beside the
# G.711 encoding of the same audio (the reference), and counts the heap
# bytes each packet allocates (gc.mem_alloc with the collector off).
# Prints one JSON object per line: path (viper or plain), ptime,
# protect_us, unprotect_us, reference_us (medians), protect_bytes,
# unprotect_bytes (per packet).
#
# Usage: micropython srtp_micropython.py [PACKETS] [plain]
# On a board: import srtp_micropython; srtp_micropython.main(PACKETS, False)

import gc
import json
import sys
import time

import cryptolib
from intercom.media import g711, srtp

MASTER = bytes(range(30))
SUITE = "AES_CM_128_HMAC_SHA1_80"
ALLOCATION_PACKETS = 10  # with the collector off: few enough for a Pico's heap


def new_aes(key):
    return cryptolib.aes(key, 1)


def packet(ptime, number):
    data = bytearray(12 + 8 * ptime)
    data[0] = 0x80
    data[2] = (number >> 8) & 0xFF
    data[3] = number & 0xFF
    data[8:12] = b"\x11\x22\x33\x44"
    return data


def median(values):
    values.sort()
    return values[len(values) // 2]


def measure(ptime, packets):
    sender = srtp.SrtpContext(SUITE, MASTER, new_aes)
    receiver = srtp.SrtpContext(SUITE, MASTER, new_aes)
    pcm = bytearray(16 * ptime)
    encoded = bytearray(8 * ptime)
    plain = packet(ptime, 0)
    protect_us = []
    unprotect_us = []
    reference_us = []
    for number in range(packets):
        plain[2] = (number >> 8) & 0xFF
        plain[3] = number & 0xFF
        started = time.ticks_us()
        g711.ulaw_encode_into(pcm, encoded)
        encoded_at = time.ticks_us()
        protected = sender.protect(plain)
        protected_at = time.ticks_us()
        restored = receiver.unprotect(protected)
        ended = time.ticks_us()
        if restored is None:
            raise SystemExit("unprotect failed")
        reference_us.append(time.ticks_diff(encoded_at, started))
        protect_us.append(time.ticks_diff(protected_at, encoded_at))
        unprotect_us.append(time.ticks_diff(ended, protected_at))
    protect_bytes, unprotect_bytes = allocated(ptime, ALLOCATION_PACKETS)
    return {
        "path": "plain" if srtp._xor_into is srtp.xor_plain else "viper",
        "ptime": ptime,
        "protect_us": median(protect_us),
        "unprotect_us": median(unprotect_us),
        "reference_us": median(reference_us),
        "protect_bytes": protect_bytes,
        "unprotect_bytes": unprotect_bytes,
    }


def allocated(ptime, packets):
    """Heap bytes per protect and per unprotect (the collector off)."""
    sender = srtp.SrtpContext(SUITE, MASTER, new_aes)
    receiver = srtp.SrtpContext(SUITE, MASTER, new_aes)
    twin = srtp.SrtpContext(SUITE, MASTER, new_aes)  # the packets to unprotect, made first
    plain = packet(ptime, 0)
    kept = [bytes(twin.protect(packet(ptime, number))) for number in range(packets)]
    sender.protect(plain)  # the views of this length, made once
    receiver.unprotect(kept.pop(0))
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for number in range(1, packets):
        plain[2] = (number >> 8) & 0xFF
        plain[3] = number & 0xFF
        sender.protect(plain)
    middle = gc.mem_alloc()
    for data in kept:
        receiver.unprotect(data)
    after = gc.mem_alloc()
    gc.enable()
    return (middle - before) // (packets - 1), (after - middle) // (packets - 1)


def main(packets, plain):
    if plain:  # the byte loops without viper, for comparison
        srtp._xor_into = srtp.xor_plain
        srtp._fill_counters = srtp.fill_counters_plain
    for ptime in (20, 60):
        print(json.dumps(measure(ptime, packets)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50, "plain" in sys.argv)
