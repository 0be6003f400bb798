# Events: what the device reports, one JSON object per line on stdout with
# `--log json` (DESIGN.md, Contracts: Events).
#
#   {"ts_ms": <int>, "event": "<name>", ...fields}
#
# ts_ms is the now_ms the event happened at (the board's ticks clock).
# Names and their fields (fields beyond these may be added, never renamed):
#
#   started              board, name, sip_port, rtp_port (the ports bound)
#   registered           server, expires
#   registration_failed  server, reason, retry_in_ms (when the door tries again)
#   button               state ("pressed" | "released"), button (its [[button]] id;
#                        1 for [gpio] button); pressed also: repeat (0 for a
#                        press that may place a call; 1, 2, ... for presses
#                        while a call rings or talks, or in the cooldown
#                        after one: they place no call), quiet (quiet hours
#                        for this button: other targets or none ring, no chime)
#   call_started         target, button (the id of the button that placed it)
#   ringing              target
#   answered             target
#   call_ended           reason (CALL_END_REASONS below), duration_ms (0 when
#                        never answered), detail (per reason below, or None),
#                        sip_code (the final response of a refused call, or
#                        None), media (MEDIA SUMMARY below, or None when the
#                        call never had media)
#   incoming_call        from, accepted
#   dtmf                 digit (MASKED_DIGIT unless shown), source ("rfc4733" |
#                        "info" | "inband")
#   door_opened          caller, pulse_ms, source (the digits' DTMF source;
#                        "mqtt" | "http" for a remote open, caller "remote";
#                        "exit_button" for the exit button, caller "inside")
#   door_closed          -            (the relay's pulse ended)
#   door_contact         state ("open" | "closed"): the door contact moved
#   door_forced          -            the door opened while the relay was idle
#                        (force or a key; intercom.app.door_contact)
#   door_open_too_long   open_ms      the door stayed open door.open_too_long s
#   exit_button          -            the exit button inside was pressed (the
#                        relay pulses locally, no SIP)
#   tamper               state ("triggered" | "restored"), blocks_open (DTMF
#                        opens refused until tamper_reset: door.tamper_blocks_open)
#   tamper_reset         source ("mqtt" | "http")
#   quiet_hours          active, mode ("auto" | "on" | "off"), source
#                        ("schedule" | "mqtt" | "http")
#   code_rejected        reason (see intercom.app.door), attempts
#   lockout              duration_ms, attempts
#   error                reason
#   transfer_requested   target (the Refer-To URI), attended (it carried
#                        Replaces), accepted; refused also: reason
#                        ("target_not_allowed" | "not_talking" | "no_room")
#   transferred          target (the party the door now talks to), attended:
#                        the door's call moved to it (its REFER's new call
#                        answered, or an INVITE with Replaces took it over,
#                        RFC 3891); the door policy now judges that party
#   transfer_failed      target, reason (busy, declined, no_answer, ... as in
#                        call_ended): the door stays in the call it had
#   message_recorded     path, duration_ms: a visitor's message after nobody
#                        answered (intercom.app.voicemail), a WAV on the door
#
# call_ended reasons, a closed set (CALL_END_REASONS):
#   remote_hangup   the phone hung up (BYE)
#   local_hangup    the door hung up an answered call: detail "hangup" (the
#                   hangup command), "shutdown" (the door stopping),
#                   "wrong_codes" (door.hangup_after_wrong)
#   no_answer       nobody answered within call.ring_timeout (every target)
#   refused         every target refused: sip_code is the final response
#                   (one busy flat names the attempt before the others);
#                   detail "busy" (486, 600), "declined" (403, 603),
#                   "not_found" (404, 604), "unavailable" (480), "redirect"
#                   (3xx, never followed), "auth" (a challenge the door
#                   cannot answer), "rejected" (any other 4xx-6xx)
#   cancelled       ended before it was answered: the door's hangup command
#                   or its stop while ringing (detail "hangup" /
#                   "shutdown"), the caller's CANCEL of a call to the door
#                   (detail "remote")
#   rtp_timeout     the media timeout: no RTP for call.media_timeout s while
#                   both sides send (never on hold)
#   max_duration    call.max_duration reached
#   door_opened     the door opened (door.hangup_after_open after the code,
#                   or the door opening while the phones ring)
#   error           the call could not be placed or went wrong: detail
#                   "not_registered", "no_room" (the SIP call table is
#                   full), "bad_sdp" (the answer's SDP is unusable),
#                   "no_ack" (the caller never confirmed the door's answer),
#                   "internal_error" (a bug of ours; an `error` event says
#                   which)
#
# MEDIA SUMMARY (intercom.media.session.MediaSession.summary), one call's
# audio as the door saw it:
#   codec            "PCMU" | "PCMA"
#   ptime            ms of audio per packet the door sent
#   telephone_event  whether the phone offered RFC 4733 telephone-event
#   dtmf             the first DTMF method seen: "rfc4733" | "info" |
#                    "inband" | "none"
#   packets_sent     RTP packets the door sent
#   packets_received RTP packets the door took from the phone
#   sdp_address      "host:port" the phone's SDP named for its audio
#   rx_from          where the phone's audio came from: "sdp" (that
#                    address), "latched" (symmetric RTP: the phone's host,
#                    another port), "elsewhere" (only from another address,
#                    dropped), "none"
#   stray_address    "host:port" of the first RTP dropped as coming from an
#                    address the SDP did not name, or None; stray_packets
#                    how many were dropped so
#   phone_reports    RTCP reports received from the phone; phone_heard_us
#                    whether one of them counted the door's packets
#   audio            the verdict, one word:
#                    no_rx    the door took no audio from the phone (none
#                             came, or only from elsewhere)
#                    no_tx    the door sent no audio (on hold throughout)
#                    one_way  both sent, but the phone's RTCP reports say
#                             none of the door's packets reached it
#                    ok       audio both ways
#
# Only the fields the contract names are filled by the helpers below; the
# rest go in through make_event's fields dict.
#
# Two rules hold for every event, here and nowhere else, so that every sink
# (the event log on stdout or journald, MQTT, webhooks, the call log, the
# status page) gets the same safe text:
#   - text fields are cut to MAX_TEXT characters (the last three "..."):
#     From URIs, display names and reason phrases are peer text, and a
#     4 KiB From must not become a 4 KiB log line, MQTT message or page row;
#   - a dtmf event's digit is MASKED_DIGIT unless the caller of dtmf() is
#     told to show it (device.show_dtmf_digits, a debug option): the digits
#     may be the door code.

import json

STARTED = "started"
REGISTERED = "registered"
REGISTRATION_FAILED = "registration_failed"
BUTTON = "button"
CALL_STARTED = "call_started"
RINGING = "ringing"
ANSWERED = "answered"
CALL_ENDED = "call_ended"
INCOMING_CALL = "incoming_call"
DTMF = "dtmf"
DOOR_OPENED = "door_opened"
DOOR_CLOSED = "door_closed"
CODE_REJECTED = "code_rejected"
LOCKOUT = "lockout"
ERROR = "error"
DOOR_CONTACT = "door_contact"
DOOR_FORCED = "door_forced"
DOOR_OPEN_TOO_LONG = "door_open_too_long"
EXIT_BUTTON = "exit_button"
TAMPER = "tamper"
TAMPER_RESET = "tamper_reset"
QUIET_HOURS = "quiet_hours"
TRANSFER_REQUESTED = "transfer_requested"
TRANSFERRED = "transferred"
TRANSFER_FAILED = "transfer_failed"
MESSAGE_RECORDED = "message_recorded"

EVENT_NAMES = (
    STARTED,
    REGISTERED,
    REGISTRATION_FAILED,
    BUTTON,
    CALL_STARTED,
    RINGING,
    ANSWERED,
    CALL_ENDED,
    INCOMING_CALL,
    DTMF,
    DOOR_OPENED,
    DOOR_CLOSED,
    CODE_REJECTED,
    LOCKOUT,
    ERROR,
    DOOR_CONTACT,
    DOOR_FORCED,
    DOOR_OPEN_TOO_LONG,
    EXIT_BUTTON,
    TAMPER,
    TAMPER_RESET,
    QUIET_HOURS,
    TRANSFER_REQUESTED,
    TRANSFERRED,
    TRANSFER_FAILED,
    MESSAGE_RECORDED,
)

REMOTE_HANGUP = "remote_hangup"
LOCAL_HANGUP = "local_hangup"
NO_ANSWER = "no_answer"
REFUSED = "refused"
CANCELLED = "cancelled"
RTP_TIMEOUT = "rtp_timeout"
MAX_DURATION = "max_duration"
CALL_FAILED = "error"
CALL_END_REASONS = (
    REMOTE_HANGUP,
    LOCAL_HANGUP,
    NO_ANSWER,
    REFUSED,
    CANCELLED,
    RTP_TIMEOUT,
    MAX_DURATION,
    DOOR_OPENED,
    CALL_FAILED,
)
AUDIO_VERDICTS = ("ok", "no_rx", "no_tx", "one_way")

DTMF_SOURCES = ("rfc4733", "info", "inband")
MAX_TEXT = 200
MASKED_DIGIT = "*"


def make_event(now_ms, name, fields=None):
    """A new event dict {"ts_ms": now_ms, "event": name, **fields}.

    Raises ValueError for a name outside EVENT_NAMES or a field that would
    overwrite ts_ms/event (our own misuse).
    """
    if name not in EVENT_NAMES:
        raise ValueError("unknown event name %r" % (name,))
    event = {"ts_ms": now_ms, "event": name}
    if fields:
        for key in fields:
            if key in event:
                raise ValueError("field %r is reserved" % (key,))
            value = fields[key]
            if isinstance(value, str) and len(value) > MAX_TEXT:
                value = value[: MAX_TEXT - 3] + "..."
            event[key] = value
    return event


def call_started(now_ms, target):
    return make_event(now_ms, CALL_STARTED, {"target": target})


def call_ended(now_ms, reason, duration_ms, detail=None, sip_code=None, media=None):
    """A call_ended event; a reason outside CALL_END_REASONS is our misuse."""
    if reason not in CALL_END_REASONS:
        raise ValueError("unknown call_ended reason %r" % (reason,))
    fields = {
        "reason": reason,
        "duration_ms": duration_ms,
        "detail": detail,
        "sip_code": sip_code,
        "media": media,
    }
    return make_event(now_ms, CALL_ENDED, fields)


def message_recorded(now_ms, path, duration_ms):
    return make_event(now_ms, MESSAGE_RECORDED, {"path": path, "duration_ms": duration_ms})


def incoming_call(now_ms, caller, accepted):
    # "from" is a Python keyword, hence the parameter name `caller`.
    return make_event(now_ms, INCOMING_CALL, {"from": caller, "accepted": accepted})


def dtmf(now_ms, digit, source, show_digit=False):
    """A dtmf event; its digit is MASKED_DIGIT unless show_digit (debug)."""
    if source not in DTMF_SOURCES:
        raise ValueError("unknown DTMF source %r" % (source,))
    shown = digit if show_digit else MASKED_DIGIT
    return make_event(now_ms, DTMF, {"digit": shown, "source": source})


def code_rejected(now_ms, reason, attempts):
    return make_event(now_ms, CODE_REJECTED, {"reason": reason, "attempts": attempts})


def lockout(now_ms, duration_ms, attempts):
    return make_event(now_ms, LOCKOUT, {"duration_ms": duration_ms, "attempts": attempts})


def error(now_ms, reason):
    return make_event(now_ms, ERROR, {"reason": reason})


def _dumps(value):
    """JSON text with dict keys sorted (MicroPython dicts keep no order)."""
    if isinstance(value, dict):
        keys = sorted(value)
        return "{" + ", ".join(json.dumps(key) + ": " + _dumps(value[key]) for key in keys) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)


def format_line(event):
    """One JSON line (no trailing newline), the same bytes on every interpreter.

    Keys: "ts_ms", "event", then the other fields sorted by name. CPython's
    json escapes non-ASCII characters, MicroPython's writes them raw; here
    characters above U+007F always become \\uXXXX (a surrogate pair above
    U+FFFF), so the line is pure ASCII.
    """
    parts = ['"ts_ms": ' + _dumps(event["ts_ms"]), '"event": ' + _dumps(event["event"])]
    for key in sorted(event):
        if key not in ("ts_ms", "event"):
            parts.append(json.dumps(key) + ": " + _dumps(event[key]))
    text = "{" + ", ".join(parts) + "}"
    if len(text.encode()) == len(text):
        return text
    out = []
    for char in text:
        code = ord(char)
        if code < 0x80:
            out.append(char)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            code -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
    return "".join(out)
