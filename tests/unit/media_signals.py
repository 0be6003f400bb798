# Signal and randomness helpers for the media tests (portable: imported by
# test_media_*.py under pytest and under tests/unit/mp_runner.py).

import math
from array import array

from intercom.media.dtmf_inband import BLOCK, COLUMN_HZ, KEYS, ROW_HZ

# 0 dBm0 for G.711: a sine of 3.17 dBm0 peaks at full scale (G.711 table),
# so a 0 dBm0 sine peaks at 32767 / 10 ** (3.17 / 20) in 16-bit PCM.
ZERO_DBM0_PEAK = 32767 / 10 ** (3.17 / 20)


def amplitude(dbm0):
    return ZERO_DBM0_PEAK * 10 ** (dbm0 / 20)


# array('h') <-> bytes is the host's byte order: little-endian on every
# machine these tests run on (x86, ARM). No struct.pack(*many): MicroPython
# passes star-arguments through its small Python stack.


def pcm(samples):
    """16-bit little-endian PCM bytes for a list of numbers (clipped)."""
    return bytes(array("h", [max(-32768, min(32767, int(value))) for value in samples]))


def samples_of(data):
    return list(array("h", bytes(data)))


def render(count, sample_at):
    """PCM bytes of sample_at(0) .. sample_at(count - 1), clipped.

    Written straight into one bytearray: long float lists fragment
    MicroPython's heap."""
    out = bytearray(2 * count)
    for index in range(count):
        value = int(sample_at(index))
        if value > 32767:
            value = 32767
        elif value < -32768:
            value = -32768
        out[2 * index] = value & 0xFF
        out[2 * index + 1] = (value >> 8) & 0xFF
    return bytes(out)


def tone_function(components, start=0):
    """sample_at(index) for a sum of sines [(frequency Hz, peak amplitude)]."""
    steps = [(2 * math.pi * frequency / 8000, peak) for frequency, peak in components]

    def sample_at(index):
        value = 0.0
        for step, peak in steps:
            value += peak * math.sin(step * (start + index))
        return value

    return sample_at


def noise_function(peak, seed):
    generator = Lcg(seed)

    def sample_at(index):
        return generator.uniform(-peak, peak)

    return sample_at


def tones(components, count, start=0):
    """Sum of sines: components is a list of (frequency Hz, peak amplitude)."""
    out = [0.0] * count
    for frequency, peak in components:
        step = 2 * math.pi * frequency / 8000
        for index in range(count):
            out[index] += peak * math.sin(step * (start + index))
    return out


class Lcg:
    """Deterministic pseudo-random numbers (no `random` differences between
    interpreters)."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next(self):
        self.state = (self.state * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.state

    def random_bytes(self, count):
        return bytes([(self.next() >> 24) for _ in range(count)])

    def uniform(self, low, high):
        return low + (high - low) * (self.next() >> 8) / 16777216


def fixed_bytes(data):
    """A random_bytes(n) callable that hands out `data` in order."""
    position = [0]

    def random_bytes(count):
        chunk = data[position[0] : position[0] + count]
        position[0] += count
        return chunk

    return random_bytes


def tone_power(data, frequency):
    """Goertzel power of 16-bit PCM `data` at `frequency` Hz: |X(f)|**2 over
    the whole block, (A * N / 2) ** 2 for a sine of peak A."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    first = second = 0.0
    for value in array("h", bytes(data)):
        first, second = value + coefficient * first - second, first
    return first * first + second * second - coefficient * first * second


def tone_share(data, frequency):
    """Share of the energy of 16-bit PCM `data` at `frequency` Hz: 1.0 for a
    pure tone with a whole number of periods in the block, near 0 for
    anything else; 0.0 for silence."""
    values = array("h", bytes(data))
    total = 0.0
    for value in values:
        total += value * value
    if total == 0:
        return 0.0
    return 2 * tone_power(data, frequency) / (len(values) * total)


def rms(data):
    """Root mean square of 16-bit PCM `data`."""
    values = array("h", bytes(data))
    total = 0
    for value in values:
        total += value * value
    return math.sqrt(total / len(values)) if values else 0.0


def key_components(key, peak):
    """The two sines of a DTMF key, each of `peak`, for tone_function."""
    index = KEYS.index(key)
    return [(ROW_HZ[index // 4], peak), (COLUMN_HZ[index % 4], peak)]


def marker_then_keys(total_ms, marker_ms, keys, starts, key_ms, level):
    """A phone's microphone, total_ms of PCM: a 500 Hz marker at `level`
    for 100 ms from marker_ms, then each of `keys` as its DTMF tones,
    key_ms long from its sample index in `starts`; silence elsewhere."""
    marker = tone_function([(500, level)])
    tones = []
    for number, key in enumerate(keys):
        tones.append((starts[number], tone_function(key_components(key, level))))

    def sample_at(index):
        if 8 * marker_ms <= index < 8 * (marker_ms + 100):
            return marker(index)
        for start, tone in tones:
            if start <= index < start + 8 * key_ms:
                return tone(index - start)
        return 0

    return render(8 * total_ms, sample_at)


def key_power(data, key):
    """Goertzel power at the key's two frequencies in 16-bit PCM `data`."""
    index = KEYS.index(key)
    return tone_power(data, ROW_HZ[index // 4]) + tone_power(data, COLUMN_HZ[index % 4])


def first_sound(data, threshold):
    """Index of the first sample of 16-bit PCM `data` above threshold."""
    values = array("h", bytes(data))
    for index in range(len(values)):
        if abs(values[index]) > threshold:
            return index
    raise AssertionError("no sound above %r" % threshold)


def decibels(ratio):
    return 10 * math.log10(ratio) if ratio > 0 else 999.0


def media_towards(address, telephone_event_pt=101, codec="PCMU"):
    """The MEDIA dict (intercom.sip.media_session) of a plain RTP call to
    address: 20 ms of codec, telephone-event on telephone_event_pt (None: off)."""
    return {
        "remote_host": address[0],
        "remote_port": address[1],
        "payload_type": 0 if codec == "PCMU" else 8,
        "codec": codec,
        "telephone_event_pt": telephone_event_pt,
        "ptime": 20,
        "direction": "sendrecv",
        "srtp": None,
    }


def assert_keys_muted(sent, played, keys, starts, key_ms, marker_ms, what):
    """What the speaker played against what the phone sent (marker_then_keys):
    each of keys, from one detector block after its onset (its sample index
    in starts) to its end, at least 30 dB down; the marker at its level
    (within 1 dB). Returns the playout delay in samples."""
    delay = first_sound(played, 1500) - first_sound(sent, 1500)
    for number, start in enumerate(starts):
        key = keys[number]
        reference = key_power(sent[2 * (start + BLOCK) : 2 * (start + 8 * key_ms)], key)
        begin = start + delay + BLOCK
        heard = key_power(played[2 * begin : 2 * (start + delay + 8 * key_ms)], key)
        assert decibels(reference / max(heard, 1e-9)) >= 30, (what, key, heard / reference)
    marker = 2 * 8 * marker_ms
    heard = tone_power(played[marker + 2 * delay : marker + 2 * delay + 1600], 500)
    sent_marker = tone_power(sent[marker : marker + 1600], 500)
    assert abs(decibels(heard / sent_marker)) < 1, (what, heard / sent_marker)
    return delay
