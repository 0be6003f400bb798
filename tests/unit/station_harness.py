# Two stations on a virtual clock, wired through an in-memory network: the
# door calls a flat, a station configured as a phone that auto-answers. Not a
# test module (no test_ prefix): test_app_station.py uses it. Each station
# plays one audio frame every audio.ptime ms of its own config (the board's
# frame), so the two may run at different packet times.

from intercom.app.station import Station
from intercom.compat import ticks_add, ticks_diff
from intercom.config import validate
from intercom.sip.flow import is_stream, make_flow
from intercom.sip.message import parse_message

DOOR_SIP = ("127.0.0.1", 5062)
DOOR_RTP = 20000
FLAT_SIP = ("127.0.0.1", 5064)
FLAT_RTP = 30000
FLAT2_SIP = ("127.0.0.1", 5066)
FLAT2_RTP = 30010
FRAME_MS = 20


def counter_random():
    state = [7]

    def random_bytes(count):
        out = bytearray(count)
        for index in range(count):
            state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
            out[index] = (state[0] >> 16) & 0xFF
        return bytes(out)

    return random_bytes


def door_config(show_dtmf_digits=False, **door):
    settings = {"code": "1234", "pulse": 3, "hangup_after_open": 2}
    settings.update(door)
    return validate(
        {
            "device": {"name": "Front door", "board": "sim", "show_dtmf_digits": show_dtmf_digits},
            "sip": {"user": "door", "local_port": DOOR_SIP[1]},
            "call": {
                "targets": ["sip:flat1@127.0.0.1:%d" % FLAT_SIP[1]],
                "ring_timeout": 10,
                "max_duration": 60,
            },
            "door": settings,
            "audio": {"input": "silence", "output": "null"},
        },
        "door.toml",
    )


def flat_config(answer=True, user="flat1", port=FLAT_SIP[1]):
    return validate(
        {
            "device": {"name": "Flat 1", "board": "sim"},
            "sip": {"user": user, "local_port": port},
            "call": {
                "targets": ["sip:door@127.0.0.1:%d" % DOOR_SIP[1]],
                "answer_from": ["sip:door@127.0.0.1"] if answer else [],
            },
            "audio": {"input": "silence", "output": "null"},
        },
        "flat.toml",
    )


def greatest_common_divisor(first, second):
    while second:
        first, second = second, first % second
    return first


def tone_frame(frame_bytes, level=8000):
    # A square-ish 500 Hz wave: 8 samples high, 8 low.
    frame = bytearray(frame_bytes)
    for index in range(frame_bytes // 2):
        value = level if (index // 8) % 2 == 0 else -level
        frame[2 * index] = value & 0xFF
        frame[2 * index + 1] = (value >> 8) & 0xFF
    return frame


def energy(pcm):
    total = 0
    for index in range(0, len(pcm), 2):
        value = pcm[index] | (pcm[index + 1] << 8)
        if value >= 0x8000:
            value -= 0x10000
        total += value * value
    return total // (len(pcm) // 2)


class Pair:
    """srtp: {"door": factory, "flat": factory}, each station's SRTP
    implementation (the Station's srtp_factory); with flat2_cfg a third
    station, flat 2 (a phone the door may be transferred to); door_messages:
    the door's message store (boards.audio.messages)."""

    def __init__(self, door_cfg=None, flat_cfg=None, srtp=None, flat2_cfg=None, door_messages=None):
        self.now = 1000
        random_bytes = counter_random()
        srtp = srtp or {}
        self.door = Station(
            door_cfg or door_config(),
            random_bytes,
            self.now,
            "127.0.0.1",
            DOOR_SIP[1],
            DOOR_RTP,
            srtp_factory=srtp.get("door"),
            messages=door_messages,
        )
        self.flat = Station(
            flat_cfg or flat_config(),
            random_bytes,
            self.now,
            "127.0.0.1",
            FLAT_SIP[1],
            FLAT_RTP,
            srtp_factory=srtp.get("flat"),
        )
        self.sides = [
            ("door", self.door, DOOR_SIP, DOOR_RTP),
            ("flat", self.flat, FLAT_SIP, FLAT_RTP),
        ]
        self.flat2 = None
        if flat2_cfg is not None:
            self.flat2 = Station(
                flat2_cfg, random_bytes, self.now, "127.0.0.1", FLAT2_SIP[1], FLAT2_RTP
            )
            self.sides.append(("flat2", self.flat2, FLAT2_SIP, FLAT2_RTP))
        self.events = {}
        self.frame_ms = {}
        for side, station, _, _ in self.sides:
            self.events[side] = []
            self.frame_ms[side] = station.config["audio"]["ptime"]
        self.door_mic = tone_frame(16 * self.frame_ms["door"])
        self.flat_mic = bytearray(16 * self.frame_ms["flat"])
        self.flat_heard = []
        self.flat2_heard = []
        self.door_heard = []
        # Once record() ran: what each speaker played, frame by frame, and
        # every RTP datagram each side sent (bytes).
        self.played = None
        self.sent_rtp = None
        self._since_frame = {side: None for side in self.frame_ms}
        for _, station, _, _ in self.sides:
            station.start(self.now)
        self.route()

    def press(self, station, run_ms):
        """station's button pressed now, then run_ms of both stations."""
        station.button(True, self.now)
        self.route()
        self.run(run_ms)

    def route(self):
        moved = True
        while moved:
            moved = False
            for side, station, sip_address, rtp_port in self.sides:
                for data, flow in station.sip_datagrams(self.now):
                    moved = True
                    target = self.station_at(flow[2])
                    if target is not None:
                        # arrives on the same transport; a stream is connection 1
                        source = make_flow(flow[0], sip_address, 1 if is_stream(flow) else 0)
                        target.receive_sip(bytes(data), source, self.now)
                for data, address in station.rtp_datagrams():
                    if self.sent_rtp is not None and side in self.sent_rtp:
                        self.sent_rtp[side].append(bytes(data))
                    target = self.station_at(address[1])
                    if target is not None:
                        target.receive_rtp(bytes(data), ("127.0.0.1", rtp_port), self.now)
                for data, address in station.rtcp_datagrams(self.now, 0):
                    target = self.station_at(address[1])
                    if target is not None:
                        target.receive_rtcp(bytes(data), ("127.0.0.1", rtp_port + 1), self.now, 0)
            self.collect()

    def flat_sends_info(self, digit, duration_ms):
        """The flat sends `digit` in its one call by SIP INFO
        (application/dtmf-relay), routed to the door."""
        call = list(self.flat.agent.calls.values())[0]
        info = call.dialog.create_request("INFO")
        info.headers.add("Content-Type", "application/dtmf-relay")
        info.body = b"Signal=%s\r\nDuration=%d\r\n" % (digit.encode(), duration_ms)
        context = self.flat.agent.context
        context.send_request(info, context.dialog_flow(call.dialog, call.transport), self.now, None)
        self.route()

    def rewrite_sip(self, side, change):
        """Every SIP message `side` sends from now on passes change(message)
        (the parsed Request or Response, edited in place) on its way out."""
        station = self.door if side == "door" else self.flat
        original = station.sip_datagrams

        def rewritten(now_ms):
            out = []
            for data, flow in original(now_ms):
                message = parse_message(bytes(data))
                change(message)
                out.append((message.to_bytes(), flow))
            return out

        station.sip_datagrams = rewritten

    def station_at(self, port):
        """The station listening on port, or None: nobody (dropped)."""
        if port in (DOOR_SIP[1], DOOR_RTP, DOOR_RTP + 1):
            return self.door
        if port in (FLAT_SIP[1], FLAT_RTP, FLAT_RTP + 1):
            return self.flat
        if port in (FLAT2_SIP[1], FLAT2_RTP, FLAT2_RTP + 1):
            return self.flat2
        return None

    def collect(self):
        for name, station, _, _ in self.sides:
            event = station.next_event()
            while event is not None:
                self.events[name].append(event)
                event = station.next_event()

    def record(self):
        """Keep what each speaker plays and each side sends from now on."""
        self.played = {"door": [], "flat": []}
        self.sent_rtp = {"door": [], "flat": []}

    def run(self, duration_ms):
        step = greatest_common_divisor(self.frame_ms["door"], self.frame_ms["flat"])
        end = ticks_add(self.now, duration_ms)
        while ticks_diff(end, self.now) > 0:
            self.now = ticks_add(self.now, step)
            for _, station, _, _ in self.sides:
                deadline = station.get_timer()
                while deadline is not None and ticks_diff(deadline, self.now) <= 0:
                    station.handle_timer(self.now, 0)
                    self.route()
                    deadline = station.get_timer()
            if self._frame_is_due("door", step):
                heard = self.door.audio_frame(self.door_mic, self.now)
                self.door_heard.append(energy(heard))
                if self.played is not None:
                    self.played["door"].append(bytes(heard))
            if self._frame_is_due("flat", step):
                heard = self.flat.audio_frame(self.flat_mic, self.now)
                self.flat_heard.append(energy(heard))
                if self.played is not None:
                    self.played["flat"].append(bytes(heard))
            if self.flat2 is not None and self._frame_is_due("flat2", step):
                heard = self.flat2.audio_frame(self.flat_mic, self.now)
                self.flat2_heard.append(energy(heard))
            self.route()

    def _frame_is_due(self, side, step):
        """Every frame_ms of run() steps (counted, not a stored tick: the
        clock may jump any gap between runs)."""
        since = self._since_frame[side]
        if since is not None:
            since += step
            if since < self.frame_ms[side]:
                self._since_frame[side] = since
                return False
        self._since_frame[side] = 0
        return True

    def names(self, side):
        return [event["event"] for event in self.events[side]]

    def first(self, side, name):
        for event in self.events[side]:
            if event["event"] == name:
                return event
        return None
