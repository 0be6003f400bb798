# Run by the MicroPython unix port (MICROPYPATH=firmware), from
# host_tools.bench.g711: times the G.711 loops compiled three ways and prints
# one JSON object per line: law, operation, samples, path, min_ns, median_ns.
# It times encode_into/decode_into into preallocated buffers: the 20 ms path
# on a Pico, where allocating per frame would bring garbage collections.
#
#   bytecode           intercom.media.g711_plain's loops as they are
#   native             the same source compiled with @micropython.native
#   viper              intercom.media.g711_viper (16-bit word loops)
#   viper odd address  the same, source and destination starting at odd
#                      addresses (memoryview slices): its byte loops
#
# Usage: micropython g711_micropython.py [ROUNDS]

import json
import sys
import time

import micropython  # noqa: F401 (the exec'd native source refers to it)
from intercom.media import g711_plain, g711_viper
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

RUN_US = 20000


def native_loops():
    """g711_plain's loops recompiled with @micropython.native."""
    path = g711_plain.__file__
    with open(path) as source_file:
        source = source_file.read()
    source = source.replace("\ndef encode_loop", "\n@micropython.native\ndef encode_loop")
    source = source.replace("\ndef decode_loop", "\n@micropython.native\ndef decode_loop")
    namespace = {"micropython": micropython}
    exec(source, namespace)
    return namespace["encode_loop"], namespace["decode_loop"]


def run_us(function, source, output, calls):
    started = time.ticks_us()
    for _ in range(calls):
        function(source, output)
    return time.ticks_diff(time.ticks_us(), started)


def calls_lasting(function, source, output):
    calls = 1
    while run_us(function, source, output, calls) < RUN_US:
        calls *= 2
    return calls


def time_side_by_side(candidates, items, rounds):
    """[(minimum, median) ns per item] for [(function, source, output)].

    Every round times each candidate once, one after the other, so load
    from other processes hits them alike.
    """
    calls = [calls_lasting(*candidate) for candidate in candidates]
    samples = [[] for _ in candidates]
    for _ in range(rounds):
        for index, candidate in enumerate(candidates):
            elapsed = run_us(candidate[0], candidate[1], candidate[2], calls[index])
            samples[index].append(elapsed * 1000 / calls[index] / items)
    results = []
    for values in samples:
        values.sort()
        results.append((values[0], values[len(values) // 2]))
    return results


def test_pcm(samples):
    out = bytearray(2 * samples)
    state = 711
    for index in range(2 * samples):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out[index] = state >> 16 & 0xFF
    return bytes(out)


def at(offset, buffer):
    """buffer itself, or a memoryview of it starting `offset` bytes later
    (a copy of bytes is shifted first, so the view holds the same bytes)."""
    if offset == 0:
        return buffer
    if isinstance(buffer, bytes):
        buffer = bytes(offset) + buffer
    return memoryview(buffer)[offset:]


def main(rounds):
    plain_loops = (g711_plain.encode_loop, g711_plain.decode_loop)
    for law, tables in (("u-law", ULAW_TABLES), ("A-law", ALAW_TABLES)):
        codecs = (
            ("bytecode", 0, g711_plain.LoopCodec("bytecode", tables, *plain_loops)),
            ("native", 0, g711_plain.LoopCodec("native", tables, *native_loops())),
            ("viper", 0, g711_viper.ViperCodec(tables)),
            ("viper odd address", 1, g711_viper.ViperCodec(tables)),
        )
        for samples in (160, 8000):
            pcm = test_pcm(samples)
            labels = []
            candidates = []
            for path, offset, codec in codecs:
                codes = codec.encode(pcm)
                labels.append((path, "encode"))
                candidates.append(
                    (codec.encode_into, at(offset, pcm), at(offset, bytearray(offset + samples)))
                )
                labels.append((path, "decode"))
                candidates.append(
                    (
                        codec.decode_into,
                        at(offset, codes),
                        at(offset, bytearray(offset + 2 * samples)),
                    )
                )
            timings = time_side_by_side(candidates, samples, rounds)
            for index in range(len(labels)):
                path, operation = labels[index]
                best, median = timings[index]
                entry = {
                    "law": law,
                    "operation": operation,
                    "samples": samples,
                    "path": path,
                    "min_ns": best,
                    "median_ns": median,
                }
                print(json.dumps(entry))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
