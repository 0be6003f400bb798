# G.711 speed: our paths (c, numpy, pure, plain) against audioop and a plain
# numpy lookup on CPython, and on the MicroPython unix port (bytecode, native,
# viper).

import json
import os
import pathlib
import random
import subprocess
import sys
import warnings

from intercom.media import g711
from intercom.media.g711_tables import ALAW_TABLES, ULAW_TABLES

from host_tools.bench.timing import markdown_table, time_side_by_side

SECTION = "G.711 encode/decode"

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MICROPYTHON_SCRIPT = pathlib.Path(__file__).with_name("g711_micropython.py")
FRAME_SIZES = (160, 8000)  # one 20 ms frame; one second
LAWS = (("u-law", ULAW_TABLES), ("A-law", ALAW_TABLES))
TARGET_ENCODE_RATIO = 1.0  # default CPython path vs audioop, 160-sample frame
TARGET_DECODE_RATIO = 5.0
TARGET_VIPER_NS = 5.0

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
except ImportError:  # removed from the standard library in 3.13
    audioop = None
try:
    import numpy
except ImportError:
    numpy = None


def test_pcm(samples):
    """Deterministic full-range noise: every table region gets hit."""
    generator = random.Random(711)
    return bytes(generator.getrandbits(8) for _ in range(2 * samples))


def references(law, tables):
    """{name: (encode, decode)} of the code we compare against."""
    found = {}
    if audioop is not None:
        if law == "u-law":
            found["audioop"] = (
                lambda pcm: audioop.lin2ulaw(pcm, 2),
                lambda data: audioop.ulaw2lin(data, 2),
            )
        else:
            found["audioop"] = (
                lambda pcm: audioop.lin2alaw(pcm, 2),
                lambda data: audioop.alaw2lin(data, 2),
            )
    if numpy is not None:
        encode_table, shift, low, high = tables
        wide = numpy.repeat(numpy.frombuffer(encode_table, numpy.uint8), 1 << shift)
        samples = numpy.empty(256, numpy.dtype("<i2"))
        samples.view(numpy.uint8)[0::2] = numpy.frombuffer(low, numpy.uint8)
        samples.view(numpy.uint8)[1::2] = numpy.frombuffer(high, numpy.uint8)
        found["numpy table (ref)"] = (
            lambda pcm: wide.take(numpy.frombuffer(pcm, numpy.uint16)).tobytes(),
            lambda data: samples.take(numpy.frombuffer(data, numpy.uint8)).tobytes(),
        )
    return found


def cpython_rows(options):
    rows = []
    results = {}
    for law, tables in LAWS:
        encode_default = g711.ULAW_ENCODER if law == "u-law" else g711.ALAW_ENCODER
        decode_default = g711.ULAW_DECODER if law == "u-law" else g711.ALAW_DECODER
        candidates = {}
        for name, codec in g711.available_codecs(tables).items():
            candidates[name] = (codec.encode, codec.decode)
        public = (g711.ulaw_encode, g711.ulaw_decode)
        if law == "A-law":
            public = (g711.alaw_encode, g711.alaw_decode)
        candidates["g711 default"] = public
        candidates.update(references(law, tables))
        for samples in FRAME_SIZES:
            pcm = test_pcm(samples)
            codes = g711.available_codecs(tables)["plain"].encode(pcm)
            for operation, data in (("encode", pcm), ("decode", codes)):
                slot = 0 if operation == "encode" else 1
                default_codec = encode_default if operation == "encode" else decode_default
                timings = time_side_by_side(
                    {
                        name: (lambda function=functions[slot], data=data: function(data))
                        for name, functions in candidates.items()
                    },
                    samples,
                    options.rounds,
                    options.run_s,
                )
                results[(law, operation, samples)] = timings
                reference = timings.get("audioop")
                for name, (best, median) in timings.items():
                    label = name + " *" if name == default_codec.path else name
                    ratio = "%.2f" % (best / reference[0]) if reference else "n/a"
                    rows.append(
                        [
                            law,
                            operation,
                            str(samples),
                            label,
                            "%.1f" % best,
                            "%.1f" % median,
                            ratio,
                        ]
                    )
    return rows, results


def micropython_rows(options):
    if not MICROPYTHON.exists():
        return None, "MicroPython unix port not found at %s" % MICROPYTHON
    environment = dict(os.environ, MICROPYPATH=str(ROOT / "firmware"))
    result = subprocess.run(
        [str(MICROPYTHON), str(MICROPYTHON_SCRIPT), str(options.rounds)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        return None, "MicroPython bench failed: " + result.stderr.strip()[-500:]
    rows = []
    measured = {}
    for line in result.stdout.splitlines():
        entry = json.loads(line)
        measured[(entry["law"], entry["operation"], entry["samples"], entry["path"])] = entry
        rows.append(
            [
                entry["law"],
                entry["operation"],
                str(entry["samples"]),
                entry["path"],
                "%.1f" % entry["min_ns"],
                "%.1f" % entry["median_ns"],
            ]
        )
    return rows, measured


def c_path_note():
    if "c" in g711.available_codecs(ULAW_TABLES):
        return (
            "`c` is the optional C extension `intercom.media._g711c` "
            "(built by `pip install -e .` where a compiler exists)."
        )
    return (
        "The optional C extension `intercom.media._g711c` is not built here "
        "(no compiler at install time?): no `c` rows."
    )


def verdicts(cpython_results, micropython_results):
    lines = []
    for law, _ in LAWS:
        for operation, target in (
            ("encode", TARGET_ENCODE_RATIO),
            ("decode", TARGET_DECODE_RATIO),
        ):
            timings = cpython_results[(law, operation, 160)]
            if "audioop" not in timings:
                lines.append("- %s %s: no audioop on this Python, no ratio" % (law, operation))
                continue
            ratio = timings["g711 default"][0] / timings["audioop"][0]
            lines.append(
                "- CPython default %s %s, 160-sample frame: %.2f x audioop "
                "(target <= %.1f x): %s"
                % (law, operation, ratio, target, "met" if ratio <= target else "NOT met")
            )
    if isinstance(micropython_results, dict):
        for law, _ in LAWS:
            for operation in ("encode", "decode"):
                for samples in FRAME_SIZES:
                    entry = micropython_results.get((law, operation, samples, "viper"))
                    if entry is None:
                        continue
                    lines.append(
                        "- MicroPython viper %s %s, %d samples: %.1f ns/sample "
                        "(target <= %.1f): %s"
                        % (
                            law,
                            operation,
                            samples,
                            entry["min_ns"],
                            TARGET_VIPER_NS,
                            "met" if entry["min_ns"] <= TARGET_VIPER_NS else "NOT met",
                        )
                    )
    return "\n".join(lines)


def run(options):
    cpython_table, cpython_results = cpython_rows(options)
    micropython_table, micropython_results = micropython_rows(options)
    parts = [
        "Nanoseconds per sample: minimum and median of %d rounds; each round "
        "times every path of a row group one after the other, each for about "
        "%.2f s of repeated calls. Ratio = minimum / audioop minimum. Input: "
        "deterministic full-range noise. `*` marks the path `intercom.media.g711` "
        "uses on this interpreter; `g711 default` is the public function "
        "(argument checks included)." % (options.rounds, options.run_s),
        "",
        "### CPython %s" % sys.version.split()[0],
        "",
        c_path_note(),
        "",
        markdown_table(
            ["law", "op", "samples", "path", "ns/sample min", "median", "ratio vs audioop"],
            cpython_table,
        ),
        "",
        "### MicroPython unix port",
        "",
    ]
    if micropython_table is None:
        parts.append(micropython_results)
    else:
        parts.append(
            "bytecode is `g711_plain`, native is the same source compiled with "
            "`@micropython.native`, viper is `g711_viper` (16-bit word loops; "
            "`viper odd address` times its byte loops, which run when a buffer "
            "starts at an odd address); timed through `encode_into`/`decode_into` "
            "with preallocated buffers (the 20 ms path on a Pico)."
        )
        parts.append("")
        parts.append(
            markdown_table(
                ["law", "op", "samples", "path", "ns/sample min", "median"],
                micropython_table,
            )
        )
    parts += ["", "### Targets", "", verdicts(cpython_results, micropython_results)]
    return "\n".join(parts)
