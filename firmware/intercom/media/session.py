# One call's media: RTP out and in, jitter buffer, DTMF (RFC 4733 and
# in-band) and RTCP, for the negotiated MEDIA dict of intercom.sip.agent.
# Sans-I/O: datagrams in with now_ms, packets out for the board to send.
#
# Public API
#
#   MediaSession(media, random_bytes, now_ms, cname, frame_ms=20,
#                jitter_min_ms=20, jitter_max_ms=200, latch_host=None,
#                srtp_factory=None, silence=None)
#       frame_ms: the board's audio frame (audio.ptime); media["ptime"], the
#       packet time we send, divides it (intercom.sdp). latch_host: with
#       audio.symmetric_rtp, the host the call's SIP peer talks from (see
#       the rules); None: RTP only from the negotiated address.
#       srtp_factory(suite, master, outbound, buffers) -> an SRTP context
#       (intercom.media.srtp.SrtpContext's interface; the board chooses the
#       implementation): needed when media["srtp"] is set. silence: a
#       frame of zeros (frame_ms) the speaker may play for a muted frame,
#       which nobody writes (dtmf_mute.DtmfMute: the station shares its own).
#     receive_rtp(data, addr, now_ms) -> True when it was an RFC 4733 event
#         (digits or the timer may have changed); any datagram from the RTP
#         socket, read right before the next play_frame
#     receive_rtcp(data, addr, now_ms, wallclock_ms)
#     send_frame(pcm, now_ms) -> sequence of memoryviews
#         one frame of microphone PCM (s16le, frame_ms) in, the RTP packets
#         to send now to .rtp_address out, in order (one per packet time in
#         the frame; valid until the next call); empty while the negotiated
#         direction does not let us send (hold).
#     play_frame(now_ms) -> bytearray   what the speaker plays for this frame
#                                       (frame_ms, whatever packets arrive)
#     send_digits(digits)              RFC 4733 events, in place of audio frames
#     info_digit(now_ms)               a digit came by SIP INFO (the station
#                                      reports it): mute as for an event
#     next_dtmf() -> (digit, source) or None   source "rfc4733" or "inband"
#     rtcp_datagrams(now_ms, wallclock_ms) -> [bytes] for .rtcp_address
#     get_timer() / handle_timer(now_ms, wallclock_ms)
#     update(media)                    a re-INVITE or UPDATE moved the media:
#                                      address, direction, codec (one of ours)
#     expect_rtp(now_ms)               RTP is due from now on (answer, end of
#                                      a hold): .last_rtp_ms starts here
#     stats(now_ms) -> dict
#     summary() -> dict                the call's audio for its call_ended
#                                      event (MEDIA SUMMARY in intercom.events;
#                                      the verdict: audio_verdict below)
#     .rtp_address .rtcp_address .last_rtp_ms .ended_by_peer (RTCP BYE seen)
#
# Rules:
#   - RTCP goes to the RTP port + 1 (RFC 3550 section 11; we do not offer or
#     read a=rtcp).
#   - Packets are accepted only from the negotiated address. Symmetric RTP
#     (RFC 4961, audio.symmetric_rtp, for a peer behind NAT): while the
#     negotiated address has sent nothing, a stream from latch_host (the SIP
#     peer's host) on another port, two packets in sequence with one SSRC,
#     becomes the source (rtp.RtpReceiver), and our RTP and RTCP (its port
#     + 1) go there from then on: its NAT lets our packets in only on the
#     mapping its own packets opened. The negotiated address, once it sends,
#     takes the stream back.
#   - The telephone-event payload type feeds the RFC 4733 receiver; audio
#     payloads feed the jitter buffer and RTCP statistics.
#   - Packet times (RFC 3264 5.1, RFC 4566 6): we send media["ptime"]
#     packets, frame_ms / ptime of them per frame, each timestamp advancing
#     by the samples the packet before carried; we take packets of any
#     whole number of 10 ms blocks up to sdp.MAX_RECEIVE_PTIME, which the
#     jitter buffer re-frames into our frames. The packet time is fixed for
#     the session (a re-INVITE or UPDATE changes address, direction and
#     codec: our packets go to the new address from the next frame, with
#     the new payload type; the jitter buffer starts again on a new codec).
#   - A new SSRC among the audio packets (the peer, or the PBX that now
#     relays it, started another stream) starts the jitter buffer again on
#     its first packet: the old stream's timeline means nothing for it.
#   - The jitter buffer runs on the playout clock: it advances frame_ms per
#     play_frame, and a packet is stamped with the frame that will first
#     play it (boards read RTP right before each frame). Arrivals measured
#     in whole frames leave no scheduling noise in the jitter estimate: on
#     a steady network it stays 0 or 1 frame, within the minimum target
#     (audio.jitter_min_ms). A board that stalls plays fewer frames, so the
#     buffer sees the stream run ahead and skips, as it should.
#   - In-band DTMF digits are reported only when the peer did not
#     negotiate telephone-event: a phone that did sends RFC 4733 (and may
#     send the tones too, which would give every key twice).
#   - The door's speaker never plays DTMF tones (dtmf_mute.DtmfMute): it
#     plays silence for the whole frame while an out-of-band event is in
#     progress (an RFC 4733 event from its first packet until it is
#     reported, a SIP INFO digit for INFO_EVENT_MS) and for the jitter
#     buffer's delay plus EVENT_TAIL_MS after it (the tones the phone also
#     left in its audio come out of the buffer that much later), and
#     silences whatever the in-band detector finds tones in. The detector,
#     the most expensive part of the frame path, runs on every frame only
#     without telephone-event, with the speaker 10 ms behind it (the onset
#     of a tone is caught before it plays); with telephone-event it runs
#     only near an event (until the delay plus NEAR_EVENT_MS after it), and
#     costs nothing between key presses.
#   - direction (ours): sendrecv and sendonly send audio; recvonly and
#     inactive send nothing (held by the peer or holding).
#   - SRTP (RFC 3711; media["srtp"] = (suite, our master key, theirs)):
#     every RTP and RTCP packet we send is protected with our key; every
#     one we receive is unprotected with theirs before anything reads it,
#     and one that fails (authentication, replay, malformed) is dropped and
#     counted (stats srtp_auth_failed, srtp_replayed, srtp_malformed): it
#     never reaches the RFC 4733 receiver, the jitter buffer, the latch or
#     RTCP. A re-INVITE that changes a key (update) starts that
#     direction's context afresh; an unchanged key keeps its ROC and
#     replay window.

from intercom.compat import ticks_add, ticks_diff
from intercom.media import g711
from intercom.media.dtmf import DtmfReceiver, DtmfSender
from intercom.media.dtmf_inband import InbandDtmfDetector
from intercom.media.dtmf_mute import DtmfMute
from intercom.media.jitter import JitterBuffer
from intercom.media.rtcp import RtcpSession
from intercom.media.rtp import RtpReceiver, RtpSender
from intercom.sdp import MAX_RECEIVE_PTIME
from intercom.sip.grammar import format_hostport

SAMPLE_RATE = 8000
BLOCK_SAMPLES = 80  # 10 ms: packet times come in these steps
INFO_EVENT_MS = 250  # how long a SIP INFO digit counts as in progress
EVENT_TAIL_MS = 40  # muted beyond the jitter delay after an event
NEAR_EVENT_MS = 500  # the detector runs this long beyond the jitter delay
MUTE_LOOKAHEAD_SAMPLES = 80  # the speaker's lag behind the detector (10 ms)

_SRTP_STATS = (
    ("auth", "srtp_auth_failed"),
    ("replay", "srtp_replayed"),
    ("malformed", "srtp_malformed"),
)

_CODECS = {
    "PCMU": (g711.ulaw_encode_into, g711.ulaw_decode_into),
    "PCMA": (g711.alaw_encode_into, g711.alaw_decode_into),
}


class MediaSession:
    def __init__(
        self,
        media,
        random_bytes,
        now_ms,
        cname,
        frame_ms=20,
        jitter_min_ms=20,
        jitter_max_ms=200,
        latch_host=None,
        srtp_factory=None,
        silence=None,
    ):
        codec = _CODECS.get(media["codec"])
        if codec is None:
            raise ValueError("unsupported codec %r" % media["codec"])
        packet_ms = media["ptime"]
        frame_samples = SAMPLE_RATE * frame_ms // 1000
        packet_samples = SAMPLE_RATE * packet_ms // 1000
        if packet_ms <= 0 or frame_ms % packet_ms or packet_samples % BLOCK_SAMPLES:
            raise ValueError(
                "packet time %r ms does not divide the %d ms frame" % (packet_ms, frame_ms)
            )
        self._encode_into, decode_into = codec
        self._codec = media["codec"]
        self._frame_ms = frame_ms
        self._playout_ms = now_ms
        self._audio_type = media["payload_type"]
        self._event_type = media["telephone_event_pt"]
        payload_types = [self._audio_type]
        if self._event_type is not None:
            payload_types.append(self._event_type)
        count = frame_ms // packet_ms
        self._sender = RtpSender(
            self._audio_type, random_bytes, packet_samples, packet_samples, buffers=count
        )
        self._packets = [None] * count  # what send_frame returns, reused
        self._mic = None  # the microphone buffer last seen, and its packet parts
        self._mic_parts = ()
        self._receiver = RtpReceiver(payload_types, latch_host=latch_host)
        self._jitter = JitterBuffer(
            decode_into,
            frame_samples=frame_samples,
            block_samples=BLOCK_SAMPLES,
            min_delay_ms=jitter_min_ms,
            max_delay_ms=jitter_max_ms,
            max_packet_ms=MAX_RECEIVE_PTIME,
        )
        self._ssrc_high = None  # the audio stream's SSRC, in two halves (small ints)
        self._ssrc_low = None
        self._rtcp = RtcpSession(self._sender, cname, random_bytes, now_ms)
        self._dtmf_in = DtmfReceiver(payload_types[1:])
        self._dtmf_out = DtmfSender(self._event_type) if self._event_type is not None else None
        self._inband = InbandDtmfDetector()
        always_detect = self._event_type is None
        self._mute = DtmfMute(
            frame_samples,
            self._inband,
            MUTE_LOOKAHEAD_SAMPLES if always_detect else 0,
            silence,
        )
        self._detecting = always_detect
        self._event_end_ms = None  # when the last out-of-band event ended (or will)
        self._digits = []
        self._dtmf_seen = "none"  # the first DTMF method that brought a digit
        self._audio_packets = 0  # audio packets taken (RTCP counts per SSRC)
        self._sdp_address = (media["remote_host"], media["remote_port"])
        self._packet_ms = packet_ms
        self.last_rtp_ms = now_ms
        self.ended_by_peer = False
        self._srtp_factory = srtp_factory
        self._srtp = None  # (suite, our master, theirs) of the contexts below
        self._srtp_out = None
        self._srtp_in = None
        self._srtp_failures = {"malformed": 0, "auth": 0, "replay": 0}  # of replaced contexts
        self.update(media)

    def update(self, media):
        self._sdp_address = (media["remote_host"], media["remote_port"])
        self._send_to(self._sdp_address)
        self._sending = media["direction"] in ("sendrecv", "sendonly")
        self._receiver.set_remote(self.rtp_address)
        if (
            media["codec"] != self._codec
            or media["payload_type"] != self._audio_type
            or media["telephone_event_pt"] != self._event_type
        ):
            self._use_codec(media)
        self._key(media["srtp"])

    def _key(self, srtp):
        old = self._srtp
        if srtp == old:
            return
        self._srtp = srtp
        new_out = srtp is None or old is None or old[0] != srtp[0] or old[1] != srtp[1]
        new_in = srtp is None or old is None or old[0] != srtp[0] or old[2] != srtp[2]
        if new_in and self._srtp_in is not None:  # keep what it counted
            for reason in self._srtp_failures:
                self._srtp_failures[reason] += self._srtp_in.failures[reason]
            self._srtp_in = None
        if new_out:
            self._srtp_out = None
        if srtp is None:
            return
        factory = self._srtp_factory
        if factory is None:
            raise ValueError("SRTP negotiated but the board gave no SRTP implementation")
        if new_out:
            self._srtp_out = factory(srtp[0], srtp[1], True, len(self._packets))
        if new_in:
            self._srtp_in = factory(srtp[0], srtp[2], False, 1)

    def _use_codec(self, media):
        """Another codec or payload types from a re-INVITE or UPDATE."""
        codec = _CODECS.get(media["codec"])
        if codec is None:
            raise ValueError("unsupported codec %r" % media["codec"])
        self._encode_into, decode_into = codec
        self._codec = media["codec"]
        self._jitter.restart(decode_into)
        self._audio_type = media["payload_type"]
        self._sender.payload_type = self._audio_type
        self._event_type = media["telephone_event_pt"]
        payload_types = [self._audio_type]
        if self._event_type is not None:
            payload_types.append(self._event_type)
        self._receiver.accept(payload_types)
        self._dtmf_in = DtmfReceiver(payload_types[1:])
        self._dtmf_out = DtmfSender(self._event_type) if self._event_type is not None else None

    def _send_to(self, address):
        self.rtp_address = address
        self.rtcp_address = (address[0], address[1] + 1)

    # -- receiving -----------------------------------------------------------

    def receive_rtp(self, data, addr, now_ms):
        if self._srtp_in is not None:
            data = self._srtp_in.unprotect(data)
            if data is None:
                return False
        receiver = self._receiver
        packet = receiver.receive(data, addr)
        if packet is None:
            return False
        if receiver.remote is not self.rtp_address:  # latched, or back to the negotiated
            self._send_to(receiver.remote)
        self.last_rtp_ms = now_ms
        if packet.payload_type == self._event_type:
            self._dtmf_in.receive(packet, now_ms)
            self._event_end_ms = now_ms
            self._collect_events()
            return True
        self._receive_audio(packet, now_ms)
        return False

    # The frame path's functions stay within 11 words of frame (arguments,
    # locals, value stack): MicroPython allocates a larger frame from the
    # heap at every call, whichever way the call returns.

    def _receive_audio(self, packet, now_ms):
        if packet.ssrc_low != self._ssrc_low or packet.ssrc_high != self._ssrc_high:
            self._follow_stream(packet)
        self._audio_packets = (self._audio_packets + 1) & 0xFFFFFFFF
        self._rtcp.rtp_received(packet, now_ms)
        self._jitter.put(packet.timestamp_low, packet.payload, self._playout_ms, packet.marker)

    def _follow_stream(self, packet):
        """Another SSRC: a new stream with its own timeline (RFC 3550 8.2)."""
        if self._ssrc_low is not None:
            self._jitter.restart()
        self._ssrc_high = packet.ssrc_high
        self._ssrc_low = packet.ssrc_low

    def receive_rtcp(self, data, addr, now_ms, wallclock_ms):
        if addr[0] != self.rtcp_address[0]:
            return
        if self._srtp_in is not None:
            data = self._srtp_in.unprotect_rtcp(data)
            if data is None:
                return
        self._rtcp.receive_datagram(data, now_ms, wallclock_ms)
        if self._rtcp.next_event() is not None:
            self.ended_by_peer = True

    def play_frame(self, now_ms):
        pcm = self._jitter.get(self._playout_ms)
        self._playout_ms = ticks_add(self._playout_ms, self._frame_ms)
        in_progress = self._dtmf_in.in_progress
        if self._event_end_ms is None and not (in_progress or self._detecting):
            return self._mute.play(pcm, False, False)  # between key presses
        return self._play_near_event(pcm, now_ms, in_progress)

    def _play_near_event(self, pcm, now_ms, in_progress):
        since = None if self._event_end_ms is None else ticks_diff(now_ms, self._event_end_ms)
        delay_ms = self._jitter.delay_ms
        mute_frame = in_progress or (since is not None and since < delay_ms + EVENT_TAIL_MS)
        always_detect = self._event_type is None
        near = since is not None and since < delay_ms + NEAR_EVENT_MS
        if since is not None and not near:
            self._event_end_ms = None  # long past: no tick difference to wrap later
        detect = always_detect or mute_frame or near
        if detect and not self._detecting:
            self._inband.reset()  # audio it last saw is long gone
        self._detecting = detect
        speaker = self._mute.play(pcm, detect, mute_frame)
        self._collect_inband(always_detect)
        return speaker

    def _collect_inband(self, report):
        digit = self._inband.next_digit()
        while digit is not None:
            if report:  # else RFC 4733 or INFO reports the key
                self._digits.append((digit, "inband"))
                self._saw_dtmf("inband")
            digit = self._inband.next_digit()

    def info_digit(self, now_ms):
        self._event_end_ms = ticks_add(now_ms, INFO_EVENT_MS)
        self._saw_dtmf("info")

    def _saw_dtmf(self, method):
        if self._dtmf_seen == "none":
            self._dtmf_seen = method

    def next_dtmf(self):
        return self._digits.pop(0) if self._digits else None

    def _collect_events(self):
        event = self._dtmf_in.next_event()
        while event is not None:
            self._digits.append((event[0], "rfc4733"))
            self._saw_dtmf("rfc4733")
            event = self._dtmf_in.next_event()

    # -- sending -------------------------------------------------------------

    def send_frame(self, pcm, now_ms):
        packets = self._packets
        if not self._sending:
            self._skip_frame()
            return ()
        if pcm is not self._mic:
            self._cut(pcm)
        index = 0
        while index < len(packets):
            packets[index] = self._next_packet(self._mic_parts[index])
            index += 1
        return packets

    def _next_packet(self, pcm):
        """An RFC 4733 event's packet while we send one, else pcm's; as it
        goes out: SRTP-protected when the call negotiated SRTP."""
        dtmf_out = self._dtmf_out
        packet = None
        if dtmf_out is not None and dtmf_out.active:
            packet = dtmf_out.next_packet(self._sender)
        if packet is None:
            sender = self._sender
            packet = sender.packet(self._encode_into(pcm, sender.payload))
        if self._srtp_out is None:
            return packet
        return self._srtp_out.protect(packet)

    def _skip_frame(self):
        for _ in self._packets:
            self._sender.skip_frame()

    def _cut(self, pcm):
        """The frame's PCM cut into packets: views kept while the board
        passes the same buffer (nothing allocated per frame)."""
        self._mic = pcm
        if len(self._packets) == 1:
            self._mic_parts = (pcm,)
        else:
            size = len(pcm) // len(self._packets)  # the frame in equal packets
            view = memoryview(pcm)
            self._mic_parts = [view[size * n : size * (n + 1)] for n in range(len(self._packets))]

    def send_digits(self, digits):
        if self._dtmf_out is None:
            raise ValueError("the peer did not negotiate telephone-event")
        self._dtmf_out.send(digits)

    # -- RTCP and timers -------------------------------------------------------

    def rtcp_datagrams(self, now_ms, wallclock_ms):
        reports = self._rtcp.datagrams_to_send()
        if self._srtp_out is None or not reports:
            return reports
        return [self._srtp_out.protect_rtcp(report) for report in reports]

    def get_timer(self):
        deadline = self._rtcp.get_timer()
        dtmf_deadline = self._dtmf_in.get_timer()
        if dtmf_deadline is not None and ticks_diff(dtmf_deadline, deadline) < 0:
            deadline = dtmf_deadline
        return deadline

    def handle_timer(self, now_ms, wallclock_ms):
        self._dtmf_in.poll(now_ms)
        self._collect_events()
        self._rtcp.handle_timer(now_ms, wallclock_ms)

    def bye(self, now_ms, wallclock_ms):
        """Queue the final RTCP report with BYE (RFC 3550 section 6.6)."""
        self._rtcp.bye(now_ms, wallclock_ms)

    def expect_rtp(self, now_ms):
        self.last_rtp_ms = now_ms

    def summary(self):
        receiver = self._receiver
        received = self._audio_packets
        sent = self._sender.packets_sent
        stray = receiver.stray_address
        if received:
            rx_from = "latched" if receiver.latched else "sdp"
        elif stray is not None:
            rx_from = "elsewhere"
        else:
            rx_from = "none"
        rtcp = self._rtcp
        return {
            "codec": self._codec,
            "ptime": self._packet_ms,
            "telephone_event": self._event_type is not None,
            "dtmf": self._dtmf_seen,
            "packets_sent": sent,
            "packets_received": received,
            "sdp_address": format_hostport(self._sdp_address[0], self._sdp_address[1]),
            "rx_from": rx_from,
            "stray_address": None if stray is None else format_hostport(stray[0], stray[1]),
            "stray_packets": receiver.drops["source"],
            "phone_reports": rtcp.reports_received,
            "phone_heard_us": rtcp.heard_us,
            "audio": audio_verdict(sent, received, rtcp.reports_received, rtcp.heard_us),
        }

    def stats(self, now_ms):
        stats = self._rtcp.stats(now_ms)
        counters = self._jitter.counters
        stats["concealed"] = counters["concealed"]
        stats["late"] = counters["late"]
        stats["played"] = counters["played"]
        stats["delay_ms"] = self._jitter.delay_ms
        stats["dropped"] = sum(self._receiver.drops.values())
        stats["muted_ms"] = self._mute.muted // 8  # DTMF kept off the speaker
        stats["silent_ms"] = max(0, ticks_diff(now_ms, self.last_rtp_ms))
        stats["srtp"] = None if self._srtp is None else self._srtp[0]
        for reason, name in _SRTP_STATS:
            count = self._srtp_failures[reason]
            if self._srtp_in is not None:
                count += self._srtp_in.failures[reason]
            stats[name] = count & 0xFFFFFFFF
        return stats


def audio_verdict(sent, received, phone_reports, phone_heard_us):
    """One word for a call's audio (intercom.events, MEDIA SUMMARY): no_rx
    before no_tx; one_way needs two reports from the phone (its first may
    come before the door's first packet) that never counted ours."""
    if not received:
        return "no_rx"
    if not sent:
        return "no_tx"
    if phone_reports >= 2 and not phone_heard_us:
        return "one_way"
    return "ok"
