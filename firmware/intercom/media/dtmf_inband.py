# In-band DTMF detection on decoded 8 kHz linear PCM (for peers that send
# the key tones as audio instead of RFC 4733 events). Goertzel filters on
# the eight DTMF frequencies over blocks of 102 samples (12.75 ms), with the
# checks of ITU-T Q.24-style receivers. The per-sample filters run in small
# integers (samples scaled to 11 bits, Q12 coefficients: every state stays
# below 2**30, so nothing is boxed on a Pico); the decision once per block
# uses floats, where single precision is plenty (all tests are ratios).
# Cost: 8 multiply-adds per sample; a block decision allocates a few floats.
#
# Public API
#
#   InbandDtmfDetector(min_level=500, fast=True)
#       min_level: the smallest peak amplitude (16-bit PCM) of each tone
#       that counts; 500 is about -33 dBm0 for G.711. fast: on MicroPython
#       run the filters through dtmf_inband_viper when the port has the
#       viper emitter (identical results; .path says "viper" or "plain").
#     .feed(pcm)        16-bit signed little-endian PCM (bytes, bytearray,
#                       memoryview) as everywhere in intercom.media, any
#                       whole number of samples; state carries over calls
#     .next_digit() -> "0".."9", "*", "#", "A".."D" or None
#     .reset()          forget an unfinished block and the key in progress
#                       (the audio fed next does not continue the last)
#     .blocks           blocks analysed so far (masked to 30 bits)
#     .tone_blocks      one bit per block, the latest in bit 0, set when
#                       the block holds a key's tones: it hit a digit (the
#                       per-block test below) with the two tones carrying
#                       >= 85 % of its energy (TONE_PURITY: stricter than a
#                       hit, as one block decides alone; speech excites
#                       both groups far less purely), or it reported the
#                       key or hit the key being pressed (tones up to the
#                       1.5 % frequency tolerance, whose power in one block
#                       falls short of TONE_PURITY, count from their second
#                       block). TONE_HISTORY blocks kept.
#     .partial_samples  samples fed since the last block ended
#
# Per block (102 samples), a block "hits" a digit when all hold:
#   energy     the strongest row and column tones each >= min_level
#   twist      row tone at most 8 dB above the column tone (normal twist),
#              column tone at most 4 dB above the row tone (reverse twist)
#   peak       each of them >= 6.3 dB above every other tone of its group
#   purity     the two tones carry >= 75 % of the block's energy (rejects
#              speech, music and noise that happen to excite both groups)
# Key press rules:
#   report     two consecutive blocks hit the same digit (>= 25.5 ms;
#              a 40 ms tone always covers two whole blocks), while armed,
#              with each tone steady between the two blocks: level within
#              3 dB, and frequency within 2 % of nominal (Q.24: accept
#              1.5 %, reject 3.5 %), measured from how far its phase
#              advanced from one block to the next; and the two tones,
#              their power corrected for that offset, carry >= 90 % of the
#              energy of both blocks together
#   re-arm     after three consecutive blocks (>= 38 ms) without that digit
#   so one key press gives one digit (a 10 ms break inside it does not
#   re-arm), and a 40 ms pause separates presses.

import math
from array import array

from intercom.compat import IS_MICROPYTHON

viper_filters = None  # intercom.media.dtmf_inband_viper where the port has viper
if IS_MICROPYTHON:
    try:
        from intercom.media import dtmf_inband_viper as viper_filters
    except ImportError:  # a port built without the viper emitter
        pass

BLOCK = 102
SAMPLE_RATE = 8000
ROW_HZ = (697, 770, 852, 941)
COLUMN_HZ = (1209, 1336, 1477, 1633)
KEYS = "123A456B789C*0#D"  # row-major: KEYS[row * 4 + column]
NORMAL_TWIST = 6.31  # 8 dB (power ratio)
REVERSE_TWIST = 2.51  # 4 dB
RELATIVE_PEAK = 4.27  # 6.3 dB
PURITY = 0.75
CONFIRM_PURITY = 0.9
TONE_PURITY = 0.85
FREQUENCY_TOLERANCE = 0.02  # Q.24: accept 1.5 %, reject 3.5 %
MAX_OFFSET_HZ = 35.0  # the phase test aliases at SAMPLE_RATE / BLOCK / 2 = 39 Hz
TWO_PI = 2.0 * math.pi
REARM_BLOCKS = 3
TONE_HISTORY = 16
TONE_HISTORY_MASK = (1 << TONE_HISTORY) - 1
BLOCKS_MASK = 0x3FFFFFFF
INPUT_SHIFT = 5  # 11-bit samples: coefficient * state stays below 2**30 (the
# worst input, a full-scale square wave near 697 Hz, reaches 0.84 of it)
ONE_Q12 = 4096
# The filters' constants for ROW_HZ + COLUMN_HZ, written out so that a
# frozen module keeps them in flash (built per detector they took 0.7 KiB
# of a Pico W's heap in a call); tests/unit/test_media_inband.py
# recomputes each from its expression (f: the tone's frequency):
#   FIXED         round(2 cos(2 pi f / SAMPLE_RATE) * ONE_Q12), the Q12
#                 coefficients of the per-sample filters
#   COEFFICIENTS  FIXED / ONE_Q12
#   SINES         sin(omega), omega = acos(FIXED / (2 * ONE_Q12)): the
#                 quantised coefficients' own frequencies
#   ADVANCES      (omega * BLOCK) mod 2 pi: how far a steady tone at
#                 exactly that frequency advances in phase per block
#   PHASE_LIMITS  2 pi BLOCK min(FREQUENCY_TOLERANCE f, MAX_OFFSET_HZ) /
#                 SAMPLE_RATE: the largest offset accepted, as a phase
#                 error per block
FIXED = (6995, 6739, 6425, 6055, 4768, 4081, 3271, 2329)
COEFFICIENTS = (
    1.707763671875, 1.645263671875, 1.568603515625, 1.478271484375,
    1.1640625, 0.996337890625, 0.798583984375, 0.568603515625,
)  # fmt: skip
SINES = (
    0.5204669156209685, 0.5685744124581215, 0.6203795231084135, 0.6735564969777469,
    0.8131664184061204, 0.8670799858872488, 0.9168238134859595, 0.958734848904911,
)  # fmt: skip
ADVANCES = (
    5.5690803813389635, 5.138061537228651, 5.42925094763001, 6.263981557280822,
    2.608555362423438, 0.2155293148892028, 5.227953219808953, 5.15315767736098,
)  # fmt: skip
PHASE_LIMITS = (
    1.1167419405715637, 1.2337034350647118, 1.3650848398378368, 1.5076817303842778,
    1.9370746142769306, 2.140555570449941, 2.3664674981695835, 2.616412609689188,
)  # fmt: skip


class InbandDtmfDetector:
    def __init__(self, min_level=500, fast=True):
        # Per-sample work is integer (small ints on a Pico, nothing boxed):
        # samples scaled by 2**-INPUT_SHIFT, coefficients in Q12. Per block
        # the decision uses floats, with the quantised coefficients' own
        # frequencies so that powers and phases stay consistent (FIXED and
        # the constants after it).
        self._fixed = FIXED
        self._coefficients = COEFFICIENTS
        self._sines = SINES
        self._advances = ADVANCES
        self._phase_limits = PHASE_LIMITS
        # A tone of amplitude A gives a Goertzel power of about (A * N / 2)**2.
        half = min_level / (1 << INPUT_SHIFT) * BLOCK / 2.0
        self._min_power = half * half
        self._powers = [0.0] * 8
        self._ends = [0] * 16  # the filters' last two states of a block
        self._row_power = 0.0
        self._column_power = 0.0
        self._row_phase = 0.0
        self._column_phase = 0.0
        self._last_row_power = 0.0
        self._last_column_power = 0.0
        self._last_row_phase = 0.0
        self._last_column_phase = 0.0
        self._last_energy = 0.0
        self._digits = []
        self.blocks = 0
        self.path = "plain"
        viper = viper_filters if fast else None
        if viper is not None:
            self.path = "viper"
            self._fast_state = array("i", [viper.STATE_OFFSET] * 17)
            self._fast_fixed = array("i", self._fixed)
        self.reset()

    @property
    def partial_samples(self):
        return self._count

    def reset(self):
        self._state = [0] * 16  # s1, s2 per filter
        self._energy = 0
        self._count = 0
        self._last_hit = None
        self._current = None
        self._misses = 0
        self.tone_blocks = 0
        viper = viper_filters
        if self.path == "viper" and viper is not None:
            state = self._fast_state
            for position in range(16):
                state[position] = viper.STATE_OFFSET
            state[16] = 0

    def feed(self, pcm):
        if self.path == "viper":
            self._feed_fast(pcm)
            return
        c0, c1, c2, c3, c4, c5, c6, c7 = self._fixed
        (a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7) = self._state
        energy = self._energy
        count = self._count
        for index in range(0, len(pcm) - 1, 2):
            value = pcm[index] | (pcm[index + 1] << 8)
            x = (value - 0x10000 if value >= 0x8000 else value) >> INPUT_SHIFT
            energy += x * x
            a0, b0 = x + ((c0 * a0) >> 12) - b0, a0
            a1, b1 = x + ((c1 * a1) >> 12) - b1, a1
            a2, b2 = x + ((c2 * a2) >> 12) - b2, a2
            a3, b3 = x + ((c3 * a3) >> 12) - b3, a3
            a4, b4 = x + ((c4 * a4) >> 12) - b4, a4
            a5, b5 = x + ((c5 * a5) >> 12) - b5, a5
            a6, b6 = x + ((c6 * a6) >> 12) - b6, a6
            a7, b7 = x + ((c7 * a7) >> 12) - b7, a7
            count += 1
            if count == BLOCK:
                ends = self._ends
                ends[0], ends[1], ends[2], ends[3] = a0, b0, a1, b1
                ends[4], ends[5], ends[6], ends[7] = a2, b2, a3, b3
                ends[8], ends[9], ends[10], ends[11] = a4, b4, a5, b5
                ends[12], ends[13], ends[14], ends[15] = a6, b6, a7, b7
                self._block_done(float(energy))
                a0 = b0 = a1 = b1 = a2 = b2 = a3 = b3 = 0
                a4 = b4 = a5 = b5 = a6 = b6 = a7 = b7 = 0
                energy = 0
                count = 0
        self._state = [a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7]
        self._energy = energy
        self._count = count

    def _feed_fast(self, pcm):
        viper = viper_filters
        if viper is None:  # feed() calls this on the viper path only
            return
        filter_samples = viper.filter_samples
        offset = viper.STATE_OFFSET
        state = self._fast_state
        end = len(pcm) & ~1
        index = 0
        count = self._count
        while index < end:
            take = (BLOCK - count) * 2
            if take > end - index:
                take = end - index
            # The stubs make ptr32 a class an array is not; viper takes any
            # buffer for a ptr argument.
            filter_samples(index, index + take, pcm, state, self._fast_fixed)  # pyright: ignore[reportArgumentType]
            index += take
            count += take >> 1
            if count == BLOCK:
                ends = self._ends
                for position in range(16):
                    ends[position] = state[position] - offset
                    state[position] = offset
                energy = state[16]
                state[16] = 0
                count = 0
                self._block_done(float(energy))
        self._count = count

    def next_digit(self):
        if self._digits:
            return self._digits.pop(0)
        return None

    def _block_done(self, energy):
        self.blocks = (self.blocks + 1) & BLOCKS_MASK
        powers = self._powers
        for index in range(8):
            s1 = float(self._ends[2 * index])
            s2 = float(self._ends[2 * index + 1])
            powers[index] = s1 * s1 + s2 * s2 - self._coefficients[index] * s1 * s2
        hit = self._classify(energy)
        # A tone block: a pure hit, or any hit of the key being pressed.
        tone = hit is not None and (
            hit == self._current
            or (self._row_power + self._column_power) * 2.0 / BLOCK >= TONE_PURITY * energy
        )
        if hit != self._current:
            self._misses += 1
            if self._misses >= REARM_BLOCKS:
                self._current = None
        else:
            self._misses = 0
        if (
            hit is not None
            and hit == self._last_hit
            and self._current is None
            and self._steady(hit, energy)
        ):
            self._digits.append(hit)
            self._current = hit
            self._misses = 0
            tone = True
        self.tone_blocks = ((self.tone_blocks << 1) | tone) & TONE_HISTORY_MASK
        self._last_hit = hit
        self._last_row_power = self._row_power
        self._last_column_power = self._column_power
        self._last_row_phase = self._row_phase
        self._last_column_phase = self._column_phase
        self._last_energy = energy

    def _steady(self, hit, energy):
        # Both tones kept their level (within 3 dB) from the previous block,
        # and their phase advanced as a tone within the frequency tolerance
        # would: harmonics of speech gliding through a formant do neither.
        row = self._row_power
        column = self._column_power
        if not (
            row < 2.0 * self._last_row_power
            and self._last_row_power < 2.0 * row
            and column < 2.0 * self._last_column_power
            and self._last_column_power < 2.0 * column
        ):
            return False
        key = KEYS.index(hit)
        row_gain = self._offset_gain(key // 4, self._row_phase, self._last_row_phase)
        column_gain = self._offset_gain(4 + key % 4, self._column_phase, self._last_column_phase)
        if row_gain == 0.0 or column_gain == 0.0:
            return False
        # Purity over both blocks (beats between the two tones even out),
        # with each tone's power corrected for its frequency offset.
        tones = (row + self._last_row_power) / row_gain
        tones += (column + self._last_column_power) / column_gain
        return tones * 2.0 / BLOCK >= CONFIRM_PURITY * (energy + self._last_energy)

    def _offset_gain(self, index, phase, last_phase):
        """Power response of filter `index` to the tone, from the phase it
        advanced over one block; 0.0 when the tone is off frequency."""
        error = (phase - last_phase - self._advances[index]) % TWO_PI
        if error > math.pi:
            error -= TWO_PI
        if not -self._phase_limits[index] <= error <= self._phase_limits[index]:
            return 0.0
        # Offset in bins is error / (2 pi); the response is sinc squared.
        half_angle = error / 2.0
        if half_angle == 0.0:
            return 1.0
        response = math.sin(half_angle) / half_angle
        return response * response

    def _phase(self, index):
        # Phase of the block's DFT term: y = s1 - exp(-j w) s2.
        s1 = float(self._ends[2 * index])
        s2 = float(self._ends[2 * index + 1])
        return math.atan2(s2 * self._sines[index], s1 - s2 * self._coefficients[index] / 2.0)

    def _classify(self, energy):
        powers = self._powers
        row = _strongest(powers, 0)
        column = _strongest(powers, 4)
        row_power = powers[row]
        column_power = powers[column]
        self._row_power = row_power
        self._column_power = column_power
        if row_power < self._min_power or column_power < self._min_power:
            return None
        if row_power > column_power * NORMAL_TWIST or column_power > row_power * REVERSE_TWIST:
            return None
        for index in range(8):
            if index == row or index == column:
                continue
            peak = row_power if index < 4 else column_power
            if powers[index] * RELATIVE_PEAK > peak:
                return None
        # Tone power (A*N/2)**2 against block energy A*A*N/2: factor N/2.
        if (row_power + column_power) * 2.0 / BLOCK < PURITY * energy:
            return None
        self._row_phase = self._phase(row)
        self._column_phase = self._phase(column)
        return KEYS[row * 4 + column - 4]


def _strongest(powers, first):
    best = first
    for index in range(first + 1, first + 4):
        if powers[index] > powers[best]:
            best = index
    return best
