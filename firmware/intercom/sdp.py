# SDP (RFC 4566) and the offer/answer model (RFC 3264) for the door's one
# G.711 audio stream plus RFC 4733 telephone-events.
#
# Answering an offer (RFC 3264 section 6):
#   - every m= line of the offer gets one in the answer, in the same order;
#   - the first "audio" stream over RTP/AVP (RTP/SAVP too with SRTP, see
#     below) with a non-zero port and a codec we support is accepted;
#     every other stream is rejected with port 0
#     (its formats copied from the offer, section 6);
#   - the codec is the first one in the OFFER's order that we support
#     (section 6.1: the offerer's list is its preference), answered with the
#     offer's payload type number; telephone-event/8000 is echoed with the
#     offer's number (101, 114, ...) when offered;
#   - direction (section 6.1): we send only if they receive and we may send,
#     we receive only if they send and we may receive:
#         offer      local sendrecv   answer
#         sendrecv                    sendrecv
#         sendonly                    recvonly
#         recvonly                    sendonly
#         inactive                    inactive
#   - nothing acceptable: SdpError with status 488 (Not Acceptable Here).
# Packet time (RFC 3264 sections 5.1 and 6.1, RFC 4566 section 6):
#   - a=ptime is the packet time its writer would like to receive; both
#     directions may differ. Our offer and our answer say our own ptime
#     (audio.ptime) and a=maxptime:MAX_RECEIVE_PTIME, the longest packet we
#     take (the jitter buffer re-frames any packet of 10 ms steps up to it).
#   - we send our ptime, whatever the peer's a=ptime says; when the peer's
#     a=maxptime is shorter, we send the longest packet time in 10 ms steps
#     that divides our ptime and fits it (NegotiatedMedia.ptime).
#   - values no G.711 stream can mean (0, above 10 s, a maxptime under
#     10 ms) are ignored; a value that is not a number is malformed.
# SRTP with SDES keys (RFC 3711, RFC 4568; the srtp argument, audio.srtp):
#   - "off": RTP/AVP only; an a=crypto in an offer is ignored (our answer
#     has none, so the offerer sends RTP), an RTP/SAVP stream is rejected.
#   - "optional": we offer RTP/AVP with a=crypto lines (the common
#     "best effort SRTP" practice, not RFC 5939 capability negotiation: see
#     the README); we answer SRTP to any RTP/AVP or RTP/SAVP offer with a
#     usable a=crypto line, plain RTP to an RTP/AVP offer without one.
#   - "mandatory": we offer RTP/SAVP with a=crypto lines; we answer only
#     streams with a usable a=crypto line (RTP/AVP or RTP/SAVP): others are
#     rejected, so a call without SRTP gets 488.
#   - Our offer has one line per suite of sdes.SUITES, tags 1, 2, ..., each
#     with its own key. The answer takes the first line of the offer that
#     sdes.parse_crypto can use (RFC 4568 7.1.2), echoes its tag and suite
#     with our own fresh key, and keeps the offer's proto. Reading an
#     answer: its a=crypto must name a tag and suite we offered; without
#     one the call is plain RTP, or fails (488) when we offered RTP/SAVP.
#   - NegotiatedMedia.srtp: (suite, our master key, theirs) or None.
# Malformed SDP raises SdpError with status 400; nothing else is raised.

from intercom.sdes import MODES, format_crypto, parse_crypto
from intercom.sip.grammar import decode_text, is_digits, is_hostname, is_ipv4, is_ipv6

STATIC_CODECS = {"0": "PCMU", "8": "PCMA"}  # RFC 3551 section 6
CODEC_PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_DIRECTION_BITS = {"sendrecv": (True, True), "sendonly": (True, False), "recvonly": (False, True)}
_MAX_LINES = 400
DEFAULT_PTIME = 20
MAX_RECEIVE_PTIME = 60  # ms: the longest packet we take, our a=maxptime
PTIME_STEP = 10  # ms: packet times we send are multiples of this
_LONGEST_PTIME = 10000  # ms: longer values in a peer's SDP are ignored
PLAIN_PROTO = "RTP/AVP"
SECURE_PROTO = "RTP/SAVP"


class SdpError(Exception):
    """Unusable SDP. status: 400 (malformed) or 488 (nothing in common)."""

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class MediaDescription:
    """One m= section. formats: payload types as str; rtpmap: {pt: (encoding,
    clock rate)}; fmtp: {pt: text}; connection: (addrtype, address) or None;
    direction: the a= direction written in this section, or None; ptime and
    maxptime: whole ms, or None when absent or ignored; crypto: the values
    of its a=crypto lines (RFC 4568), in order."""

    def __init__(self, media, port, proto, formats):
        self.media = media
        self.port = port
        self.proto = proto
        self.formats = formats
        self.connection = None  # type: tuple[str, str] | None
        self.rtpmap = {}
        self.fmtp = {}
        self.ptime = None
        self.maxptime = None
        self.direction = None
        self.crypto = []

    def codec_of(self, payload_type):
        """Upper-case encoding name of a payload type, or None if unknown."""
        if payload_type in self.rtpmap:
            return self.rtpmap[payload_type][0].upper()
        return STATIC_CODECS.get(payload_type)

    def clock_rate_of(self, payload_type):
        if payload_type in self.rtpmap:
            return self.rtpmap[payload_type][1]
        return 8000 if payload_type in STATIC_CODECS else None


class SessionDescription:
    """A parsed SDP: origin (username, session id, version, addrtype,
    address), session-level connection/direction and the media list."""

    def __init__(self):
        self.origin = None  # type: list[str] | None
        self.session_name = ""
        self.connection = None  # type: tuple[str, str] | None
        self.direction = None
        self.media = []

    def connection_of(self, media):
        """(addrtype, address) for a media section: its own c= or the session's."""
        return media.connection if media.connection is not None else self.connection

    def direction_of(self, media):
        """Effective direction (RFC 4566 section 6: media level wins)."""
        return media.direction or self.direction or "sendrecv"


class NegotiatedMedia:
    """What the media layer needs once offer and answer agree."""

    def __init__(
        self, remote_address, remote_port, payload_type, codec, dtmf, ptime, direction, srtp=None
    ):
        self.remote_address = remote_address
        self.remote_port = remote_port
        self.payload_type = payload_type  # int
        self.codec = codec  # "PCMU" or "PCMA"
        self.dtmf_payload_type = dtmf  # int or None
        self.ptime = ptime  # ms of audio per packet we send
        self.direction = direction  # ours: sendrecv / sendonly / recvonly / inactive
        self.srtp = srtp  # (suite, our master key, theirs) or None: plain RTP

    def __repr__(self):  # never the keys
        return "<NegotiatedMedia %s %s:%d pt=%d dtmf=%s %s %s>" % (
            self.codec,
            self.remote_address,
            self.remote_port,
            self.payload_type,
            self.dtmf_payload_type,
            self.direction,
            "RTP" if self.srtp is None else self.srtp[0],
        )


def _number(text, largest, what):
    if not is_digits(text, 20) or int(text) > largest:
        raise SdpError("malformed " + what)
    return int(text)


def _parse_connection(value):
    # c=<nettype> <addrtype> <connection-address> (RFC 4566 section 5.7)
    words = value.split()
    if len(words) != 3 or words[0] != "IN" or words[1] not in ("IP4", "IP6"):
        raise SdpError("malformed c=")
    address = words[2].split("/")[0]  # multicast TTL / count suffix
    valid = is_ipv4(address) if words[1] == "IP4" else is_ipv6(address)
    if not (valid or is_hostname(address)):
        raise SdpError("malformed connection address")
    return words[1], address


def _parse_media(value):
    # m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 4566 section 5.14)
    words = value.split()
    if len(words) < 4:
        raise SdpError("malformed m=")
    port = _number(words[1].split("/")[0], 65535, "media port")
    formats = words[3:]
    if words[2].upper().startswith("RTP/"):
        for payload_type in formats:
            _number(payload_type, 127, "payload type")
    return MediaDescription(words[0], port, words[2], formats)


def _parse_attribute(value, session, media):
    colon = value.find(":")
    name = value if colon < 0 else value[:colon]
    argument = "" if colon < 0 else value[colon + 1 :]
    if name in DIRECTIONS:
        if media is None:
            session.direction = name
        else:
            media.direction = name
    elif media is None:
        return  # other session-level attributes do not concern us
    elif name == "rtpmap":
        space = argument.find(" ")
        payload_type = argument[:space] if space > 0 else ""
        parts = argument[space + 1 :].strip().split("/")
        _number(payload_type, 127, "rtpmap payload type")
        if not parts[0] or len(parts) < 2:
            raise SdpError("malformed rtpmap")
        media.rtpmap[payload_type] = (parts[0], _number(parts[1], 1000000, "clock rate"))
    elif name == "fmtp":
        space = argument.find(" ")
        if space <= 0:
            raise SdpError("malformed fmtp")
        media.fmtp[argument[:space]] = argument[space + 1 :].strip()
    elif name == "ptime":
        media.ptime = _packet_time(argument, "ptime")
    elif name == "maxptime":
        media.maxptime = _packet_time(argument, "maxptime")
    elif name == "crypto":
        media.crypto.append(argument)


def _packet_time(argument, what):
    # ptime / maxptime: ms, possibly with a fraction (RFC 4566 section 6).
    # Only the whole ms count; values no G.711 stream can mean are ignored.
    whole = argument.strip().split(".")[0]
    if not is_digits(whole, 20):
        raise SdpError("malformed " + what)
    value = int(whole)
    return value if 0 < value <= _LONGEST_PTIME else None


def _sending_ptime(ptime, maxptime):
    """The packet time we send (ms): our ptime, or when the peer's maxptime
    is shorter, the longest multiple of PTIME_STEP dividing ptime that fits
    it (a maxptime under PTIME_STEP is ignored)."""
    if maxptime is None or maxptime >= ptime or maxptime < PTIME_STEP:
        return ptime
    best = PTIME_STEP
    for candidate in range(PTIME_STEP, maxptime + 1, PTIME_STEP):
        if ptime % candidate == 0:
            best = candidate
    return best


def parse_sdp(data):
    """SDP bytes (or str) -> SessionDescription; raises only SdpError."""
    text = data if isinstance(data, str) else decode_text(data)
    session = SessionDescription()
    media = None
    lines = text.split("\n")
    if len(lines) > _MAX_LINES:
        raise SdpError("too many SDP lines")
    for number, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpError("malformed SDP line")
        kind = line[0]
        value = line[2:]
        if number == 0 and line != "v=0":
            raise SdpError("SDP must start with v=0")
        if kind == "o":
            words = value.split()
            if len(words) != 6:
                raise SdpError("malformed o=")
            session.origin = words
        elif kind == "s" and media is None:
            session.session_name = value
        elif kind == "c":
            if media is None:
                session.connection = _parse_connection(value)
            else:
                media.connection = _parse_connection(value)
        elif kind == "m":
            media = _parse_media(value)
            session.media.append(media)
        elif kind == "a":
            _parse_attribute(value, session, media)
    _check_complete(session, lines)
    return session


def _check_complete(session, lines):
    """v= first, an o=, and a connection address for every active stream."""
    if not lines or lines[0].rstrip("\r") != "v=0" or session.origin is None:
        raise SdpError("SDP without v= or o=")
    for section in session.media:
        if section.port and session.connection_of(section) is None:
            raise SdpError("media without connection address")  # RFC 4566 section 5.7


def _address_type(address):
    return "IP6" if ":" in address else "IP4"


def _session_head(session_id, version, address):
    kind = _address_type(address)
    return [
        "v=0",
        "o=- %d %d IN %s %s" % (session_id, version, kind, address),
        "s=-",
        "c=IN %s %s" % (kind, address),
        "t=0 0",
    ]


def _audio_lines(
    rtp_port, codecs, payload_types, dtmf_payload_type, ptime, direction, proto, crypto
):
    formats = [str(pt) for pt in payload_types]
    if dtmf_payload_type is not None:
        formats.append(str(dtmf_payload_type))
    lines = ["m=audio %d %s %s" % (rtp_port, proto, " ".join(formats))]
    for index in range(len(codecs)):
        lines.append("a=rtpmap:%d %s/8000" % (payload_types[index], codecs[index]))
    if dtmf_payload_type is not None:
        lines.append("a=rtpmap:%d telephone-event/8000" % dtmf_payload_type)
        lines.append("a=fmtp:%d 0-16" % dtmf_payload_type)
    lines.append("a=ptime:%d" % ptime)
    lines.append("a=maxptime:%d" % MAX_RECEIVE_PTIME)
    lines.append("a=" + direction)
    for tag, suite, master in crypto:
        lines.append("a=crypto:" + format_crypto(tag, suite, master))
    return lines


def _to_bytes(lines):
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def build_offer(
    session_id,
    version,
    address,
    rtp_port,
    codecs=("PCMU", "PCMA"),
    ptime=DEFAULT_PTIME,
    dtmf_payload_type=101,
    direction="sendrecv",
    srtp="off",
    crypto=(),
):
    """Our SDP offer: one audio stream, codecs in the configured order;
    crypto: the (tag, suite, master key) lines offered unless srtp is off."""
    if srtp not in MODES:
        raise ValueError("srtp mode %r" % srtp)
    payload_types = [CODEC_PAYLOAD_TYPES[codec] for codec in codecs]
    proto = SECURE_PROTO if srtp == "mandatory" else PLAIN_PROTO
    lines = _session_head(session_id, version, address)
    lines.extend(
        _audio_lines(
            rtp_port,
            codecs,
            payload_types,
            dtmf_payload_type,
            ptime,
            direction,
            proto,
            () if srtp == "off" else crypto,
        )
    )
    return _to_bytes(lines)


def _combine(remote_direction, local_direction):
    """Our direction given theirs (as written by them) and what we allow."""
    remote_send, remote_receive = _DIRECTION_BITS.get(remote_direction, (False, False))
    local_send, local_receive = _DIRECTION_BITS.get(local_direction, (False, False))
    send = remote_receive and local_send
    receive = remote_send and local_receive
    if send and receive:
        return "sendrecv"
    if send:
        return "sendonly"
    if receive:
        return "recvonly"
    return "inactive"


def _find_dtmf(section):
    for payload_type in section.formats:
        if section.codec_of(payload_type) == "TELEPHONE-EVENT":
            if section.clock_rate_of(payload_type) == 8000:
                return payload_type
    return None


def _pick_codec(section, codecs):
    wanted = [codec.upper() for codec in codecs]
    for payload_type in section.formats:
        if section.codec_of(payload_type) in wanted and section.clock_rate_of(payload_type) == 8000:
            return payload_type
    return None


def _as_session(sdp):
    return sdp if isinstance(sdp, SessionDescription) else parse_sdp(sdp)


def answer(
    offer,
    session_id,
    version,
    address,
    rtp_port,
    codecs=("PCMU", "PCMA"),
    ptime=DEFAULT_PTIME,
    direction="sendrecv",
    srtp="off",
    master=None,
):
    """Answer an offer (SessionDescription or bytes): (answer bytes,
    NegotiatedMedia). master: our fresh SRTP master key (30 octets) for an
    SRTP answer. Raises SdpError 488 when no stream is acceptable."""
    if srtp not in MODES:
        raise ValueError("srtp mode %r" % srtp)
    offer = _as_session(offer)
    lines = _session_head(session_id, version, address)
    negotiated = None
    for section in offer.media:
        chosen = None
        keys = None
        if negotiated is None and section.media == "audio" and section.port != 0:
            proto = section.proto.upper()
            keys = None if srtp == "off" else _first_usable_crypto(section)
            if proto == PLAIN_PROTO and (keys is not None or srtp != "mandatory"):
                chosen = _pick_codec(section, codecs)
            elif proto == SECURE_PROTO and keys is not None:
                chosen = _pick_codec(section, codecs)
        if chosen is None:
            lines.append("m=%s 0 %s %s" % (section.media, section.proto, " ".join(section.formats)))
            continue
        codec = section.codec_of(chosen)
        dtmf = _find_dtmf(section)
        ours = _combine(offer.direction_of(section), direction)
        crypto = ()
        srtp_keys = None
        if keys is not None:
            if master is None:
                raise ValueError("an SRTP answer needs our master key")
            crypto = ((keys[0], keys[1], master),)
            srtp_keys = (keys[1], master, keys[2])
        lines.extend(
            _audio_lines(
                rtp_port,
                [codec],
                [int(chosen)],
                None if dtmf is None else int(dtmf),
                ptime,
                ours,
                section.proto,
                crypto,
            )
        )
        connection = offer.connection_of(section)
        if connection is None:  # parse_sdp refuses this already (RFC 4566 section 5.7)
            raise SdpError("media without connection address")
        negotiated = NegotiatedMedia(
            connection[1],
            section.port,
            int(chosen),
            codec,
            None if dtmf is None else int(dtmf),
            _sending_ptime(ptime, section.maxptime),
            ours,
            srtp_keys,
        )
    if negotiated is None:
        raise SdpError("no common audio codec", 488)
    return _to_bytes(lines), negotiated


def _first_usable_crypto(section):
    for value in section.crypto:
        keys = parse_crypto(value)
        if keys is not None:
            return keys
    return None


def _answered_crypto(offered, section):
    """(suite, our master, theirs) from the answer's a=crypto that names a
    tag and suite we offered, or None."""
    ours = {}
    for value in offered.crypto:
        keys = parse_crypto(value)
        if keys is not None:
            ours[keys[0]] = keys
    for value in section.crypto:
        keys = parse_crypto(value)
        if keys is not None and keys[0] in ours and ours[keys[0]][1] == keys[1]:
            return keys[1], ours[keys[0]][2], keys[2]
    return None


def parse_answer(answer_sdp, offer_sdp):
    """The offerer's side: the answer to our offer -> NegotiatedMedia.

    Raises SdpError (488) when the audio stream was rejected or the answer
    picked a codec we did not offer (RFC 3264 section 5.1 / 6.1).
    """
    ours = _as_session(offer_sdp)
    theirs = _as_session(answer_sdp)
    for index in range(len(ours.media)):
        offered = ours.media[index]
        if offered.media != "audio" or index >= len(theirs.media):
            continue
        section = theirs.media[index]
        if section.port == 0:
            raise SdpError("audio stream rejected", 488)
        audio = [pt for pt in section.formats if section.codec_of(pt) != "TELEPHONE-EVENT"]
        if not audio:
            raise SdpError("no codec in the answer", 488)
        chosen = audio[0]
        codec = section.codec_of(chosen)
        if chosen not in offered.formats or codec != offered.codec_of(chosen):
            raise SdpError("answer chose a codec we did not offer", 488)
        if codec not in CODEC_PAYLOAD_TYPES:
            raise SdpError("answer chose a codec we cannot play", 488)
        srtp = _answered_crypto(offered, section)
        if srtp is None and offered.proto.upper() == SECURE_PROTO:
            raise SdpError("no usable a=crypto in the answer", 488)
        dtmf = _find_dtmf(section)
        direction = _combine(theirs.direction_of(section), ours.direction_of(offered))
        connection = theirs.connection_of(section)
        if connection is None:  # parse_sdp refuses this already (RFC 4566 section 5.7)
            raise SdpError("media without connection address")
        return NegotiatedMedia(
            connection[1],
            section.port,
            int(chosen),
            codec,
            None if dtmf is None else int(dtmf),
            _sending_ptime(offered.ptime or DEFAULT_PTIME, section.maxptime),
            direction,
            srtp,
        )
    raise SdpError("no audio stream in the answer", 488)
