# The in-band detector's viper path (MicroPython) matches its plain path
# block for block, on keys, noise and speech-like audio run through the
# MicroPython unix port (tests/core/inband_paths.py).

import os
import pathlib
import subprocess

import numpy
from intercom.media.dtmf_inband import COLUMN_HZ, KEYS, ROW_HZ, InbandDtmfDetector
from support.paths import FIRMWARE, MICROPYTHON, ROOT

SCRIPT = pathlib.Path(__file__).resolve().parent / "inband_paths.py"


def test_viper_and_plain_paths_agree_block_for_block(tmp_path):
    generator = numpy.random.default_rng(3)
    pieces = []
    for index in range(len(KEYS)):
        time = numpy.arange(int(generator.integers(400, 1200))) / 8000
        level = 10 ** (generator.uniform(-1.5, -0.2)) * 20000
        tone = level * (
            numpy.sin(2 * numpy.pi * ROW_HZ[index // 4] * time)
            + numpy.sin(2 * numpy.pi * COLUMN_HZ[index % 4] * time)
        )
        pieces += [tone, generator.normal(0, 300, int(generator.integers(400, 900)))]
    # Full-scale square waves near 697 Hz drive the filters to their limits.
    square = numpy.sign(numpy.sin(2 * numpy.pi * 690 * numpy.arange(2000) / 8000))
    pieces.append(32767 * square)
    pcm = numpy.clip(numpy.concatenate(pieces), -32768, 32767).astype("<i2").tobytes()
    path = tmp_path / "keys.raw"
    path.write_bytes(pcm)
    result = subprocess.run(
        [str(MICROPYTHON), str(SCRIPT), str(path)],
        cwd=ROOT,
        env={**os.environ, "MICROPYPATH": str(FIRMWARE)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    viper, plain = (line.split() for line in result.stdout.splitlines())
    assert viper[0] == "viper" and plain[0] == "plain"
    assert viper[1:] == plain[1:]
    assert plain[3] == KEYS
    # And CPython's plain path finds the same digits.
    detector = InbandDtmfDetector()
    detector.feed(pcm)
    digits = ""
    while (digit := detector.next_digit()) is not None:
        digits += digit
    assert digits == KEYS
    assert int(viper[1]) == len(pcm) // 2 // 102
