# Reception statistics of one RTP source (RFC 3550 appendix A.1, A.3,
# A.8): sequence tracking with probation and wrap, expected and lost packets,
# fraction lost per report interval, interarrival jitter. Fed per packet on
# the audio path, so allocation-free and small-int only (timestamps and
# arrival times are taken modulo 2**16, see _update_jitter).
#
# Public API
#
#   ReceptionStats(clock_rate=8000)       one remote source
#     .update(sequence, timestamp_low, arrival_ms, payload_octets)
#         for every accepted RTP packet (timestamp_low: the low 16 bits);
#         allocation-free. Returns False while the source is on probation or
#         for a packet judged out of sequence (A.1), True otherwise.
#     .packets .octets                    everything passed to update()
#     .expected() .cumulative_lost()      A.3, from the validated sequence
#     .extended_highest()                 cycles << 16 | highest sequence
#     .fraction_lost(commit=False)        A.3, 0..255 since the last report;
#                                         commit=True starts a new interval
#     .jitter_units() .jitter_ms()        A.8 interarrival jitter
#

from intercom.compat import const

# const(): MicroPython's compiler puts the values where they are used (no
# global lookup per packet).
RTP_SEQ_MOD = const(1 << 16)
MAX_DROPOUT = const(3000)
MAX_MISORDER = const(100)
MIN_SEQUENTIAL = const(2)


class ReceptionStats:
    def __init__(self, clock_rate=8000):
        self._units_per_ms = clock_rate // 1000
        self.packets = 0
        self.octets = 0
        self._started = False
        self._probation = MIN_SEQUENTIAL
        self._init_sequence(0)
        self._jitter_scaled = 0  # jitter * 16 (A.8 fixed point)
        self._last_transit = 0
        self._have_transit = False

    def _init_sequence(self, sequence):
        # RFC 3550 A.1 init_seq()
        self._base_seq = sequence
        self._max_seq = sequence
        self._bad_seq = RTP_SEQ_MOD + 1
        self._cycles = 0
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0

    def update(self, sequence, timestamp_low, arrival_ms, payload_octets):
        self.packets = (self.packets + 1) & 0xFFFFFFFF
        self.octets = (self.octets + payload_octets) & 0xFFFFFFFF
        if not self._started:
            self._started = True
            self._init_sequence(sequence)
            self._max_seq = (sequence - 1) & 0xFFFF
            self._probation = MIN_SEQUENTIAL
        valid = self._update_sequence(sequence)
        if valid:
            self._update_jitter(timestamp_low, arrival_ms)
        return valid

    def _update_sequence(self, sequence):
        # RFC 3550 A.1 update_seq()
        delta = (sequence - self._max_seq) & 0xFFFF
        if self._probation:
            if sequence == (self._max_seq + 1) & 0xFFFF:
                self._probation -= 1
                self._max_seq = sequence
                if self._probation == 0:
                    self._init_sequence(sequence)
                    self._received += 1
                    return True
            else:
                self._probation = MIN_SEQUENTIAL - 1
                self._max_seq = sequence
            return False
        if delta < MAX_DROPOUT:
            if sequence < self._max_seq:
                self._cycles += 1  # wrapped: one more 64K cycle
            self._max_seq = sequence
        elif delta <= RTP_SEQ_MOD - MAX_MISORDER:
            if sequence == self._bad_seq:
                # Two sequential packets after a big jump: the sender
                # restarted; resynchronise (A.1).
                self._init_sequence(sequence)
            else:
                self._bad_seq = (sequence + 1) & 0xFFFF
                return False
        self._received += 1
        return True

    def _update_jitter(self, timestamp_low, arrival_ms):
        # RFC 3550 A.8, computed modulo 2**16 timestamp units: transit
        # differences stay far below 2**15 units (4 s at 8 kHz).
        arrival_units = ((arrival_ms & 0xFFFF) * self._units_per_ms) & 0xFFFF
        transit = (arrival_units - timestamp_low) & 0xFFFF
        if self._have_transit:
            difference = (transit - self._last_transit) & 0xFFFF
            if difference >= 0x8000:
                difference = 0x10000 - difference
            self._jitter_scaled += difference - ((self._jitter_scaled + 8) >> 4)
        self._last_transit = transit
        self._have_transit = True

    def extended_highest(self):
        return ((self._cycles << 16) | self._max_seq) & 0xFFFFFFFF

    def expected(self):
        if self._probation or not self._started:
            return 0
        return (self._cycles << 16) + self._max_seq - self._base_seq + 1

    def cumulative_lost(self):
        return self.expected() - self._received

    def fraction_lost(self, commit=False):
        expected = self.expected()
        expected_interval = expected - self._expected_prior
        received_interval = self._received - self._received_prior
        lost_interval = expected_interval - received_interval
        if commit:
            self._expected_prior = expected
            self._received_prior = self._received
        if expected_interval <= 0 or lost_interval <= 0:
            return 0
        return min(255, (lost_interval << 8) // expected_interval)

    def jitter_units(self):
        return self._jitter_scaled >> 4

    def jitter_ms(self):
        return (self.jitter_units() + self._units_per_ms // 2) // self._units_per_ms
