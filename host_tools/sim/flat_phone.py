"""A virtual flat phone: the resident's side of a simulated door call.

Built on the firmware's own core (intercom.sip.agent.Agent for SIP,
intercom.media.session.MediaSession for RTP/RTCP/DTMF) driven by the
boards' Loop and UdpSocket, on 127.0.0.1 with free ports: the same stack
as the door, playing the other role. It is not a second door: no doorbell,
no relay, no config file.

What it does with an incoming call (answer, code and hangup can also be
triggered by hand: auto_answer / auto_code False; let_next_ring() leaves
the next call ringing unanswered, as when nobody is home):

    INVITE from a trusted host -> the agent rings (180) -> answer() after
    answer_after_ms -> 200 OK, media starts: every 20 ms a frame is sent
    (the reply WAV from reply_after_ms on, silence otherwise) and a frame
    is played into `heard` -> send_code() code_after_reply_ms after the
    reply ended (RFC 4733 events) -> the door hangs up (or hangup()).

call(uri) calls the door (a resident listening in): media starts when the
door answers; hangup() ends it.

Every datagram it sends or receives goes to `capture.add(time_s, source,
destination, payload)` (a host_tools.pcap.PcapWriter) with the real
addresses and wall-clock times. Events for the scenario go to
on_event(wall_time_s, event_dict): the agent's events plus "media_started",
"reply_started", "reply_ended", "code_sent" and "media_stopped".
"""

import os
import time

from boards.runtime.addresses import bind_rtp_pair
from boards.runtime.udp import UdpSocket
from intercom.compat import ticks_diff
from intercom.config import validate
from intercom.media.session import MediaSession
from intercom.sip.agent import Agent
from intercom.sip.agent_settings import AgentSettings
from intercom.sip.flow import UDP, flow_address, make_flow

FRAME_MS = 20
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono
RECEIVE_SIZE = 4096
SILENCE = bytes(FRAME_BYTES)


def phone_settings(user, host, port, trusted, user_agent):
    """AgentSettings for a phone on the door's core, from a config like a
    door's (intercom.config): peer-to-peer, answering the hosts in trusted
    (its "target" is the door on the first of them)."""
    raw = {
        "device": {"name": "Flat %s" % user},
        "sip": {"user": user, "trusted": list(trusted)},
        "call": {"targets": ["sip:door@%s" % trusted[0]]},
    }
    return AgentSettings(validate(raw, "flat phone"), host, port, user_agent=user_agent)


def split_frames(pcm):
    """16-bit PCM bytes as whole 20 ms frames, the last one padded with silence."""
    frames = []
    for start in range(0, len(pcm), FRAME_BYTES):
        frame = bytes(pcm[start : start + FRAME_BYTES])
        frames.append(frame + bytes(FRAME_BYTES - len(frame)))
    return frames


class FlatPhone:
    def __init__(
        self,
        loop,
        capture,
        on_event,
        host="127.0.0.1",
        user="flat1",
        trusted=("127.0.0.1",),
        reply_pcm=b"",
        answer_after_ms=1000,
        reply_after_ms=1000,
        code=None,
        code_after_reply_ms=1000,
        auto_answer=True,
        auto_code=True,
    ):
        self.loop = loop
        self.capture = capture
        self.on_event = on_event
        self.host = host
        self.user = user
        self.reply_frames = split_frames(reply_pcm)
        self.answer_after_ms = answer_after_ms
        self.reply_after_ms = reply_after_ms
        self.code = code
        self.code_after_reply_ms = code_after_reply_ms
        self.auto_answer = auto_answer
        self.auto_code = auto_code
        self.sip = UdpSocket(host, 0)
        self.rtp, self.rtcp = bind_rtp_pair(host, 0)
        settings = phone_settings(
            user, host, self.sip.local_address[1], trusted, "intercom-sim-flat"
        )
        self.agent = Agent(settings, os.urandom)
        self.heard = bytearray()  # what the phone's speaker played, from media start
        self.heard_times = []  # wall time of each played frame
        self.session = None
        self.call_id = None
        self.last_stats = None
        self._pending_call = None  # (call_id, media) rung but not answered yet
        self._let_ring = False  # the next incoming call is not answered
        self._sip_timer = None
        self._answer_timer = None
        self._audio_timer = None
        self._frame_index = 0
        self._reply_first = None  # frame index where the reply starts
        self._code_frame = None  # frame index at which the code goes out
        for sock in (self.sip, self.rtp, self.rtcp):
            loop.add_reader(sock, self._on_readable)

    @property
    def uri(self):
        return "sip:%s@%s:%d" % (self.user, self.host, self.sip.local_address[1])

    # -- I/O ---------------------------------------------------------------------

    def _send(self, sock, data, address):
        sent_at = time.time()  # before sendto: a descheduling after it must not count
        sock.sendto(data, address)
        self.capture.add(sent_at, sock.local_address, address, data)

    def _on_readable(self, sock, events):
        while True:
            try:
                data, address = sock.recvfrom(RECEIVE_SIZE)
            except OSError:
                return
            self.capture.add(time.time(), address, sock.local_address, data)
            now_ms = self.loop.clock.now_ms()
            if sock is self.sip:
                self.agent.receive_datagram(data, make_flow(UDP, address), now_ms)
                self._pump(now_ms)
            elif self.session is not None and sock is self.rtp:
                self.session.receive_rtp(data, address, now_ms)
            elif self.session is not None:
                self.session.receive_rtcp(data, address, now_ms, _wallclock_ms())

    def _pump(self, now_ms):
        """Send what the agent queued and handle its events until both are empty."""
        while True:
            datagrams = self.agent.datagrams_to_send(now_ms)
            for data, flow in datagrams:  # UDP only: the phone's messages are small
                self._send(self.sip, data, flow_address(flow))
            event = self.agent.next_event()
            if event is None and not datagrams:
                break
            while event is not None:
                self._on_agent_event(event, now_ms)
                event = self.agent.next_event()
        self._rearm_sip_timer(now_ms)

    def _rearm_sip_timer(self, now_ms):
        if self._sip_timer is not None:
            self._sip_timer.cancel()
            self._sip_timer = None
        deadline = self.agent.get_timer()
        if deadline is not None:
            delay = max(0, ticks_diff(deadline, now_ms))
            self._sip_timer = self.loop.call_later(delay, self._on_sip_timer)

    def _on_sip_timer(self):
        self._sip_timer = None
        now_ms = self.loop.clock.now_ms()
        self.agent.handle_timer(now_ms)
        self._pump(now_ms)

    def _emit(self, event):
        self.on_event(time.time(), event)

    # -- call control --------------------------------------------------------------

    def _on_agent_event(self, event, now_ms):
        self._emit(event)
        name = event["event"]
        if name == "incoming_call":
            if self._pending_call is not None or self.session is not None:
                self.agent.reject(event["call_id"], 486, now_ms)  # busy
                return
            self._pending_call = (event["call_id"], event["media"])
            if self._let_ring:
                self._let_ring = False
            elif self.auto_answer:
                self._answer_timer = self.loop.call_later(self.answer_after_ms, self.answer)
        elif name == "answered" and event["call_id"] == self.call_id and self.session is None:
            self._start_media(event["media"], now_ms)  # our call to the door
        elif name == "call_failed" and event["call_id"] == self.call_id:
            self.call_id = None
        elif name == "call_ended" and event["call_id"] in (self.call_id, self._pending_id()):
            self._stop_media(now_ms)
            self._pending_call = None
            if self._answer_timer is not None:
                self._answer_timer.cancel()
                self._answer_timer = None

    def _pending_id(self):
        return self._pending_call[0] if self._pending_call is not None else None

    def answer(self):
        """Answer the ringing call (200 OK) and start media; False when none rings."""
        self._answer_timer = None
        if self._pending_call is None:
            return False
        call_id, media = self._pending_call
        self._pending_call = None
        now_ms = self.loop.clock.now_ms()
        self.agent.answer(call_id, self.rtp.local_address[1], now_ms)
        self.call_id = call_id
        self._start_media(media, now_ms)
        self._pump(now_ms)
        return True

    def let_next_ring(self):
        """The next incoming call rings until the caller gives up."""
        self._let_ring = True

    def call(self, uri):
        """Call uri (the door); False while in a call."""
        if self.call_id is not None or self._pending_call is not None:
            return False
        now_ms = self.loop.clock.now_ms()
        self.call_id = self.agent.call(uri, self.rtp.local_address[1], now_ms)
        self._pump(now_ms)
        return self.call_id is not None

    def hangup(self):
        """BYE (or 486 while ringing); False when there is no call."""
        now_ms = self.loop.clock.now_ms()
        if self._pending_call is not None:
            self.agent.reject(self._pending_call[0], 486, now_ms)
        elif self.call_id is not None:
            self.agent.hangup(self.call_id, now_ms)
        else:
            return False
        self._pump(now_ms)
        return True

    def send_code(self, digits=None):
        """Send the door code (or digits) as RFC 4733 events; False when not in a call."""
        digits = digits if digits is not None else self.code
        if self.session is None or not digits:
            return False
        self.session.send_digits(digits)
        self._code_frame = None
        self._emit({"event": "code_sent", "digits": digits})
        return True

    def close(self):
        for timer in (self._sip_timer, self._answer_timer, self._audio_timer):
            if timer is not None:
                timer.cancel()
        for sock in (self.sip, self.rtp, self.rtcp):
            self.loop.remove_reader(sock)
            sock.close()

    # -- media -------------------------------------------------------------------

    def _start_media(self, media, now_ms):
        cname = "%s@%s" % (self.user, self.host)
        self.session = MediaSession(media, os.urandom, now_ms, cname)
        self._frame_index = 0
        self._reply_first = self.reply_after_ms // FRAME_MS if self.reply_frames else None
        self._code_frame = None
        if self.code and self.auto_code:
            reply_end = 0
            if self._reply_first is not None:
                reply_end = self._reply_first + len(self.reply_frames)
            self._code_frame = reply_end + self.code_after_reply_ms // FRAME_MS
        self._emit({"event": "media_started", "media": media})
        self._audio_timer = self.loop.call_every(FRAME_MS, self._audio_tick)
        self._audio_tick()

    def _mic_frame(self):
        first = self._reply_first
        if first is None:
            return SILENCE
        offset = self._frame_index - first
        if offset == 0:
            self._emit({"event": "reply_started"})
        if 0 <= offset < len(self.reply_frames):
            return self.reply_frames[offset]
        if offset == len(self.reply_frames):
            self._emit({"event": "reply_ended"})
        return SILENCE

    def _audio_tick(self):
        session = self.session
        if session is None:
            return
        now_ms = self.loop.clock.now_ms()
        if self._code_frame is not None and self._frame_index >= self._code_frame:
            self.send_code()
        for packet in session.send_frame(self._mic_frame(), now_ms):
            self._send(self.rtp, packet, session.rtp_address)
        self.heard += session.play_frame(now_ms)
        self.heard_times.append(time.time())
        self._frame_index += 1
        deadline = session.get_timer()
        if deadline is not None and ticks_diff(deadline, now_ms) <= 0:
            session.handle_timer(now_ms, _wallclock_ms())
        self._send_rtcp(now_ms)

    def _send_rtcp(self, now_ms):
        for datagram in self.session.rtcp_datagrams(now_ms, _wallclock_ms()):
            self._send(self.rtcp, datagram, self.session.rtcp_address)

    def _stop_media(self, now_ms):
        if self._audio_timer is not None:
            self._audio_timer.cancel()
            self._audio_timer = None
        session = self.session
        if session is None:
            return
        session.bye(now_ms, _wallclock_ms())
        self._send_rtcp(now_ms)
        self.last_stats = session.stats(now_ms)
        self.session = None
        self.call_id = None
        self._emit({"event": "media_stopped", "stats": self.last_stats})


def _wallclock_ms():
    return int(time.time() * 1000)
