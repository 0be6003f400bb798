# The door station: the SIP agent, the doorbell, the door policy and the
# call's media behind one sans-I/O object that every board drives the same
# way (see /README.md, "Boards", and boards/runtime/runtime.py).
#
# Board contract:
#   Station(config, random_bytes, now_ms, local_host, sip_port, rtp_port,
#           saved_door_state=None, srtp_factory=None)
#                                         srtp_factory: the board's SRTP
#                                         implementation (media/session.py),
#                                         needed when audio.srtp is not off
#   start(now_ms) / stop(now_ms)          stop hangs up and unregisters; keep
#                                         pumping datagrams until .stopped
#   button(pressed, now_ms, number=1)     a [[button]] by its id (1: [gpio] button)
#   hangup(now_ms)  remote_open(source, now_ms)
#   input(name, active, now_ms)           INPUTS: door_contact (active = open),
#                                         exit_button (pressed), tamper (triggered)
#   set_local_time(local, now_ms)         (weekday 0 = Monday, minute of the
#                                         day) or None: quiet hours
#   set_quiet_mode(mode, source, now_ms) -> bool   reset_tamper(source, now_ms) -> bool
#   receive_sip(data, flow, now_ms)       receive_rtp(data, addr, now_ms)
#   receive_rtcp(data, addr, now_ms, wallclock_ms)
#   sip_flow_failed(flow, now_ms, framing=False, reason=None)   (reason: a TLS
#                                         failure, boards/runtime/sip_tls.py)
#   accepts_sip_connection(flow, now_ms)
#   audio_frame(mic_pcm, now_ms) -> speaker PCM: call every ptime ms, always
#   sip_datagrams(now_ms) -> [(bytes, flow)] / sip_flows_to_close() /
#   rtp_datagrams() / rtcp_datagrams(now_ms, wallclock_ms)
#   (SIP flows and what they mean: intercom/sip/flow.py and agent.py;
#   rtp_datagrams() and rtcp_datagrams() give sequences of (bytes, (host, port));
#   rtp_datagrams()'s is valid until its next call)
#   get_timer() / handle_timer(now_ms, wallclock_ms) / next_event()
#   .relay_on  .led  .state  .stopped  door_state_to_save(now_ms)  stats(now_ms)
#   output(name), name in pins.OUTPUTS:   chime (a pulse of chime.pulse_ms on a
#                                         press), calling, talking, door_open
#                                         (the relay): call-state lights
#   .mic_live (the visitor is heard: a call talks, or a message records)
#   .voicemail.state  .listen_in (a resident listens in: the notice plays)
#   needs_flush() / flushed()
# messages (Station(..., messages=...)): the board's prompt and message
# files for the voicemail (intercom.app.voicemail); None: the tone only.
#
# The media fast path: an audio frame or an RTP packet usually changes
# nothing but the media (a packet out, samples in the jitter buffer). After
# those two inputs a board may send rtp_datagrams() alone and do the whole
# flush (every output above, then flushed()) only when needs_flush() says
# something else may have changed: an event, a digit, a media timer (RTCP,
# an RFC 4733 event without its end). Every other input always needs it.
#
# How the parts meet (the station's own call state: the media session and
# its call, the policy's call, incoming calls awaiting their ACK, the URIs
# it dialled):
#   agent event                 goes to
#   --------------------------- --------------------------------------------
#   registered / failed         doorbell.set_registered, event out
#   incoming_call               doorbell.on_incoming(From, identity) answers
#                               or rejects; nothing else yet: no media, no
#                               digits, no policy call before the ACK
#   answered (incoming)         the ACK matching our To tag came (with the
#                               answer, for a delayed offer): media starts,
#                               policy.call_answered(identity)
#   ringing                     doorbell.on_ringing
#   early_media                 media starts, receive only (no ringback then)
#   answered (outgoing)         doorbell.on_answered; the talking call gets
#                               media and policy.call_answered(dialled URI,
#                               the button: its code and open_from);
#                               a call the doorbell no longer owns (a 2xx
#                               after it gave up) is hung up
#   call_failed                 doorbell.on_failed with the SIP status
#                               (timeout counts as no_answer)
#   call_ended                  doorbell.on_remote_ended (the caller's
#                               CANCEL: cancelled; our answer never ACKed:
#                               error no_ack; else remote_hangup)
#   dtmf (SIP INFO)             media.info_digit (mutes the speaker),
#                               policy.receive_digit (the policy's call only)
#   media_updated               media.update (hold / unhold)
#   transfer_requested          a REFER from the party the doorbell talks
#                               with: accepted when its target is in
#                               call.transfer_to (agent.accept_transfer: the
#                               door calls that entry of transfer_to, never
#                               the URI the peer wrote), else refused (403;
#                               603 when the doorbell does not talk on that
#                               call)
#   answered (a transfer's      doorbell.transferred: the new call talks,
#   new call)                   media moves to it, policy.call_answered(the
#                               target, the button's rules as before)
#   call_failed (a transfer's   transfer_failed; the old call goes on (when
#   new call)                   its party hung up meanwhile, it ends now)
#   call_ended (the old call,   no doorbell change while its transfer rings
#   its transfer ringing)       (media stops)
#   incoming_call with          (RFC 3891) answered when the doorbell talks
#   replaces                    on the replaced call and the caller is in
#                               call.answer_from or call.transfer_to, else
#                               403; answered (ACKed): BYE to the replaced
#                               call, then as a transfer's answered above
#   internal_error              an `error` event (a bug of ours, counted)
#   button(pressed)             quiet_hours.targets(button): the button's own
#                               targets, or in quiet hours others or none;
#                               doorbell.button_pressed; doorbell.chime_due:
#                               the chime output pulses, chime.tone plays it
#   input door_contact          door_contact.report; the door opened while
#                               calling: doorbell.hangup_requested(door_opened)
#                               (CANCEL to every phone still ringing)
#   input exit_button           `exit_button`, policy.local_open (the relay)
#   input tamper                policy.tamper
#   policy door_opened          doorbell.door_opened (confirmation tone);
#                               while calling (the exit button, a remote
#                               open): doorbell.hangup_requested(door_opened)
#   relay on/off                door_contact.relay_changed (forced or not)
#   policy code_rejected        doorbell.code_rejected (rejection tone)
#   policy hangup_due           doorbell.hangup_requested(its reason: door_opened,
#                               or local_hangup wrong_codes after
#                               door.hangup_after_wrong)
#   no RTP for call.media_timeout while RTP is due (answered, sendrecv, not
#   c=0.0.0.0: never on hold; the silence counts from the answer or the
#   end of the hold)            doorbell.hangup_requested(reason rtp_timeout)
#   doorbell call_ended         out with the media summary of the call's
#                               session (MediaSession.summary), taken before
#                               the media stops
#   doorbell nobody_answered    voicemail.start: the prompt sequence
#   doorbell leaves idle        voicemail.stop (a message so far is kept)
#
# The listen notice: an incoming call the door answered (a resident
# listening in) plays tones.listen_notice on the door's speaker from its
# first frame and every call.notice_interval s (sample-exact: it counts
# the frames played), over the resident's audio, until the call ends; the
# config refuses to turn it off while call.answer_from lets anyone in.
#
# A transfer's new call lives as long as the doorbell talks on the call it
# replaces: when the doorbell leaves that call, the new one is hung up.
#
# Media and the policy's call live only as long as the doorbell's call:
# after every input (_settle) the media session is dropped unless it
# belongs to the talking call (or, calling, to a call still ringing: early
# media), and the policy's call ends unless the doorbell is talking on it.
# So when the doorbell leaves talking (our BYE, the max duration, the code
# opened the door) no audio leaves and no digit counts from that moment,
# whether or not the peer ever answers the BYE.
#
# No exception leaves an input (every method above that takes now_ms, and
# rtcp_datagrams, which runs media code): whatever a peer sends, an error
# in the agent's events, the doorbell, the door policy or the media is a
# bug of ours met by that input. It is counted (stats()["internal_errors"],
# .last_error), reported as an `error` event ("where: exception"), and ends
# the doorbell's call, the one call the door has (call_ended reason
# internal_error; media and digits stop at once); should ending it fail
# too, every SIP call is hung up and the media dropped. The door then
# takes the next call. MemoryError is not caught: it leaves the station and
# the board's loop, the runtime turns the relay off on its way out, and the
# board restarts (systemd on the Pi, the watchdog on the Pico W).
#
# The door state file holds the policy's state (intercom.app.door, Restart)
# and "quiet_mode", the owner's quiet hours switch; door_state_to_save gives
# it after a change of either.
#
# Tones replace the remote audio on the door's speaker while they play, and
# the voicemail's prompt and beep whatever else would play. The
# remote audio never carries the resident's DTMF tones to the speaker: the
# media session silences them (media/session.py, media/dtmf_mute.py).
# LED patterns: lockout "double", calling "fast", talking/ending "on", idle
# "on" when registered (or peer-to-peer), "slow" when not registered.

from intercom import compat, events
from intercom.app.door import STATE_VERSION, DoorPolicy
from intercom.app.door_contact import DoorContact
from intercom.app.doorbell import CALLING, IDLE, TALKING, Doorbell
from intercom.app.identity import allowed_identities, home_hosts, parse_identity
from intercom.app.quiet_hours import AUTO, MODES, QuietHours
from intercom.app.relay import RelayPulse
from intercom.app.voicemail import Voicemail
from intercom.compat import ticks_diff
from intercom.media import tones
from intercom.media.session import MediaSession
from intercom.sip.agent import Agent
from intercom.sip.agent_settings import AgentSettings

# The largest SIP datagram parsed; the MicroPython boards receive at most
# this much (boards/runtime/runtime.py, SIP_RECEIVE_BYTES).
MAX_MESSAGE_SIZE = 4096 if compat.IS_MICROPYTHON else 65536
_TONES = {
    "ringback": tones.ringback,
    "error": tones.call_failed,
    "warning": tones.call_ending,
    "confirm": tones.door_opened,
    "reject": tones.code_rejected,
    "chime": tones.chime,
}
_FAILURE_REASONS = {"timeout": "no_answer"}
# The agent's reasons for the end of a call (intercom.sip.agent) as the
# doorbell's call_ended reason and detail; any other: remote_hangup.
# The agent's events (intercom.sip.agent's header) and the Station method
# that takes each (unregistered needs nothing here).
_AGENT_EVENT_HANDLERS = {
    "registered": "_on_registered",
    "registration_failed": "_on_registration_failed",
    "incoming_call": "_on_incoming_call",
    "ringing": "_on_ringing",
    "early_media": "_on_early_media",
    "answered": "_on_answered",
    "call_failed": "_on_call_failed",
    "transfer_requested": "_on_transfer_requested",
    "call_ended": "_on_call_ended",
    "dtmf": "_on_dtmf",
    "internal_error": "_on_internal_error",
    "media_updated": "_on_media_updated",
}
_ENDED_REASONS = {
    "cancelled": (events.CANCELLED, "remote"),
    "no_ack": (events.CALL_FAILED, "no_ack"),
}
# A c= address that says "send nothing here" (RFC 3264 8.4, the old hold).
_UNSPECIFIED_HOSTS = ("0.0.0.0", "::")
STAT_MASK = 0xFFFFFFFF


class _Phone:
    """The doorbell's view of the agent: calls by target, media on answer."""

    def __init__(self, station):
        self._station = station

    def call(self, target, now_ms, button):
        station = self._station
        call_id = station.agent.call(
            target,
            station.rtp_port,
            now_ms,
            display_name=button["label"],
            alert_info=button["alert_info"],
        )
        station.dialled[call_id] = station.agent.target_uri(target)
        return call_id

    def hangup(self, call_id, now_ms):
        self._station.agent.hangup(call_id, now_ms)

    def answer(self, call_id, now_ms):
        self._station.agent.answer(call_id, self._station.rtp_port, now_ms)

    def reject(self, call_id, status, now_ms):
        self._station.agent.reject(call_id, status, now_ms)


def _saved_quiet_mode(saved):
    """The quiet hours mode of a saved door state (auto when absent or bad)."""
    if isinstance(saved, dict) and saved.get("version") == STATE_VERSION:
        mode = saved.get("quiet_mode")
        if mode in MODES:
            return mode
    return AUTO


class Station:
    def __init__(
        self,
        config,
        random_bytes,
        now_ms,
        local_host,
        sip_port,
        rtp_port,
        saved_door_state=None,
        srtp_factory=None,
        messages=None,
    ):
        sip = config["sip"]
        call = config["call"]
        audio = config["audio"]
        self.config = config
        self.rtp_port = rtp_port
        self._random_bytes = random_bytes
        self._cname = "%s@%s" % (sip["user"], local_host)
        self._frame_ms = audio["ptime"]
        self._frame_bytes = 16 * audio["ptime"]  # 8 samples/ms, 2 bytes each
        self._jitter_bounds = (audio["jitter_min_ms"], audio["jitter_max_ms"])
        self._symmetric_rtp = audio["symmetric_rtp"]
        self._srtp_factory = srtp_factory
        self._media_timeout_ms = call["media_timeout"] * 1000
        self._notice_interval_ms = call["notice_interval"] * 1000
        self._show_digits = config["device"]["show_dtmf_digits"]
        self.agent = Agent(
            AgentSettings(config, local_host, sip_port, max_message_size=MAX_MESSAGE_SIZE),
            random_bytes,
        )
        answer_from = allowed_identities(call["answer_from"], home_hosts(sip))
        self._transfer_to = {}  # identity -> the call.transfer_to entry the door dials
        for entry in call["transfer_to"]:
            for identity in allowed_identities([entry], home_hosts(sip)):
                self._transfer_to.setdefault(identity, entry)
        self._may_replace = answer_from + [
            identity for identity in self._transfer_to if identity not in answer_from
        ]
        self.doorbell = Doorbell(
            call,
            _Phone(self),
            lambda identity: parse_identity(identity) in answer_from,
            self._doorbell_emit,
            config["chime"]["on_repeat"],
        )
        self.doorbell.set_registered(not sip["register"])
        self.policy = DoorPolicy(config, now_ms, saved_door_state)
        self.buttons = {}  # id -> [[button]] entry
        for button in config["button"]:
            self.buttons[button["id"]] = button
        self.quiet_hours = QuietHours(config["schedule"], _saved_quiet_mode(saved_door_state))
        self._quiet_mode_saved = self.quiet_hours.mode
        self.door_contact = DoorContact(config["door"]["open_too_long"])
        self._relay_seen = False
        self._chime = RelayPulse(config["chime"]["pulse_ms"])
        self._chime_tone = config["chime"]["tone"]
        self.voicemail = Voicemail(config["voicemail"], messages)
        self.dialled = {}  # call id -> URI we dialled (the caller identity on answer)
        self._awaiting_ack = {}  # incoming call id -> caller identity, until `answered`
        # a transfer's new call id -> [old call id, target, attended, old ended]
        self._transfers = {}
        self.media = None
        self._media_call_id = None
        self._policy_call_id = None
        self._receiving = False
        self.last_call_stats = None
        self._events = []
        self._rtp_out = []  # RTP to send, until rtp_datagrams() hands it out
        self._rtp_handed = []  # the list it handed out last: sent since
        self._silence = bytearray(self._frame_bytes)
        self._tone_buffer = bytearray(self._frame_bytes)  # also the notice's and the voicemail's
        self._tone_name = None
        self._tone = None
        self._notice = None  # the listen notice of an incoming call (tones.listen_notice)
        self._stopping = False
        self.stopped = False
        self._needs_flush = True
        self.internal_errors = 0
        self.last_error = None  # the last exception caught at an input (tests read it)

    # -- lifecycle -------------------------------------------------------------

    def start(self, now_ms):
        device = self.config["device"]
        self._emit(
            now_ms,
            events.STARTED,
            {
                "board": device["board"],
                "name": device["name"],
                "sip_port": self.agent.settings.local_port,
                "rtp_port": self.rtp_port,
            },
        )
        try:
            self.agent.start(now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("start", error, now_ms)

    def stop(self, now_ms):
        self._stopping = True
        try:
            self.doorbell.hangup_requested(now_ms, events.LOCAL_HANGUP, "shutdown")
            self.voicemail.stop(now_ms)
            self.agent.stop(now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("stop", error, now_ms)

    # -- inputs ------------------------------------------------------------------

    def button(self, pressed, now_ms, number=1):
        try:
            button = self.buttons[number]
            if pressed:
                targets = self.quiet_hours.targets(number)
                quiet = targets is not None
                if not quiet:
                    targets = button["targets"]
                self.doorbell.button_pressed(now_ms, button, targets, quiet)
            else:
                self._emit(now_ms, events.BUTTON, {"state": "released", "button": number})
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("button", error, now_ms)

    def input(self, name, active, now_ms):
        """An optional input changed (INPUTS; the board debounces them)."""
        try:
            if name == "door_contact":
                if self.door_contact.report(active, now_ms) and self.doorbell.state == CALLING:
                    self.doorbell.hangup_requested(now_ms, "door_opened")
            elif name == "exit_button":
                if active:
                    self._emit(now_ms, events.EXIT_BUTTON, None)
                    self.policy.local_open(now_ms)
            elif name == "tamper":
                self.policy.tamper(active, now_ms)
            else:
                raise ValueError("unknown input %r" % (name,))
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("input", error, now_ms)

    def set_local_time(self, local, now_ms):
        """The board's local time: (weekday 0 = Monday, minute of the day),
        None while unknown; quiet hours follow it."""
        try:
            self.quiet_hours.set_local_time(local, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("set_local_time", error, now_ms)

    def set_quiet_mode(self, mode, source, now_ms):
        """The owner's quiet hours switch (auto, on, off) from mqtt or http;
        False for an unknown mode."""
        try:
            changed = self.quiet_hours.set_mode(mode, source, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("set_quiet_mode", error, now_ms)
            return False
        return changed

    def reset_tamper(self, source, now_ms):
        """Clears a latched tamper alarm (authenticated mqtt or http)."""
        try:
            reset = self.policy.reset_tamper(source, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("reset_tamper", error, now_ms)
            return False
        return reset

    def hangup(self, now_ms):
        try:
            self.doorbell.hangup_requested(now_ms, events.LOCAL_HANGUP, "hangup")
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("hangup", error, now_ms)

    def remote_open(self, source, now_ms):
        """mqtt/http allow_open: the door policy decides (rate limit)."""
        try:
            opened = self.policy.remote_open(source, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("remote_open", error, now_ms)
            return False
        return opened

    def receive_sip(self, data, flow, now_ms):
        try:
            self.agent.receive_datagram(data, flow, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("receive_sip", error, now_ms)

    def sip_flow_failed(self, flow, now_ms, framing=False, reason=None):
        try:
            self.agent.flow_failed(flow, now_ms, framing, reason)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("sip_flow_failed", error, now_ms)

    def accepts_sip_connection(self, flow, now_ms):
        return self.agent.accepts_connection(flow, now_ms)

    def receive_rtp(self, data, addr, now_ms):
        media = self.media
        if media is None:
            return
        try:
            if media.receive_rtp(data, addr, now_ms):
                self._needs_flush = True  # an RFC 4733 event: its timer may have moved
                self._take_digits(media, now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("receive_rtp", error, now_ms)

    def receive_rtcp(self, data, addr, now_ms, wallclock_ms):
        self._needs_flush = True
        if self.media is None:
            return
        try:
            self.media.receive_rtcp(data, addr, now_ms, wallclock_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("receive_rtcp", error, now_ms)

    def audio_frame(self, mic_pcm, now_ms):
        try:
            speaker = self._exchange_frame(mic_pcm, now_ms)
            notice = self._notice
            if notice is not None:
                speaker = self._play_notice(notice, speaker)
            if self.voicemail.active:
                speaker = self._voicemail_frame(mic_pcm, now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("audio_frame", error, now_ms)
            speaker = self._silence
        tone = self._current_tone()
        if tone is not None:
            tone.read_into(self._tone_buffer)
            speaker = self._tone_buffer
        return speaker

    def _play_notice(self, notice, speaker):
        """The listen notice's next frame over the resident's audio."""
        samples = self._frame_bytes >> 1
        if notice.silent_for(samples):
            notice.skip(samples)
            return speaker
        notice.read_into(self._tone_buffer)  # a doorbell tone after it writes over it
        return self._tone_buffer

    def _voicemail_frame(self, mic_pcm, now_ms):
        voicemail = self.voicemail
        if not voicemail.frame(mic_pcm, self._tone_buffer, now_ms):
            speaker = self._silence
        else:
            speaker = self._tone_buffer
        if voicemail.has_events:
            self._settle(now_ms)  # out with them (a message recorded, an error)
        return speaker

    def _exchange_frame(self, mic_pcm, now_ms):
        media = self.media
        if media is None:
            return self._silence
        if self.doorbell.state == TALKING:
            self._send_audio(media, mic_pcm, now_ms)
        speaker = media.play_frame(now_ms)
        self._take_digits(media, now_ms)
        timeout = self._media_timeout_ms
        if self._receiving and timeout and ticks_diff(now_ms, media.last_rtp_ms) > timeout:
            self.doorbell.hangup_requested(now_ms, events.RTP_TIMEOUT)
            self._settle(now_ms)
        return speaker

    def _send_audio(self, media, mic_pcm, now_ms):
        # Apart from _exchange_frame: MicroPython allocates a call's frame
        # from the heap at every call when it exceeds 11 words.
        packets = media.send_frame(mic_pcm, now_ms)
        count = len(packets)
        index = 0
        while index < count:
            self._rtp_out.append((packets[index], media.rtp_address))
            index += 1

    # -- outputs -------------------------------------------------------------------

    def sip_datagrams(self, now_ms):
        return self.agent.datagrams_to_send(now_ms)

    def sip_flows_to_close(self):
        return self.agent.flows_to_close()

    def rtp_datagrams(self):
        """The RTP to send. The list is valid until the next call (two
        lists take turns: no new list per frame, on MicroPython two
        allocations), its packets until the next audio frame (the media
        reuses their buffers)."""
        out = self._rtp_out
        if not out:
            return ()
        handed = self._rtp_handed
        handed.clear()
        self._rtp_out = handed
        self._rtp_handed = out
        return out

    def rtcp_datagrams(self, now_ms, wallclock_ms):
        media = self.media
        if media is None:
            return []
        try:
            reports = media.rtcp_datagrams(now_ms, wallclock_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("rtcp_datagrams", error, now_ms)
            return []
        return [(data, media.rtcp_address) for data in reports]

    def get_timer(self):
        deadline = None
        parts = [self.agent, self.doorbell, self.policy, self.door_contact, self._chime]
        if self.media is not None:
            parts.append(self.media)
        for part in parts:
            candidate = part.get_timer()
            if candidate is not None and (deadline is None or ticks_diff(candidate, deadline) < 0):
                deadline = candidate
        return deadline

    def handle_timer(self, now_ms, wallclock_ms):
        try:
            self.agent.handle_timer(now_ms)
            self.doorbell.handle_timer(now_ms)
            self.policy.handle_timer(now_ms)
            self.door_contact.handle_timer(now_ms)
            self._chime.handle_timer(now_ms)
            media = self.media
            if media is not None:
                media.handle_timer(now_ms, wallclock_ms)
                self._take_digits(media, now_ms)
            self._settle(now_ms)
        except MemoryError:
            raise
        except Exception as error:
            self._internal_error("handle_timer", error, now_ms)

    def next_event(self):
        return self._events.pop(0) if self._events else None

    def needs_flush(self):
        """False while only media moved since the last flushed()."""
        return self._needs_flush

    def flushed(self):
        """The board has taken every output and re-armed its timer."""
        self._needs_flush = False

    @property
    def relay_on(self):
        return self.policy.relay_on

    def output(self, name):
        """Whether an output of OUTPUTS is on now."""
        if name == "chime":
            return self._chime.is_on
        if name == "calling":
            return self.doorbell.state == CALLING
        if name == "talking":
            return self.doorbell.state == TALKING
        if name == "door_open":
            return self.policy.relay_on
        raise ValueError("unknown output %r" % (name,))

    @property
    def state(self):
        return self.doorbell.state

    @property
    def mic_live(self):
        return self.doorbell.state == TALKING or self.voicemail.recording

    @property
    def listen_in(self):
        return self._notice is not None

    @property
    def led(self):
        if self.policy.is_locked():
            return "double"
        state = self.doorbell.state
        if state == CALLING:
            return "fast"
        if state == IDLE and not self.doorbell.registered:
            return "slow"
        return "on"

    def door_state_to_save(self, now_ms):
        """The door state file's content after a change, else None (top)."""
        state = self.policy.state_to_save(now_ms)
        mode = self.quiet_hours.mode
        if state is None and mode == self._quiet_mode_saved:
            return None
        if state is None:
            state = self.policy.persistent_state(now_ms)
        self._quiet_mode_saved = mode
        state["quiet_mode"] = mode
        return state

    def stats(self, now_ms):
        stats = {
            "sip": dict(self.agent.stats),
            "ignored_presses": self.doorbell.ignored_presses,
            "internal_errors": self.internal_errors,
        }
        if self.media is not None:
            stats["media"] = self.media.stats(now_ms)
        elif self.last_call_stats is not None:
            stats["media"] = self.last_call_stats
        return stats

    # -- plumbing --------------------------------------------------------------------

    def _settle(self, now_ms):
        """Pass events between the parts until nothing more happens."""
        self._needs_flush = True
        busy = True
        while busy:
            busy = False
            event = self.agent.next_event()
            while event is not None:
                busy = True
                self._agent_event(event, now_ms)
                event = self.agent.next_event()
            event = self.policy.next_event()
            while event is not None:
                busy = True
                self._policy_event(event, now_ms)
                event = self.policy.next_event()
            for part in (self.quiet_hours, self.door_contact):
                event = part.next_event()
                while event is not None:
                    busy = True
                    self._events.append(event)
                    event = part.next_event()
            reason = self.policy.hangup_due
            if reason is not None:
                busy = True
                self.policy.hangup_due = None
                if reason == events.DOOR_OPENED:
                    self.doorbell.hangup_requested(now_ms, events.DOOR_OPENED)
                else:
                    self.doorbell.hangup_requested(now_ms, events.LOCAL_HANGUP, reason)
            if self.doorbell.chime_due:
                self.doorbell.chime_due = False
                self._chime.start(now_ms)
                if self._chime_tone:
                    self.doorbell.play_chime(now_ms)
            relay = self.policy.relay_on
            if relay != self._relay_seen:
                self._relay_seen = relay
                self.door_contact.relay_changed(relay, now_ms)
            self._run_voicemail(now_ms)
            event = self.voicemail.next_event()
            while event is not None:
                busy = True
                self._events.append(event)
                event = self.voicemail.next_event()
            self._end_what_the_doorbell_left(now_ms)
        if self._stopping and not self.agent.calls:
            registration = self.agent.registration
            self.stopped = registration is None or not registration.registered

    def _agent_event(self, event, now_ms):
        handler = _AGENT_EVENT_HANDLERS.get(event["event"])
        if handler is not None:
            getattr(self, handler)(event, event.get("call_id"), now_ms)

    def _on_registered(self, event, call_id, now_ms):
        self.doorbell.set_registered(True)
        self._emit(
            now_ms,
            events.REGISTERED,
            {"server": self.config["sip"]["server"], "expires": event["expires"]},
        )

    def _on_registration_failed(self, event, call_id, now_ms):
        self.doorbell.set_registered(False)
        self._emit(
            now_ms,
            events.REGISTRATION_FAILED,
            {
                "server": self.config["sip"]["server"],
                "reason": event["reason"],
                "retry_in_ms": event["retry_in_ms"],
            },
        )

    def _on_incoming_call(self, event, call_id, now_ms):
        if event.get("replaces") is not None:
            self._incoming_replaces(event, now_ms)
            return
        identity = event["identity"]
        self.doorbell.on_incoming(call_id, event["from_uri"], identity, now_ms)
        if self.doorbell.talking_call_id == call_id:
            self._awaiting_ack[call_id] = identity

    def _on_ringing(self, event, call_id, now_ms):
        self.doorbell.on_ringing(call_id, now_ms)

    def _on_early_media(self, event, call_id, now_ms):
        if self.doorbell.state == CALLING and self.media is None:
            self._start_media(call_id, event["media"], now_ms, False)
            self.doorbell.tone = None

    def _on_answered(self, event, call_id, now_ms):
        if call_id in self._transfers:
            self._transfer_answered(call_id, event["media"], now_ms)
        elif call_id in self._awaiting_ack:
            self._incoming_confirmed(call_id, event["media"], now_ms)
        elif self.doorbell.state == CALLING and self.doorbell.owns(call_id):
            self._outgoing_answered(call_id, event["media"], now_ms)
        else:  # a 2xx nobody waits for any more (the doorbell gave up, or
            self.agent.hangup(call_id, now_ms)  # another flat answered first)

    def _incoming_confirmed(self, call_id, media, now_ms):
        """The ACK of our answer to a resident calling the door."""
        identity = self._awaiting_ack.pop(call_id)
        if self.doorbell.state == TALKING and self.doorbell.talking_call_id == call_id:
            self._start_media(call_id, media, now_ms, True)
            self._answer_policy(call_id, identity, now_ms)
            if self._notice_interval_ms:
                self._notice = tones.listen_notice(self._notice_interval_ms)

    def _outgoing_answered(self, call_id, media, now_ms):
        """A flat answered the door's call."""
        self.doorbell.on_answered(call_id, now_ms)
        if self._media_call_id == call_id:
            self._call_media().update(media)
            self._expect_rtp(media, now_ms)
        else:
            self._start_media(call_id, media, now_ms, True)
        button = self.doorbell.button_id
        self._answer_policy(call_id, self.dialled.get(call_id, ""), now_ms, button)

    def _on_call_failed(self, event, call_id, now_ms):
        reason = _FAILURE_REASONS.get(event["reason"], event["reason"])
        if call_id in self._transfers:
            self._transfer_failed(call_id, reason, now_ms)
        self.doorbell.on_failed(call_id, reason, now_ms, event["status"])
        self.dialled.pop(call_id, None)

    def _on_call_ended(self, event, call_id, now_ms):
        reason, detail = _ENDED_REASONS.get(event["reason"], (events.REMOTE_HANGUP, None))
        if not self._transfer_pending(call_id, now_ms):
            self.doorbell.on_remote_ended(call_id, now_ms, reason, detail)
        self.dialled.pop(call_id, None)
        self._awaiting_ack.pop(call_id, None)

    def _on_dtmf(self, event, call_id, now_ms):
        if call_id == self._media_call_id:
            self._call_media().info_digit(now_ms)  # its tones stay off the speaker
        if call_id == self._policy_call_id:
            self.policy.receive_digit(event["digit"], "info", now_ms)
            self._emit_digit(now_ms, event["digit"], "info")

    def _on_internal_error(self, event, call_id, now_ms):
        self._emit(now_ms, events.ERROR, {"reason": event["reason"]})

    def _on_media_updated(self, event, call_id, now_ms):
        if call_id == self._media_call_id:
            self._call_media().update(event["media"])
            if self.doorbell.state == TALKING:
                self._expect_rtp(event["media"], now_ms)

    def _doorbell_emit(self, now_ms, name, fields):
        """The doorbell's events; a call_ended gets the media summary of
        the call's session (still there: the media stops after it)."""
        if name != events.CALL_ENDED:
            self._emit(now_ms, name, fields)
            return
        media = self.media
        self._events.append(
            events.call_ended(
                now_ms,
                fields["reason"],
                fields["duration_ms"],
                fields["detail"],
                fields["sip_code"],
                None if media is None else media.summary(),
            )
        )

    def _run_voicemail(self, now_ms):
        """The prompt sequence after nobody answered; it ends when the
        doorbell leaves idle (a press rang again, a call came in)."""
        doorbell = self.doorbell
        if doorbell.nobody_answered:
            doorbell.nobody_answered = False
            if doorbell.state == IDLE and not self._stopping:
                self.voicemail.start(now_ms)
        elif doorbell.state != IDLE and self.voicemail.active:
            self.voicemail.stop(now_ms)

    # -- transfers (RFC 3515, RFC 3891) -------------------------------------------

    def _on_transfer_requested(self, event, call_id, now_ms):
        target = event["target"]
        doorbell = self.doorbell
        reason = None
        if doorbell.state != TALKING or doorbell.talking_call_id != call_id:
            reason = "not_talking"
            self.agent.refuse_transfer(call_id, 603, now_ms)
        elif parse_identity(target) not in self._transfer_to:
            reason = "target_not_allowed"  # never an arbitrary URI: toll fraud
            self.agent.refuse_transfer(call_id, 403, now_ms)
        else:
            # the door dials its own entry, never the peer's URI (its
            # parameters, maddr, port: where the INVITE would go)
            dialled = self.agent.target_uri(self._transfer_to[parse_identity(target)])
            new_call_id = self.agent.accept_transfer(call_id, dialled, self.rtp_port, now_ms)
            if new_call_id is None:
                reason = "no_room"
            else:
                self._transfers[new_call_id] = [call_id, dialled, event["attended"], False]
                self.dialled[new_call_id] = dialled
        fields = {"target": target, "attended": event["attended"], "accepted": reason is None}
        if reason is not None:
            fields["reason"] = reason
        self._emit(now_ms, events.TRANSFER_REQUESTED, fields)

    def _incoming_replaces(self, event, now_ms):
        """An INVITE with Replaces for a call of ours (RFC 3891 3)."""
        call_id = event["call_id"]
        replaced = event["replaces"]
        doorbell = self.doorbell
        identity = event["identity"]
        accepted = (
            doorbell.state == TALKING
            and doorbell.talking_call_id == replaced
            and parse_identity(identity) in self._may_replace
        )
        self._emit(
            now_ms,
            events.INCOMING_CALL,
            {"from": event["from_uri"], "accepted": accepted, "replaces": True},
        )
        if not accepted:
            self.agent.reject(call_id, 403, now_ms)
            return
        self._transfers[call_id] = [replaced, identity, True, False]
        self.agent.answer(call_id, self.rtp_port, now_ms)

    def _transfer_answered(self, call_id, media, now_ms):
        old, target, attended, _ = self._transfers.pop(call_id)
        doorbell = self.doorbell
        if doorbell.state != TALKING or doorbell.talking_call_id != old:
            self.agent.hangup(call_id, now_ms)  # the doorbell left that call meanwhile
            return
        doorbell.transferred(call_id)
        self.agent.hangup(old, now_ms, "transferred")  # RFC 3891 3, RFC 5589 6
        self._start_media(call_id, media, now_ms, True)
        self._answer_policy(call_id, target, now_ms, doorbell.button_id)
        self._emit(now_ms, events.TRANSFERRED, {"target": target, "attended": attended})

    def _transfer_failed(self, call_id, reason, now_ms):
        old, target, _, old_ended = self._transfers.pop(call_id)
        self._emit(now_ms, events.TRANSFER_FAILED, {"target": target, "reason": reason})
        if old_ended:
            self.doorbell.on_remote_ended(old, now_ms)

    def _transfer_pending(self, call_id, now_ms):
        """Whether call_id ended while its transfer rings (the transferor
        hung up first, RFC 5589 6): the doorbell waits for the new call."""
        for transfer in self._transfers.values():
            if transfer[0] == call_id:
                transfer[3] = True
                if self._media_call_id == call_id:
                    self._stop_media(now_ms)
                return True
        return False

    def _policy_event(self, event, now_ms):
        name = event["event"]
        if name == events.DOOR_OPENED:
            self.doorbell.door_opened(now_ms)
            if self.doorbell.state == CALLING:  # the exit button, a remote open
                self.doorbell.hangup_requested(now_ms, "door_opened")
        elif name == events.CODE_REJECTED:
            self.doorbell.code_rejected(now_ms)
        self._events.append(event)

    def _take_digits(self, media, now_ms):
        digit = media.next_dtmf()
        if digit is None:
            return
        while digit is not None:
            self._emit_digit(now_ms, digit[0], digit[1])
            self.policy.receive_digit(digit[0], digit[1], now_ms)
            digit = media.next_dtmf()
        self._settle(now_ms)

    def _answer_policy(self, call_id, caller, now_ms, button=None):
        self._policy_call_id = call_id
        self.policy.call_answered(caller, now_ms, button)

    def _end_what_the_doorbell_left(self, now_ms):
        """Media and the policy's call end with the doorbell's call (top)."""
        doorbell = self.doorbell
        talking = doorbell.talking_call_id if doorbell.state == TALKING else None
        media_call = self._media_call_id
        if media_call is not None and media_call != talking:
            if not (doorbell.state == CALLING and doorbell.owns(media_call)):
                self._stop_media(now_ms)
        if self._policy_call_id is not None and self._policy_call_id != talking:
            self._policy_call_id = None
            self.policy.call_ended(now_ms)
        for new_call_id in list(self._transfers):
            if self._transfers[new_call_id][0] != talking:
                del self._transfers[new_call_id]
                self.agent.hangup(new_call_id, now_ms)

    def _start_media(self, call_id, media, now_ms, answered):
        if self.media is not None:
            self._stop_media(now_ms)
        self.media = MediaSession(
            media,
            self._random_bytes,
            now_ms,
            self._cname,
            frame_ms=self._frame_ms,
            jitter_min_ms=self._jitter_bounds[0],
            jitter_max_ms=self._jitter_bounds[1],
            latch_host=self._signalling_host(call_id) if self._symmetric_rtp else None,
            srtp_factory=self._srtp_factory,
            silence=self._silence,
        )
        self._media_call_id = call_id
        self._receiving = False
        if answered:
            self._expect_rtp(media, now_ms)

    def _expect_rtp(self, media, now_ms):
        """Whether the media timeout runs: RTP is due both ways, not on
        hold (RFC 3264 8.4: a direction, or c=0.0.0.0); its silence counts
        from when it became due."""
        due = media["direction"] == "sendrecv" and media["remote_host"] not in _UNSPECIFIED_HOSTS
        if due and not self._receiving:
            self._call_media().expect_rtp(now_ms)
        self._receiving = due

    def _signalling_host(self, call_id):
        """The host the call's SIP peer talks from (where its INVITE came
        from, or where ours went): the only one symmetric RTP may latch to."""
        return self.agent.calls[call_id].invite_transaction.flow[1]

    def _call_media(self):
        """The MediaSession of _media_call_id: set together, so our misuse raises."""
        media = self.media
        if media is None:
            raise ValueError("no media session for call %s" % self._media_call_id)
        return media

    def _stop_media(self, now_ms):
        self.last_call_stats = self._call_media().stats(now_ms)
        self.media = None
        self._media_call_id = None
        self._receiving = False
        self._notice = None

    def _current_tone(self):
        name = self.doorbell.tone
        if name == "ringback" and self.media is not None:
            name = None  # early media replaces our ringback
        if name != self._tone_name:
            self._tone_name = name
            self._tone = _TONES[name]() if name is not None else None
        if self._tone is not None and self._tone.finished:
            return None
        return self._tone

    def _internal_error(self, where, error, now_ms):
        """A bug of ours met an input: count it, report it, end the call.

        The call the input belongs to is the doorbell's (the door has one
        at a time; its media and digits are the doorbell's call). When
        ending it fails as well, the parts are forced back to idle.
        """
        self.internal_errors = (self.internal_errors + 1) & STAT_MASK
        self.last_error = error
        self._needs_flush = True
        self._emit(now_ms, events.ERROR, {"reason": "%s: %r" % (where, error)})
        try:
            self._end_call(now_ms, events.CALL_FAILED, "internal_error")
        except MemoryError:
            raise
        except Exception as second:
            self.internal_errors = (self.internal_errors + 1) & STAT_MASK
            self.last_error = second
            self._emit(now_ms, events.ERROR, {"reason": "ending the call: %r" % (second,)})
            self._forget_call(now_ms)

    def _end_call(self, now_ms, reason, detail):
        """The doorbell hangs up (CANCEL or BYE); media and digits stop now;
        the voicemail stops too."""
        self.voicemail.stop(now_ms)
        self.doorbell.hangup_requested(now_ms, reason, detail)
        self._settle(now_ms)

    def _forget_call(self, now_ms):
        """Last resort after a second error: no media, no digits, every SIP
        call hung up (each on its own, so one broken call cannot keep the
        others up)."""
        self.media = None
        self._media_call_id = None
        self._receiving = False
        self._notice = None
        self._policy_call_id = None
        self.policy.call_ended(now_ms)
        for call_id in list(self.agent.calls):
            try:
                self.agent.hangup(call_id, now_ms)
            except MemoryError:
                raise
            except Exception as error:
                self.last_error = error

    def _emit(self, now_ms, name, fields):
        self._events.append(events.make_event(now_ms, name, fields))

    def _emit_digit(self, now_ms, digit, source):
        self._events.append(events.dtmf(now_ms, digit, source, self._show_digits))
