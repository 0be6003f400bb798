# DTMF as RFC 4733 telephone-events (sender and receiver) and as SIP INFO
# bodies (application/dtmf-relay, application/dtmf). Sans-I/O.
#
# Public API
#
#   DtmfSender(payload_type, volume=10, clock_rate=8000, gap_ms=60)
#     .send(digits, duration_ms=100)  queue digits ("0"-"9", "*", "#", "A"-"D");
#                                     raises ValueError for anything else
#     .active                         True while digits are queued or sending
#     .next_packet(rtp_sender) -> memoryview or None
#         call once per frame tick instead of sending audio; None means the
#         tick is the sender's (send audio, or rtp_sender.skip_frame()).
#   DtmfReceiver(payload_types, clock_rate=8000, timeout_ms=250)
#     .receive(packet, now_ms)        an RtpPacket whose payload type is one
#                                     of payload_types (any dynamic number)
#     .poll(now_ms)                   ends an event whose packets stopped
#     .in_progress                    True from an event's first packet until
#                                     it is reported (end, timeout, next one)
#     .get_timer() -> ms tick or None when poll() must run next
#     .next_event() -> (digit, duration_ms) or None
#     .drops                          dict: payload_type, short, unknown_event, stale
#   digit_from_info(content_type, body) -> digit or None
#
# Payload (RFC 4733 section 2.3): event (8 bits), E (end), R, volume (6 bits,
# -dBm0), duration (16 bits, timestamp units since the event's timestamp).
#
# Sender rules (RFC 4733 section 2.5.1):
#   first packet       marker bit, timestamp = the event's start, duration one frame
#   each further tick  same timestamp, duration grows by one frame
#   end                the last duration three times with E set (2.5.1.4)
#   next digit         after gap_ms of audio (or silence) ticks
# Receiver rules (RFC 4733 section 2.5.2), one event per event timestamp:
#   packet with a new timestamp       ends an open event whose end never came
#                                     (FRITZ!Box), opens a new one
#   E bit                             reports the open event
#   same timestamp after the report   ignored (repeated end packets, repeated
#                                     sequence numbers as linphone sends)
#   timestamp older than the last     ignored (reordered), counted as stale
#   no packet for timeout_ms          reports the open event (poll())

from intercom.compat import ticks_add, ticks_diff

DIGITS = "0123456789*#ABCD"
MAX_DURATION_MS = 5000  # well below the 16-bit duration field at 8 kHz


class DtmfSender:
    def __init__(self, payload_type, volume=10, clock_rate=8000, gap_ms=60):
        if not 96 <= payload_type <= 127:
            raise ValueError("telephone-event uses a dynamic payload type")
        if not 0 <= volume <= 63:
            raise ValueError("volume is 0..63 (-dBm0)")
        self.payload_type = payload_type
        self.volume = volume
        self._units_per_ms = clock_rate // 1000
        self._gap_ms = gap_ms
        self._queue = []  # (event number, duration in timestamp units)
        self._event = -1
        self._event_timestamp = 0
        self._duration = 0
        self._target = 0
        self._ends_left = 0
        self._gap_left = 0

    @property
    def active(self):
        return bool(self._queue) or self._event >= 0

    def send(self, digits, duration_ms=100):
        for digit in digits:
            if digit not in DIGITS:
                raise ValueError("not a DTMF digit: %r" % digit)
        if not 40 <= duration_ms <= MAX_DURATION_MS:
            raise ValueError("duration_ms must be 40..%d" % MAX_DURATION_MS)
        for digit in digits:
            self._queue.append((DIGITS.index(digit), duration_ms * self._units_per_ms))

    def next_packet(self, rtp_sender):
        frame = rtp_sender.samples_per_frame
        if self._event < 0:
            if self._gap_left > 0:
                self._gap_left -= frame
                return None
            if not self._queue:
                return None
            self._event, self._target = self._queue.pop(0)
            self._event_timestamp = rtp_sender.timestamp
            self._duration = min(frame, self._target)
            self._ends_left = 3
            return self._packet(rtp_sender, False, True)
        if self._duration < self._target:
            self._duration = min(self._duration + frame, self._target)
            if self._duration < self._target:
                return self._packet(rtp_sender, False, False)
        self._ends_left -= 1
        packet = self._packet(rtp_sender, True, False)
        if self._ends_left == 0:
            self._event = -1
            self._gap_left = self._gap_ms * self._units_per_ms
        return packet

    def _packet(self, rtp_sender, end, marker):
        payload = rtp_sender.payload
        payload[0] = self._event
        payload[1] = (0x80 if end else 0) | self.volume
        payload[2] = self._duration >> 8
        payload[3] = self._duration & 0xFF
        return rtp_sender.event_packet(4, self.payload_type, self._event_timestamp, marker)


class DtmfReceiver:
    def __init__(self, payload_types, clock_rate=8000, timeout_ms=250):
        self.payload_types = tuple(payload_types)
        self._units_per_ms = clock_rate // 1000
        self._timeout_ms = timeout_ms
        self.in_progress = False  # an event has started and is not reported yet
        self._have_last = False
        self._timestamp = 0
        self._event = 0
        self._duration = 0
        self._last_arrival = 0
        self._events = []
        self.drops = {"payload_type": 0, "short": 0, "unknown_event": 0, "stale": 0}

    def receive(self, packet, now_ms):
        if packet.payload_type not in self.payload_types:
            self._drop("payload_type")
            return
        payload = packet.payload
        if len(payload) < 4:
            self._drop("short")
            return
        timestamp = packet.timestamp
        if self._have_last:
            age = (timestamp - self._timestamp) & 0xFFFFFFFF
            if age == 0 and not self.in_progress:
                return  # repeated end packets of an event already reported
            if age >= 0x80000000:
                self._drop("stale")
                return
            if age:
                self._report()  # the previous event never sent its end
        event = payload[0]
        if event >= len(DIGITS):
            self._drop("unknown_event")
            return
        if not self.in_progress:
            self.in_progress = True
            self._have_last = True
            self._timestamp = timestamp
            self._event = event
            self._duration = 0
        duration = (payload[2] << 8) | payload[3]
        if duration > self._duration:
            self._duration = duration
        self._last_arrival = now_ms
        if payload[1] & 0x80:
            self._report()

    def _drop(self, reason):
        self.drops[reason] = (self.drops[reason] + 1) & 0xFFFFFFFF

    def _report(self):
        if not self.in_progress:
            return
        self.in_progress = False
        duration_ms = self._duration // self._units_per_ms
        self._events.append((DIGITS[self._event], duration_ms))

    def get_timer(self):
        if not self.in_progress:
            return None
        return ticks_add(self._last_arrival, self._timeout_ms)

    def poll(self, now_ms):
        if self.in_progress and ticks_diff(now_ms, self._last_arrival) >= self._timeout_ms:
            self._report()

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None


def digit_from_info(content_type, body):
    """The digit of a SIP INFO DTMF body, or None when there is none.

    application/dtmf-relay: "Signal=5\\r\\nDuration=160" (Signal may be a
    digit, "*", "#", "A".."D", or an event number 10..15 as some send);
    application/dtmf: the digit alone.
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode()
        except UnicodeError:
            return None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/dtmf":
        return _digit(body.strip())
    if kind != "application/dtmf-relay":
        return None
    for line in body.replace("\r", "\n").split("\n"):
        name, separator, value = line.partition("=")
        if separator and name.strip().lower() == "signal":
            return _digit(value.strip())
    return None


def _digit(text):
    text = text.upper()
    if len(text) == 1 and text in DIGITS:
        return text
    if text in ("10", "11", "12", "13", "14", "15"):
        return DIGITS[int(text)]
    return None
