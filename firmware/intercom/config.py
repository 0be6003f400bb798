# The configuration: schema, defaults and validation (DESIGN.md, Contracts:
# Config). Portable and sans-I/O: it takes the dict parsed from the TOML file
# (CPython) or config.json (MicroPython) and gives the effective config, a
# plain JSON-serialisable dict of dicts with every default filled in, or
# raises ConfigError listing every problem at once, each as
# "FILE: key: what is wrong" (key dotted: `call.targets[1]`).
# Reading files and password_file is boards/cli/config_file.py's job.
#
# Schema: SECTIONS (built by _sections() below), one row per key:
# (key, kind, default, limits).
#   kinds   str, secret (a str masked in output), bool, int (bool is not an
#           int), choice (one of limits), strings (list of str), ints (list
#           of int, each within limits)
#   default REQUIRED: must be given; DERIVED: filled from other keys below;
#           None: optional, stays None when absent
#   limits  int: (low, high) inclusive; str/secret: (min length, max length)
#
# Sections [mqtt], [http] and [wifi] are optional: None in the effective
# config when absent, filled with defaults when present. [[button]],
# [[schedule]] and [[webhook]] are lists (LIST_SECTIONS, rows in
# BUTTON_KEYS, SCHEDULE_KEYS, WEBHOOK_KEYS): [[schedule]] and [[webhook]]
# are [] when absent, [[button]] is never empty (below). A JSON null counts
# as absent (key or section), so an effective config validates to itself.
# Seconds stay seconds as written (ms where the key says _ms); consumers
# scale to ms. Ranges: see the limits in SECTIONS (ports 0-65535, expires
# 60-86400, ring_timeout 5-600, max_duration 10-3600, cooldown 0-600, pulse
# 1-60, hangup_after_open 0-600, max_attempts 1-20, lockout 10-86400,
# lockout_max 10-432000, hangup_after_wrong 1-20, open_too_long 0-86400,
# ptime 10-60 in steps of 10, rtp_port even, chime.pulse_ms 50-10000,
# button ids 1-8, at most 16 [[schedule]] entries, http.token at least 16
# characters). device.name and button labels (display names in our From)
# hold no control characters, '"' or '\'.
#
# Derived defaults and extras beyond DESIGN.md's example (documented here):
#   device.show_dtmf_digits  debug only: dtmf events carry the digit instead
#                     of "*" in every sink (event log, MQTT, webhooks, call
#                     log, status page); they may be the door code
#   sip.domain        the sip.server host (without port); None peer-to-peer
#   sip.register      true when sip.server is set, else false
#   sip.transport     "udp", "tcp" or "tls": what REGISTER and our calls go
#                     over (RFC 3261 18; a request too big for UDP goes over
#                     TCP anyway); the door listens on UDP and on TCP (on
#                     TLS instead with "tls") at sip.local_port; sip.server
#                     without a port: 5061 over TLS
#   sip.tls_ca        tls: a PEM file of the CAs the server's certificate
#                     must chain to (else the system's trust store); the
#                     certificate must name the server's host
#   sip.tls_fingerprint  tls: the server certificate's SHA-256 fingerprint
#                     (64 hex digits, colons allowed): exactly that
#                     certificate is trusted, and no CA (a PBX's self-signed
#                     one)
#   sip.tls_cert, sip.tls_key  tls: our certificate and key (PEM files):
#                     shown to a server that asks for a client certificate,
#                     and by our TLS listener (without them peers cannot
#                     open TLS connections to the door: a PBX then reaches
#                     it over the registration's own connection)
#   sip.keepalive     seconds between keep-alives to the server (RFC 5626
#                     4.4.1 CRLF ping); 0 = off; default 0 on udp, 120 on
#                     tcp and tls (where a missing pong finds a dead
#                     connection)
#   sip.session_expires  the session interval our calls ask for (RFC 4028
#                     session timers: the call is refreshed by UPDATE or
#                     re-INVITE, and ended with BYE when no refresh comes);
#                     0 = not asked for (a peer's still honoured); else at
#                     least 90
#   sip.realm         the digest realm credentials may be sent to; None: any
#                     realm, but only in answer to challenges from sip.server
#   sip.peer_media_same_host  peer-to-peer only: the SDP c= address of a
#                     call must be the peer's own host (where its INVITE came
#                     from, the host we called); false lets media come from
#                     elsewhere (a phone behind a media gateway)
#   sip.asserted_identity  server mode only: callers are the identity in the
#                     P-Asserted-Identity the server adds (RFC 3325), never
#                     From; a call without one has no identity (not answered,
#                     cannot open)
#   call.targets      at least one, at most MAX_TARGETS (8: each is a SIP
#                     call of its own, all of them at once in parallel mode);
#                     required unless every [[button]] names its own targets
#                     or bell: then every flat the buttons call. A bare
#                     number may hold '#' (a FRITZ!Box's **610#): it goes
#                     out as %23
#   call.cooldown     seconds after a call (or an incoming call) ends in
#                     which a press places no call (a `button` repeat); 0 = none
#   call.media_timeout  seconds without RTP from the phone before the door
#                     hangs up (call_ended rtp_timeout); it runs only while
#                     both sides send (never while on hold) and counts from
#                     the answer or the end of a hold; 0 = off (a phone that
#                     sends nothing in silence), else at least 5
#   call.notice_interval  seconds between the listen notice's beeps on the
#                     door's speaker while a resident listens in (a call the
#                     door auto-answered; the first beeps at once), so the
#                     door is never a hidden microphone. 0 (off) is refused
#                     while call.answer_from lets anyone call the door
#   door.code         None: DTMF never opens; 4-16 of 0-9 A-D (a-d are
#                     upper-cased); '*' and '#' end an entry, so they cannot
#                     be part of it (intercom.app.door, entry grammar)
#   call.transfer_to  whom the party in a call may transfer the door to (a
#                     REFER, RFC 3515: the door calls that party itself, so
#                     never an arbitrary URI: toll fraud) and who may take
#                     the call over by an INVITE with Replaces (RFC 3891);
#                     entries as in answer_from; defaults to call.targets;
#                     [] refuses every transfer
#   door.open_from    defaults to call.targets (the residents the door calls)
#   door.lockout_max  seconds: lockouts double from door.lockout up to this,
#                     and a wrong code counts toward a lockout this long
#                     (intercom.app.door); at least door.lockout, at most 5
#                     days (deadlines stay inside the ticks clock's range)
#   door.hangup_after_wrong  wrong codes in one call before the door hangs up
#   door.state_file   where the lockout state, the tamper alarm and the quiet
#                     hours mode survive restarts (JSON, written atomically,
#                     versioned: intercom.app.door "Restart"); relative to
#                     the config's folder
#   door.open_too_long  seconds the door contact may stay open before a
#                     door_open_too_long event; 0 = never
#   door.tamper_blocks_open  a tamper alarm refuses every DTMF entry until it
#                     is reset over the authenticated API or MQTT (remote
#                     opens and the exit button still open)
#   audio.jitter_min_ms, jitter_max_ms   jitter buffer depth bounds, ms
#   audio.symmetric_rtp  off by default. On: symmetric RTP (RFC 4961) for a
#                     peer behind NAT: while the SDP's address sends
#                     nothing, a stream (two packets in sequence, one SSRC)
#                     from the host the call's SIP comes from, on another
#                     port, becomes the call's RTP source, and our RTP and
#                     RTCP go to it (intercom/media/session.py)
#   audio.srtp        "off" (default), "optional" or "mandatory": SRTP with
#                     SDES keys in the SDP (intercom/sdp.py has the rules;
#                     mandatory refuses calls without it, 488). The keys
#                     travel in the SIP messages, so anything but off needs
#                     sip.transport = "tls"
#   audio.echo        echo control between the mic and the call
#                     (boards.audio.echo_control): "aec" (libspeexdsp's
#                     canceller; CPython boards; half_duplex with a warning
#                     where it is not installed), "half_duplex", "off";
#                     default per board: rpi aec, pico_w half_duplex, sim off
#   audio.echo_tail_ms   how long an echo lasts after it starts (housing,
#                     room): the canceller's filter length, half-duplex's
#                     hangover
#   audio.echo_delay_ms  where the echo starts, from the tick that played
#                     the sound; None: the board's own figure (rpi measures
#                     its ALSA queue)
#   audio.echo_suppress_db  aec: the most the residual echo suppressor takes
#                     off (0 = off); half_duplex: the mic's attenuation while
#                     the far end's echo can be heard
#   audio.noise_suppress_db  aec only: the most libspeexdsp's noise
#                     suppressor takes off (0 = off)
#   voicemail.prompt  what the visitor hears when nobody answered (the ring
#                     timeout, or every phone refused): "default" (the
#                     prompt shipped with the firmware, generated at build
#                     time: host_tools/prompts), "tone" (the special
#                     information tone), or a WAV file of the owner's
#                     (8000 Hz mono 16-bit PCM; relative to the config's
#                     folder; on pico_w a file on its flash, put there by
#                     make flash). A missing file plays the tone.
#   voicemail.record  then "leave a message after the tone": a beep, and
#                     the visitor's audio to a WAV in voicemail.folder for
#                     up to voicemail.max_seconds (a press of the button or
#                     a call ends it sooner), announced by message_recorded;
#                     voicemail.keep messages stay, the oldest are removed.
#                     Not on pico_w (no room on its flash, writes stall its
#                     audio, and nothing there could list them)
#   voicemail.folder  relative to the config's folder
#   sim.*             board sim only: the simulated room (boards.audio.
#                     echo_path): echo_path = true feeds the speaker back into
#                     the mic after room_delay_ms through a generated room
#                     response of room_gain_db energy and room_decay_ms RT60,
#                     with room noise at room_noise_db dBFS (room_seed)
#   gpio.button, relay, led   per board from intercom.pins.DEFAULT_PINS (sim:
#                     rpi's); gpio.button is [[button]] id 1's pin
#   gpio.door_contact, exit_button, tamper   optional inputs (None: not
#                     fitted; the sim board always has them): switches to GND
#                     with the internal pull-up; <name>_active_low is their
#                     polarity (door_contact: false, a reed closed while the
#                     door is shut reads high when it opens; exit_button:
#                     true, a normally open button; tamper: false, a switch
#                     closed while the lid is on)
#   gpio.chime, calling, talking, door_open   optional outputs, active high:
#                     the chime's pulse on a press, and lights while calling,
#                     talking and while the relay is open
#   chime.tone        a two-note chime on the door's speaker on a press;
#                     chime.pulse_ms how long the chime output pulses;
#                     chime.on_repeat: both again for a press during a call
#                     (never in quiet hours)
#   call.alert_info   an Alert-Info header value for our INVITEs (RFC 3261
#                     20.4, a URI in <> like <http://127.0.0.1/Bellcore-dr2>:
#                     phones or a PBX ring with another tone); None: none
#   time.zone         a POSIX TZ string (intercom.tz, like
#                     "CET-1CEST,M3.5.0,M10.5.0/3"): the local time of
#                     [[schedule]]; None: the system's zone (CPython, the
#                     unix port); required on pico_w with [[schedule]]
#   time.ntp_server   host[:port] the pico_w asks the time (SNTP over its SIP
#                     socket) when [[schedule]] is set
#   button.*          [[button]]: id 1-8 (unique), pin (id 1: gpio.button;
#                     ids 2 and 3: the pin maps' button2/button3; others
#                     required), label (the INVITE's display name, the page's
#                     and Home Assistant's name; device.name), targets
#                     (call.targets) or bell (a FRITZ!Box bell number like 11,
#                     12 or **9, dialled at sip.server), mode (call.mode),
#                     alert_info (call.alert_info), code and
#                     open_from (door.code and door.open_from: give each
#                     button its own so one flat cannot open with another's
#                     code). Without [[button]], button 1 is gpio.button
#                     calling call.targets.
#   schedule.*        [[schedule]] quiet hours: days (mon..sun; every day),
#                     start and end "HH:MM" (00:00-24:00, past midnight when
#                     end is not after start), targets who ring instead ([]:
#                     nobody), buttons the entry applies to (every button)
#   mqtt.prefix       "intercom/" + device name in lower case, runs of other
#                     characters than a-z 0-9 as "-"
#   mqtt.port         1883, or 8883 with mqtt.tls
#   mqtt.tls          TLS to the broker (CPython boards): its certificate
#                     checked against mqtt.tls_ca (a PEM file; else the
#                     system's trust store) and mqtt.host; mqtt.tls_cert and
#                     mqtt.tls_key: our client certificate (PEM files)
#   http.tls_cert, http.tls_key   the status page and API over HTTPS
#   webhook.events    every event name when absent; webhook.timeout seconds;
#                     webhook.tls_ca: a PEM file to check an https:// url's
#                     certificate with (else the system's trust store)
#
# Cross-key rules: both sip.password and sip.password_file; register without
# a server; asserted_identity without a server; peer-to-peer answer_from
# URIs whose host is a name, not an IP address; more than MAX_TARGETS
# targets; a bare user (no sip: URI) in targets/answer_from/open_from
# without a domain to put it in; any two pins (buttons, relay, led, the
# optional inputs and outputs) the same, or an I2S pin of the board; pins
# outside the board's range; a [[button]] id 1 pin other than gpio.button;
# a bell with targets or without sip.server; a [[schedule]] naming a button
# id no [[button]] has; start equal to end; [[schedule]] on pico_w without
# time.zone; wifi missing on pico_w;
# mqtt.allow_open without mqtt.user and mqtt.password; http.allow_open
# without http.token; jitter_min_ms above jitter_max_ms; tls_cert without
# tls_key (or the reverse); mqtt.tls_* without mqtt.tls; webhook.tls_ca for
# an http:// url; on pico_w: mqtt.tls, a host name in mqtt.host, [http],
# [[webhook]], audio.echo = "aec", voicemail.record; door.lockout_max
# below door.lockout; call.media_timeout 1-4; call.notice_interval 0 with
# call.answer_from set; voicemail.prompt neither "default", "tone" nor a
# .wav file;
# audio.noise_suppress_db without audio.echo = "aec"; [sim] on another
# board than sim.

from intercom import events
from intercom.app.identity import is_user, sip_uri
from intercom.app.quiet_hours import DAYS, minute_of_day
from intercom.errors import ConfigError
from intercom.pins import DEFAULT_PINS, I2S_PINS, INPUTS, OUTPUTS
from intercom.sdes import MODES as SRTP_MODES
from intercom.sip.flow import TLS, TRANSPORTS, UDP
from intercom.sip.grammar import SipParseError, is_ipv4, is_ipv6, parse_hostport
from intercom.sip.session_timer import MIN_SE_S

REQUIRED = "required"
DERIVED = "derived"

BOARDS = ("sim", "rpi", "pico_w")
CALL_MODES = ("sequential", "parallel")
ECHO_MODES = ("aec", "half_duplex", "off")
ECHO_DEFAULTS = {"sim": "off", "rpi": "aec", "pico_w": "half_duplex"}
CODECS = ("PCMU", "PCMA")
SECRET_KEYS = (
    ("sip", "password"),
    ("door", "code"),
    ("wifi", "password"),
    ("mqtt", "password"),
    ("http", "token"),
    ("button", "code"),
)
SECRET_TEXT = "****"
CODE_CHARS = "0123456789ABCD"
CODE_LENGTH = (4, 16)
MAX_TARGETS = 8
MAX_BUTTONS = 8
MAX_SCHEDULES = 16
TLS_KEYS = ("tls_ca", "tls_fingerprint", "tls_cert", "tls_key")
TCP_KEEPALIVE_S = 120  # RFC 5626 4.4.1: 95-120 s on connection-oriented transports
HTTP_TOKEN_MIN = 16
# GPIO numbers a board can drive: BCM 0-27 on rpi (and sim), GP0-22 and
# GP26-28 on pico_w (GP23-25 and GP29 belong to the wireless chip).
VALID_PINS = {
    "sim": tuple(range(0, 28)),
    "rpi": tuple(range(0, 28)),
    "pico_w": tuple(range(0, 23)) + (26, 27, 28),
}

OPTIONAL_SECTIONS = ("wifi", "mqtt", "http", "sim")
LIST_SECTIONS = ("button", "schedule", "webhook")
PROMPT_CHOICES = ("default", "tone")
MEDIA_TIMEOUT_MIN = 5
TOP_LEVEL = (
    "device",
    "sip",
    "call",
    "door",
    "audio",
    "voicemail",
    "gpio",
    "chime",
    "time",
    "wifi",
    "mqtt",
    "http",
    "sim",
    "button",
    "schedule",
    "webhook",
)


def _sections():
    """SECTIONS: {section: rows}, built on each call (see __getattr__)."""
    return {
        "device": (
            ("name", "str", "Door", (1, 64)),
            ("board", "choice", "sim", BOARDS),
            ("show_dtmf_digits", "bool", False, None),
        ),
        "sip": (
            ("server", "str", None, (1, 255)),
            ("domain", "str", DERIVED, (1, 255)),
            ("user", "str", "door", (1, 64)),
            ("password", "secret", None, (1, 255)),
            ("password_file", "str", None, (1, 4096)),
            ("register", "bool", DERIVED, None),
            ("expires", "int", 300, (60, 86400)),
            ("local_port", "int", 5060, (0, 65535)),
            ("trusted", "strings", [], None),
            ("transport", "choice", "udp", TRANSPORTS),
            ("realm", "str", None, (1, 255)),
            ("keepalive", "int", DERIVED, (0, 3600)),
            ("peer_media_same_host", "bool", True, None),
            ("asserted_identity", "bool", False, None),
            ("tls_ca", "str", None, (1, 4096)),
            ("tls_fingerprint", "str", None, (1, 128)),
            ("tls_cert", "str", None, (1, 4096)),
            ("tls_key", "str", None, (1, 4096)),
            ("session_expires", "int", 1800, (0, 86400)),
        ),
        "call": (
            ("targets", "strings", DERIVED, None),
            ("mode", "choice", "sequential", CALL_MODES),
            ("ring_timeout", "int", 30, (5, 600)),
            ("max_duration", "int", 120, (10, 3600)),
            ("answer_from", "strings", [], None),
            ("cooldown", "int", 0, (0, 600)),
            ("alert_info", "str", None, (1, 255)),
            ("transfer_to", "strings", DERIVED, None),
            ("media_timeout", "int", 30, (0, 3600)),
            ("notice_interval", "int", 15, (0, 60)),
        ),
        "door": (
            ("code", "secret", None, (0, 64)),
            ("pulse", "int", 3, (1, 60)),
            ("hangup_after_open", "int", 5, (0, 600)),
            ("max_attempts", "int", 3, (1, 20)),
            ("lockout", "int", 300, (10, 86400)),
            ("lockout_max", "int", 86400, (10, 432000)),
            ("hangup_after_wrong", "int", 3, (1, 20)),
            ("open_from", "strings", DERIVED, None),
            ("state_file", "str", "door_state.json", (1, 4096)),
            ("open_too_long", "int", 120, (0, 86400)),
            ("tamper_blocks_open", "bool", False, None),
        ),
        "audio": (
            ("codecs", "strings", ["PCMU", "PCMA"], None),
            ("ptime", "int", 20, (10, 60)),
            ("rtp_port", "int", 0, (0, 65534)),
            ("input", "str", "default", (1, 4096)),
            ("output", "str", "default", (1, 4096)),
            ("jitter_min_ms", "int", 40, (0, 1000)),
            ("jitter_max_ms", "int", 200, (20, 2000)),
            ("symmetric_rtp", "bool", False, None),
            ("srtp", "choice", "off", SRTP_MODES),
            ("echo", "choice", DERIVED, ECHO_MODES),
            ("echo_tail_ms", "int", 160, (20, 500)),
            ("echo_delay_ms", "int", None, (0, 500)),
            ("echo_suppress_db", "int", 40, (0, 60)),
            ("noise_suppress_db", "int", 0, (0, 40)),
        ),
        "voicemail": (
            ("prompt", "str", "default", (1, 4096)),
            ("record", "bool", False, None),
            ("max_seconds", "int", 30, (5, 300)),
            ("keep", "int", 20, (1, 1000)),
            ("folder", "str", "messages", (1, 4096)),
        ),
        "gpio": (
            ("button", "int", DERIVED, (0, 40)),
            ("relay", "int", DERIVED, (0, 40)),
            ("led", "int", DERIVED, (0, 40)),
            ("button_active_low", "bool", True, None),
            ("debounce_ms", "int", 30, (0, 1000)),
            ("door_contact", "int", None, (0, 40)),
            ("door_contact_active_low", "bool", False, None),
            ("exit_button", "int", None, (0, 40)),
            ("exit_button_active_low", "bool", True, None),
            ("tamper", "int", None, (0, 40)),
            ("tamper_active_low", "bool", False, None),
            ("chime", "int", None, (0, 40)),
            ("calling", "int", None, (0, 40)),
            ("talking", "int", None, (0, 40)),
            ("door_open", "int", None, (0, 40)),
        ),
        "chime": (
            ("tone", "bool", False, None),
            ("pulse_ms", "int", 1000, (50, 10000)),
            ("on_repeat", "bool", False, None),
        ),
        "time": (
            ("zone", "str", None, (1, 64)),
            ("ntp_server", "str", "pool.ntp.org", (1, 255)),
        ),
        "wifi": (
            ("ssid", "str", REQUIRED, (1, 32)),
            ("password", "secret", None, (8, 63)),
        ),
        "mqtt": (
            ("host", "str", REQUIRED, (1, 255)),
            ("port", "int", DERIVED, (1, 65535)),
            ("user", "str", None, (1, 255)),
            ("password", "secret", None, (1, 255)),
            ("prefix", "str", DERIVED, (1, 200)),
            ("allow_open", "bool", False, None),
            ("tls", "bool", False, None),
            ("tls_ca", "str", None, (1, 4096)),
            ("tls_cert", "str", None, (1, 4096)),
            ("tls_key", "str", None, (1, 4096)),
        ),
        "http": (
            ("listen", "str", "127.0.0.1:8080", (1, 300)),
            ("token", "secret", None, (HTTP_TOKEN_MIN, 255)),
            ("allow_open", "bool", False, None),
            ("tls_cert", "str", None, (1, 4096)),
            ("tls_key", "str", None, (1, 4096)),
        ),
        "sim": (
            ("echo_path", "bool", False, None),
            ("room_delay_ms", "int", 20, (0, 200)),
            ("room_gain_db", "int", -3, (-40, 12)),
            ("room_decay_ms", "int", 150, (10, 1000)),
            ("room_noise_db", "int", -60, (-96, -20)),
            ("room_seed", "int", 1, (0, 1000000)),
        ),
    }


BUTTON_KEYS = (
    ("id", "int", REQUIRED, (1, MAX_BUTTONS)),
    ("pin", "int", DERIVED, (0, 40)),
    ("label", "str", DERIVED, (1, 64)),
    ("targets", "strings", DERIVED, None),
    ("mode", "choice", DERIVED, CALL_MODES),
    ("bell", "str", None, (1, 8)),
    ("alert_info", "str", DERIVED, (1, 255)),
    ("code", "secret", DERIVED, (0, 64)),
    ("open_from", "strings", DERIVED, None),
)

SCHEDULE_KEYS = (
    ("days", "strings", DERIVED, None),
    ("start", "str", REQUIRED, (4, 5)),
    ("end", "str", REQUIRED, (4, 5)),
    ("targets", "strings", [], None),
    ("buttons", "ints", DERIVED, (1, MAX_BUTTONS)),
)

WEBHOOK_KEYS = (
    ("url", "str", REQUIRED, (1, 2048)),
    ("events", "strings", DERIVED, None),
    ("timeout", "int", 5, (1, 60)),
    ("tls_ca", "str", None, (1, 4096)),
)


def __getattr__(name):
    # SECTIONS (PEP 562; MicroPython has module __getattr__ too): the schema
    # is built when asked for and is garbage after the check, so a Pico does
    # not keep ~3 KiB of tuples in RAM after boot.
    if name == "SECTIONS":
        return _sections()
    raise AttributeError("module 'intercom.config' has no attribute '%s'" % name)


class _Problems:
    """Collects "FILE: key: message" lines."""

    def __init__(self, filename):
        self.filename = filename
        self.lines = []

    def add(self, key, message):
        self.lines.append("%s: %s: %s" % (self.filename, key, message))


def edit_distance(left, right):
    """Levenshtein distance (insert, delete, substitute each cost 1)."""
    previous = list(range(len(right) + 1))
    for row, left_char in enumerate(left, 1):
        current = [row]
        for column, right_char in enumerate(right, 1):
            cost = 0 if left_char == right_char else 1
            current.append(
                min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + cost)
            )
        previous = current
    return previous[-1]


def _unknown(problems, key, name, known, what):
    best = None
    best_distance = 3
    for candidate in known:
        distance = edit_distance(name.lower(), candidate)
        if distance < best_distance:
            best = candidate
            best_distance = distance
    if best is None:
        problems.add(key, "unknown %s (known: %s)" % (what, ", ".join(known)))
    else:
        problems.add(key, "unknown %s; did you mean '%s'?" % (what, best))


def _type_name(value):
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a %s" % type(value).__name__


def _check_value(problems, key, kind, value, limits):
    """The value when it has the right kind and range, else None (reported)."""
    if kind in ("ints", "strings"):
        return _check_list(problems, key, kind, value, limits)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        problems.add(key, "must be true or false, not %s" % _type_name(value))
        return None
    if kind == "int":
        return value if _int_in_range(problems, key, value, limits) else None
    if not isinstance(value, str):
        problems.add(key, "must be a string, not %s" % _type_name(value))
        return None
    if kind == "choice":
        if value not in limits:
            problems.add(key, "'%s' is not one of: %s" % (value, ", ".join(limits)))
            return None
        return value
    if len(value) < limits[0] or len(value) > limits[1]:
        problems.add(key, "must be %d to %d characters long" % (limits[0], limits[1]))
        return None
    return value


def _int_in_range(problems, key, value, limits):
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(key, "must be a whole number, not %s" % _type_name(value))
        return False
    if value < limits[0] or value > limits[1]:
        problems.add(key, "%d is out of range %d-%d" % (value, limits[0], limits[1]))
        return False
    return True


def _check_list(problems, key, kind, value, limits):
    """ints: whole numbers within limits; strings: strings. A copy of the
    list when every item is good, else None (each bad item reported)."""
    if not isinstance(value, list):
        what = "whole numbers" if kind == "ints" else "strings"
        problems.add(key, "must be a list of %s, not %s" % (what, _type_name(value)))
        return None
    good = True
    for index, item in enumerate(value):
        where = "%s[%d]" % (key, index)
        if kind == "ints":
            good = _int_in_range(problems, where, item, limits) and good
        elif not isinstance(item, str):
            problems.add(where, "must be a string, not %s" % _type_name(item))
            good = False
    return list(value) if good else None


def _check_table(problems, prefix, table, rows):
    """A dict with every key of rows: checked values, defaults, None for bad."""
    if not isinstance(table, dict):
        problems.add(prefix, "must be a table, not %s" % _type_name(table))
        table = {}
    known = [row[0] for row in rows]
    for name in table:
        if name not in known:
            _unknown(problems, "%s.%s" % (prefix, name), name, known, "key")
    result = {}
    for key, kind, default, limits in rows:
        dotted = "%s.%s" % (prefix, key)
        if table.get(key) is not None:
            result[key] = _check_value(problems, dotted, kind, table[key], limits)
        elif default is REQUIRED:
            problems.add(dotted, "is required")
            result[key] = None
        elif default is DERIVED:
            result[key] = None
        elif isinstance(default, list):
            result[key] = list(default)
        else:
            result[key] = default
    return result


def _host_port(text):
    """(host lower-cased, port or None) of "host[:port]" (the SIP grammar's
    host and port, intercom.sip.grammar.parse_hostport), or None when it is
    not one or names port 0."""
    try:
        host, port = parse_hostport(text)
    except SipParseError:
        return None
    if port == 0:
        return None
    return host.lower(), port


def _check_sip(problems, sip):
    server = sip["server"]
    hostport = None
    if server is not None:
        hostport = _host_port(server)
        if hostport is None:
            problems.add("sip.server", "'%s' is not a host or host:port" % server)
    if sip["domain"] is None:
        sip["domain"] = hostport[0] if hostport else None
    else:
        domain = _host_port(sip["domain"])
        if domain is None or domain[1] is not None:
            problems.add("sip.domain", "'%s' is not a host name (no port)" % sip["domain"])
    if sip["keepalive"] is None:
        sip["keepalive"] = 0 if sip["transport"] == UDP else TCP_KEEPALIVE_S
    expires = sip["session_expires"]  # None when its type was wrong
    if expires is not None and 0 < expires < MIN_SE_S:
        problems.add(
            "sip.session_expires",
            "0 (off) or at least %d seconds (RFC 4028 Min-SE)" % MIN_SE_S,
        )
    if sip["register"] is None:
        sip["register"] = sip["server"] is not None
    elif sip["register"] and sip["server"] is None:
        problems.add("sip.register", "true needs sip.server (the registrar)")
    if sip["password"] is not None and sip["password_file"] is not None:
        problems.add("sip.password_file", "give sip.password or sip.password_file, not both")
    if sip["asserted_identity"] and server is None:
        problems.add("sip.asserted_identity", "true needs sip.server (who asserts the identity)")
    if sip["user"] is not None and not is_user(sip["user"]):
        problems.add("sip.user", "'%s' is not a SIP user name" % sip["user"])
    for index, host in enumerate(sip["trusted"] or ()):
        hostport = _host_port(host)
        if hostport is None or hostport[1] is not None:
            problems.add("sip.trusted[%d]" % index, "'%s' is not a host (no port)" % host)
    _check_sip_tls(problems, sip)


def _check_sip_tls(problems, sip):
    given = [key for key in TLS_KEYS if sip[key] is not None]
    if given and sip["transport"] != TLS:
        problems.add("sip." + given[0], 'needs sip.transport = "tls"')
    _check_tls_pair(problems, "sip", sip)
    pin = sip["tls_fingerprint"]
    if pin is not None:
        digits = pin.replace(":", "").lower()
        if len(digits) != 64 or any(digit not in "0123456789abcdef" for digit in digits):
            problems.add(
                "sip.tls_fingerprint",
                "'%s' is not a SHA-256 fingerprint (64 hex digits, colons allowed)" % pin,
            )
        else:
            sip["tls_fingerprint"] = digits


def _check_party(problems, key, entry, has_domain, target):
    """One target or allow-list entry: a SIP user or a sip:/sips: URI. A
    target (call, [[button]] or [[schedule]] targets) may carry URI
    parameters, and a bare number may hold '#' (the end-of-dialling key of
    a FRITZ!Box, **610#), which goes out as %23 (RFC 3261 25.1)."""
    lowered = entry.lower()
    if lowered.startswith("sip:") or lowered.startswith("sips:"):
        parsed = sip_uri(entry)
        if parsed is None:
            problems.add(key, "'%s' is not a valid SIP URI (sip:user@host[:port])" % entry)
        elif (parsed.params or parsed.headers) and not target:
            problems.add(key, "'%s': no URI parameters here, only sip:user@host" % entry)
        return
    if not is_user(entry.replace("#", "%23") if target else entry):
        problems.add(
            key, "'%s' is neither a SIP URI (sip:user@host) nor a user name (like flat1)" % entry
        )
    elif not has_domain:
        problems.add(
            key,
            "'%s' is a bare user name: without sip.server or sip.domain give a full "
            "URI like sip:%s@192.0.2.20" % (entry, entry),
        )


def _check_call_and_door(problems, config, raw_buttons):
    has_domain = config["sip"]["domain"] is not None
    call = config["call"]
    door = config["door"]
    if call["alert_info"] is not None:
        _check_alert_info(problems, "call.alert_info", call["alert_info"])
    if call["targets"] is None:
        _derive_targets(problems, call, raw_buttons)
    elif not call["targets"]:
        problems.add("call.targets", "needs at least one target")
    if call["targets"] is not None and len(call["targets"]) > MAX_TARGETS:
        problems.add(
            "call.targets",
            "%d targets; at most %d (a building with more flats runs a SIP proxy that "
            "forks the call: see deploy/kamailio)" % (len(call["targets"]), MAX_TARGETS),
        )
    if config["sip"]["server"] is None:
        for index, entry in enumerate(call["answer_from"] or ()):
            parsed = sip_uri(entry)
            if parsed is not None and not (is_ipv4(parsed.host) or is_ipv6(parsed.host)):
                problems.add(
                    "call.answer_from[%d]" % index,
                    "'%s': without sip.server the caller's host must be an IP address "
                    "(the door compares it with where the call comes from)" % entry,
                )
    for key, entries, target in (
        ("call.targets", call["targets"], True),
        ("call.answer_from", call["answer_from"], False),
        ("call.transfer_to", call["transfer_to"], False),
        ("door.open_from", door["open_from"], False),
    ):
        for index, entry in enumerate(entries or ()):
            _check_party(problems, "%s[%d]" % (key, index), entry, has_domain, target)
    if door["open_from"] is None:
        door["open_from"] = list(call["targets"] or [])
    if call["transfer_to"] is None:
        call["transfer_to"] = list(call["targets"] or [])
    timeout = call["media_timeout"]
    if timeout is not None and 0 < timeout < MEDIA_TIMEOUT_MIN:
        problems.add(
            "call.media_timeout",
            "%d s is too short: at least %d s, or 0 (off)" % (timeout, MEDIA_TIMEOUT_MIN),
        )
    if call["notice_interval"] == 0 and call["answer_from"]:
        problems.add(
            "call.notice_interval",
            "0 turns the listen notice off, which call.answer_from forbids: a resident "
            "calling the door must never listen in unheard (give 1-60 s)",
        )
    lockout, longest = door["lockout"], door["lockout_max"]
    if lockout is not None and longest is not None and longest < lockout:
        problems.add("door.lockout_max", "%d is below door.lockout (%d)" % (longest, lockout))
    door["code"] = _check_code(problems, "door.code", door["code"])


def _derive_targets(problems, call, raw_buttons):
    """call.targets left out: every flat the buttons call, when each button
    names its own (targets or bell)."""
    if not raw_buttons or not isinstance(raw_buttons, list):
        problems.add("call.targets", "is required")
        return
    union = []
    for table in raw_buttons:
        if not isinstance(table, dict):
            return  # reported by _check_buttons
        own = table.get("targets")
        if table.get("bell") is not None:
            own = [table["bell"]]
        if own is None:
            problems.add("call.targets", "is required: a [[button]] without targets or bell")
            return
        if not isinstance(own, list):
            return  # reported by _check_buttons
        for target in own:
            if isinstance(target, str) and target not in union:
                union.append(target)
    call["targets"] = union


def _check_code(problems, key, code):
    """The code upper-cased, its problems reported."""
    if code is None:
        return None
    code = code.upper()
    for char in code:
        if char in "*#":
            problems.add(key, "'*' and '#' end a code entry, they cannot be in the code")
            break
        if char not in CODE_CHARS:
            problems.add(key, "only the DTMF keys 0-9 and A-D can be in the code")
            break
    if len(code) < CODE_LENGTH[0] or len(code) > CODE_LENGTH[1]:
        problems.add(key, "must be %d to %d keys long" % (CODE_LENGTH[0], CODE_LENGTH[1]))
    return code


def _is_bell(text):
    """A FRITZ!Box bell number: 1-4 digits, or ** and 1-4 digits (**9 rings
    every phone)."""
    digits = text[2:] if text.startswith("**") else text
    if not 1 <= len(digits) <= 4:
        return False
    for char in digits:
        if char not in "0123456789":
            return False
    return True


def _header_value_ok(text, ascii_only):
    """Text that may stand in a SIP header line: no control characters (no
    CR/LF), and ASCII only where ascii_only (a URI; a display name's
    quoted-string may hold UTF-8, RFC 3261 25.1 qdtext)."""
    for char in text:
        if char < " " or char == "\x7f" or ascii_only and char > "~":
            return False
    return True


def _check_button_targets(problems, prefix, button, config):
    """A button's targets: its FRITZ!Box bell, its own list (True: the
    caller checks its entries), or call.targets."""
    bell = button["bell"]
    if bell is not None:
        if not _is_bell(bell):
            problems.add(
                prefix + ".bell",
                "'%s' is not a FRITZ!Box bell number (like 11, 12 or **9)" % bell,
            )
        if button["targets"] not in (None, [bell]):
            problems.add(prefix + ".bell", "give targets or bell, not both")
        if config["sip"]["server"] is None:
            problems.add(prefix + ".bell", "needs sip.server (the FRITZ!Box)")
        button["targets"] = [bell]
    elif button["targets"] is None:
        button["targets"] = list(config["call"]["targets"] or [])
    elif not button["targets"]:
        problems.add(prefix + ".targets", "needs at least one target")
    elif len(button["targets"]) > MAX_TARGETS:
        problems.add(prefix + ".targets", "at most %d targets" % MAX_TARGETS)
    else:
        return True
    return False


def _check_display_name(problems, key, name):
    """A name our From carries as its display name, written between quotes
    as it is: no control characters (no CR/LF), no '"' or '\\' (RFC 3261
    25.1 qdtext)."""
    if not _header_value_ok(name, False) or '"' in name or "\\" in name:
        problems.add(key, "no control characters, '\"' or '\\' (it is the caller's display name)")


def _check_button_headers(problems, prefix, button):
    """What a button puts into our INVITE: its own label (the From's display
    name) and its Alert-Info."""
    if button["label"] is not None:
        _check_display_name(problems, prefix + ".label", button["label"])
    if button["alert_info"] is not None:
        _check_alert_info(problems, prefix + ".alert_info", button["alert_info"])


def _check_alert_info(problems, key, alert_info):
    """An Alert-Info value: a URI in <> on one line (RFC 3261 20.4)."""
    if (
        not alert_info.startswith("<")
        or ">" not in alert_info
        or not _header_value_ok(alert_info, True)
    ):
        problems.add(
            key,
            "'%s' is not an Alert-Info value like <http://127.0.0.1/Bellcore-dr2> "
            "(RFC 3261 20.4)" % alert_info,
        )


def _check_buttons(problems, config, raw):
    """[[button]]: every entry filled from [call], [door] and the device;
    without [[button]], button 1 is [gpio] button calling call.targets."""
    if raw is None:
        raw = [{"id": 1}]
    elif not isinstance(raw, list) or not raw:
        problems.add("button", "must be a non-empty array of tables ([[button]])")
        return []
    if len(raw) > MAX_BUTTONS:
        problems.add("button", "%d buttons; at most %d" % (len(raw), MAX_BUTTONS))
    has_domain = config["sip"]["domain"] is not None
    call, door, device = config["call"], config["door"], config["device"]
    seen = []
    buttons = []
    for index, table in enumerate(raw):
        prefix = "button[%d]" % index
        button = _check_table(problems, prefix, table, BUTTON_KEYS)
        number = button["id"]
        if number is not None:
            if number in seen:
                problems.add(prefix + ".id", "%d is already another button's id" % number)
            seen.append(number)
        own = []  # the lists this entry gives itself (the others were checked as [call]/[door])
        if _check_button_targets(problems, prefix, button, config):
            own.append(("targets", True))
        if button["mode"] is None:
            button["mode"] = call["mode"]
        _check_button_headers(problems, prefix, button)
        if button["alert_info"] is None:
            button["alert_info"] = call["alert_info"]
        if button["label"] is None:
            button["label"] = device["name"]
        if button["code"] is None:
            button["code"] = door["code"]
        else:
            button["code"] = _check_code(problems, prefix + ".code", button["code"])
        if button["open_from"] is None:
            button["open_from"] = list(door["open_from"] or [])
        else:
            own.append(("open_from", False))
        for key, target in own:
            for item, entry in enumerate(button[key]):
                where = "%s.%s[%d]" % (prefix, key, item)
                _check_party(problems, where, entry, has_domain, target)
        buttons.append(button)
    return buttons


def _check_schedules(problems, config, raw):
    """[[schedule]] quiet hours: days, HH:MM start and end, what rings."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("schedule", "must be an array of tables ([[schedule]])")
        return []
    if len(raw) > MAX_SCHEDULES:
        problems.add("schedule", "%d entries; at most %d" % (len(raw), MAX_SCHEDULES))
    has_domain = config["sip"]["domain"] is not None
    ids = [button["id"] for button in config["button"]]
    entries = []
    for index, table in enumerate(raw):
        prefix = "schedule[%d]" % index
        entries.append(_check_schedule(problems, prefix, table, ids, has_domain))
    return entries


def _check_schedule(problems, prefix, table, ids, has_domain):
    """One [[schedule]] entry, filled."""
    entry = _check_table(problems, prefix, table, SCHEDULE_KEYS)
    if entry["days"] is None:
        entry["days"] = list(DAYS)
    for item, day in enumerate(entry["days"]):
        if day not in DAYS:
            problems.add(
                "%s.days[%d]" % (prefix, item),
                "'%s' is not one of: %s" % (day, ", ".join(DAYS)),
            )
    for key in ("start", "end"):
        text = entry[key]
        if text is not None and minute_of_day(text) is None:
            problems.add(prefix + "." + key, "'%s' is not a time HH:MM (00:00-24:00)" % text)
    if entry["start"] is not None and entry["start"] == entry["end"]:
        problems.add(prefix + ".end", "equals start; 00:00 to 24:00 is a whole day")
    if entry["buttons"] is None:
        entry["buttons"] = list(ids)
    for item, number in enumerate(entry["buttons"]):
        if number not in ids:
            problems.add("%s.buttons[%d]" % (prefix, item), "no [[button]] has id %d" % number)
    if len(entry["targets"] or ()) > MAX_TARGETS:
        problems.add(prefix + ".targets", "at most %d targets" % MAX_TARGETS)
    for item, target in enumerate(entry["targets"] or ()):
        where = "%s.targets[%d]" % (prefix, item)
        _check_party(problems, where, target, has_domain, True)
    return entry


def _check_time(problems, config):
    time = config["time"]
    if time["zone"] is not None:
        from intercom import tz  # only then: a Pico W's heap holds every module it imports

        try:
            tz.parse(time["zone"])
        except ValueError as error:
            problems.add("time.zone", "'%s': %s" % (time["zone"], error))
    if time["ntp_server"] is not None and _host_port(time["ntp_server"]) is None:
        problems.add("time.ntp_server", "'%s' is not a host or host:port" % time["ntp_server"])
    if config["device"]["board"] == "pico_w" and config["schedule"] and time["zone"] is None:
        problems.add(
            "time.zone",
            "board pico_w keeps UTC: [[schedule]] needs the local zone as a POSIX TZ "
            "string (like CET-1CEST,M3.5.0,M10.5.0/3)",
        )


def _check_audio(problems, audio):
    codecs = audio["codecs"]
    if codecs is not None:
        if not codecs:
            problems.add("audio.codecs", "needs at least one codec (PCMU, PCMA)")
        for index, codec in enumerate(codecs):
            if codec not in CODECS:
                problems.add("audio.codecs[%d]" % index, "'%s' is not one of: PCMU, PCMA" % codec)
            elif codecs.index(codec) != index:
                problems.add("audio.codecs[%d]" % index, "'%s' is listed twice" % codec)
    if audio["ptime"] is not None and audio["ptime"] % 10:
        problems.add("audio.ptime", "%d is not a multiple of 10 ms" % audio["ptime"])
    if audio["rtp_port"] is not None and audio["rtp_port"] % 2:
        problems.add(
            "audio.rtp_port", "RTP uses an even port (RFC 3550 11), not %d" % (audio["rtp_port"])
        )
    low = audio["jitter_min_ms"]
    high = audio["jitter_max_ms"]
    if low is not None and high is not None and low > high:
        problems.add("audio.jitter_min_ms", "%d is above audio.jitter_max_ms (%d)" % (low, high))


def _check_srtp(problems, config):
    sip, audio = config["sip"], config["audio"]
    srtp = audio["srtp"]
    transport = sip["transport"]
    if srtp not in (None, "off") and transport not in (None, TLS):
        problems.add(
            "audio.srtp",
            '"%s" puts the SRTP keys in the SDP, which needs sip.transport = "tls" '
            "(over %s anyone on the network reads them)" % (srtp, transport),
        )
    if transport == TLS and config["device"]["board"] == "pico_w":
        problems.add(
            "sip.transport",
            '"tls" needs CPython (board rpi or sim): SIP over TLS is not built for '
            "board pico_w (a TLS session alone takes some 26 KiB of the heap a call "
            'needs, README "SIP over TLS"), so SRTP is not available there either',
        )


def _check_voicemail(problems, board, voicemail):
    prompt = voicemail["prompt"]
    if prompt is not None and prompt not in PROMPT_CHOICES and not prompt.lower().endswith(".wav"):
        problems.add(
            "voicemail.prompt",
            '\'%s\' is neither "default", "tone" nor a .wav file' % prompt,
        )
    if board == "pico_w" and voicemail["record"]:
        problems.add(
            "voicemail.record",
            "a Pico W records no messages (its flash has no room for them, writing it "
            "stalls the audio, and nothing there could list them): the prompt plays",
        )


def _check_echo(problems, board, audio, sim):
    if audio["echo"] is None:
        audio["echo"] = ECHO_DEFAULTS.get(board, "off")
    elif audio["echo"] == "aec" and board == "pico_w":
        problems.add(
            "audio.echo",
            "'aec' needs libspeexdsp on CPython (board rpi or sim); on board pico_w "
            "use half_duplex or off",
        )
    if audio["noise_suppress_db"] and audio["echo"] != "aec":
        problems.add(
            "audio.noise_suppress_db",
            'the noise suppressor is libspeexdsp\'s, it runs with audio.echo = "aec" only',
        )
    if sim is not None and board != "sim":
        problems.add("sim", "the simulated room is for board sim only, not %s" % board)


def _check_gpio(problems, board, gpio, buttons):
    defaults = DEFAULT_PINS["rpi" if board == "sim" else board]
    _fill_button_one(problems, gpio, buttons, defaults)
    pins = []  # (key, pin): button 1, relay and led first, as before [[button]]
    others = _fill_button_pins(problems, gpio, buttons, defaults, pins)
    for role in ("relay", "led"):
        if gpio[role] is None:
            gpio[role] = defaults[role]
        pins.append(("gpio." + role, gpio[role]))
    pins += others
    for role in INPUTS + OUTPUTS:
        if gpio[role] is not None:
            pins.append(("gpio." + role, gpio[role]))
    _check_pins_apart(problems, board, pins)


def _fill_button_one(problems, gpio, buttons, defaults):
    """gpio.button is button 1's pin: the board's default, or [[button]] id
    1's pin when only that names it; both given must agree."""
    first = None
    for index, button in enumerate(buttons):
        if button["id"] == 1:
            first = button
            if button["pin"] is not None and gpio["button"] not in (None, button["pin"]):
                problems.add(
                    "button[%d].pin" % index,
                    "%d differs from gpio.button (%d): button 1 is gpio.button"
                    % (button["pin"], gpio["button"]),
                )
    if gpio["button"] is None:
        gpio["button"] = defaults["button"]
        if first is not None and first["pin"] is not None:
            gpio["button"] = first["pin"]


def _fill_button_pins(problems, gpio, buttons, defaults, pins):
    """Every button's pin (the pin map's for buttons 2 and 3 when not
    given): button 1 goes into pins, the others are returned as (key, pin)."""
    others = []
    for index, button in enumerate(buttons):
        key = "button[%d].pin" % index
        if button["pin"] is None and button["id"] is not None:
            if button["id"] == 1:
                button["pin"] = gpio["button"]
            else:
                button["pin"] = defaults.get("button%d" % button["id"])
                if button["pin"] is None:
                    problems.add(key, "is required (the pin maps name pins for buttons 1-3)")
        if button["pin"] is not None:
            if button["id"] == 1:
                pins.append(("gpio.button", button["pin"]))
            else:
                others.append((key, button["pin"]))
    return others


def _check_pins_apart(problems, board, pins):
    """Each pin exists on the board, serves one role, and is not one the
    board's I2S audio takes."""
    reserved = {}
    for device, device_pins in I2S_PINS.get(board, {}).items():
        for signal, pin in device_pins.items():
            reserved[pin] = "the I2S %s %s pin" % (device, signal)
    used = {}
    for key, pin in pins:
        if pin not in VALID_PINS[board]:
            problems.add(key, "pin %d does not exist on board %s" % (pin, board))
        elif pin in used:
            problems.add(key, "pin %d is already %s" % (pin, used[pin]))
        elif pin in reserved:
            problems.add(key, "pin %d is %s on board %s" % (pin, reserved[pin], board))
        used.setdefault(pin, key)


def _slug(text):
    out = []
    for char in text.lower():
        if char in "abcdefghijklmnopqrstuvwxyz0123456789":
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-") or "door"


def _check_tls_pair(problems, section, table):
    if (table["tls_cert"] is None) != (table["tls_key"] is None):
        problems.add(section + ".tls_key", "give both tls_cert and tls_key, or neither")


def _check_services(problems, config):
    board = config["device"]["board"]
    # the pico_w board has MQTT only, over plain TCP
    # (boards.services.mqtt_pico), and looks names up blocking
    # (boards.services.resolver); a sim door under the MicroPython unix port
    # reports the same limits at start (boards.services.start)
    pico = board == "pico_w"
    mqtt = config["mqtt"]
    if mqtt is not None:
        if mqtt["port"] is None:
            mqtt["port"] = 8883 if mqtt["tls"] else 1883
        secure = mqtt["tls_ca"], mqtt["tls_cert"], mqtt["tls_key"]
        if not mqtt["tls"] and secure != (None, None, None):
            problems.add("mqtt.tls", "tls_ca, tls_cert and tls_key need tls = true")
        _check_tls_pair(problems, "mqtt", mqtt)
        if pico and mqtt["tls"]:
            problems.add(
                "mqtt.tls",
                "MQTT over TLS needs CPython (board rpi or sim): on board pico_w a TLS "
                "session does not fit beside a call in the heap",
            )
        host = mqtt["host"]
        if pico and host is not None and not (is_ipv4(host) or is_ipv6(host)):
            problems.add(
                "mqtt.host",
                "'%s': give the broker's IP address on board pico_w (a name lookup there "
                "blocks the door for up to 7 s per DNS server, and the watchdog resets it "
                "at 8 s)" % host,
            )
        if mqtt["prefix"] is None:
            mqtt["prefix"] = "intercom/" + _slug(config["device"]["name"] or "door")
        else:
            prefix = mqtt["prefix"]
            if "+" in prefix or "#" in prefix or prefix.startswith("/") or prefix.endswith("/"):
                problems.add(
                    "mqtt.prefix", "no MQTT wildcards (+ #) and no leading or trailing '/'"
                )
        if mqtt["allow_open"] and (mqtt["user"] is None or mqtt["password"] is None):
            problems.add("mqtt.allow_open", "true needs mqtt.user and mqtt.password")
    http = config["http"]
    if http is not None:
        listen = http["listen"]
        hostport = _host_port(listen) if listen is not None else (None, 1)
        if hostport is None or hostport[1] is None:
            problems.add("http.listen", "'%s' is not host:port (like 127.0.0.1:8080)" % listen)
        if http["allow_open"] and http["token"] is None:
            problems.add("http.allow_open", "true needs http.token")
        _check_tls_pair(problems, "http", http)
        if pico:
            problems.add("http", "the status page needs CPython (board rpi or sim), not pico_w")
    if pico and config["webhook"]:
        problems.add("webhook", "webhooks need CPython (board rpi or sim), not pico_w")
    if board == "pico_w" and config["wifi"] is None:
        problems.add("wifi", "board pico_w needs a [wifi] section with ssid")


def _check_webhooks(problems, raw):
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("webhook", "must be an array of tables ([[webhook]])")
        return []
    hooks = []
    for index, table in enumerate(raw):
        prefix = "webhook[%d]" % index
        hook = _check_table(problems, prefix, table, WEBHOOK_KEYS)
        url = hook["url"]
        if url is not None:
            lowered = url.lower()
            scheme = 8 if lowered.startswith("https://") else 7
            rest = url[scheme:].split("/", 1)[0]
            if not (lowered.startswith("http://") or lowered.startswith("https://")):
                problems.add(prefix + ".url", "'%s' is not an http:// or https:// URL" % url)
            elif _host_port(rest) is None:
                problems.add(prefix + ".url", "'%s' has no valid host" % url)
            elif hook["tls_ca"] is not None and scheme == 7:
                problems.add(prefix + ".tls_ca", "only for an https:// url")
        if hook["events"] is None:
            hook["events"] = list(events.EVENT_NAMES)
        for event_index, name in enumerate(hook["events"] or ()):
            if name not in events.EVENT_NAMES:
                _unknown(
                    problems,
                    "%s.events[%d]" % (prefix, event_index),
                    name,
                    events.EVENT_NAMES,
                    "event",
                )
        hooks.append(hook)
    return hooks


def validate(raw, filename="config"):
    """The effective config from a parsed TOML/JSON dict, or ConfigError."""
    problems = _Problems(filename)
    if not isinstance(raw, dict):
        problems.add("(file)", "must hold a table of sections, not %s" % _type_name(raw))
        raise ConfigError(problems.lines)
    for name in raw:
        if name not in TOP_LEVEL:
            _unknown(problems, name, name, TOP_LEVEL, "section")
    config = {}
    sections = _sections()
    for name in sections:
        section = raw.get(name)
        if section is None and name in OPTIONAL_SECTIONS:
            config[name] = None
        else:
            config[name] = _check_table(
                problems, name, {} if section is None else section, sections[name]
            )
    config["webhook"] = _check_webhooks(problems, raw.get("webhook"))
    if config["device"]["name"] is not None:
        _check_display_name(problems, "device.name", config["device"]["name"])
    _check_sip(problems, config["sip"])
    _check_call_and_door(problems, config, raw.get("button"))
    config["button"] = _check_buttons(problems, config, raw.get("button"))
    config["schedule"] = _check_schedules(problems, config, raw.get("schedule"))
    _check_audio(problems, config["audio"])
    _check_srtp(problems, config)
    board = config["device"]["board"]
    if board is not None:
        _check_gpio(problems, board, config["gpio"], config["button"])
        _check_echo(problems, board, config["audio"], config["sim"])
        _check_voicemail(problems, board, config["voicemail"])
    _check_time(problems, config)
    _check_services(problems, config)
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def masked(config):
    """A copy of an effective config with every secret set to "****"."""
    copy = {}
    for name in config:
        section = config[name]
        if isinstance(section, dict):
            section = dict(section)
        elif isinstance(section, list):
            section = [dict(item) for item in section]
        copy[name] = section
    for section, key in SECRET_KEYS:
        tables = copy.get(section)
        if isinstance(tables, dict):
            tables = [tables]
        for table in tables or ():
            if table.get(key) is not None:
                table[key] = SECRET_TEXT
    return copy
