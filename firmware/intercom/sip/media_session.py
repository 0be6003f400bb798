# The call's view of SDP offer/answer (RFC 3264), on top of intercom.sdp:
# our offer, the peer's answer, our answer to the peer's offer, each turned
# into the MEDIA dict the app gets in events to start its RTP session:
#
#   {"remote_host", "remote_port", "payload_type", "codec" ("PCMU"/"PCMA"),
#    "telephone_event_pt" (None when not offered), "ptime" (ms of audio per
#    packet we send: our audio.ptime, shorter only for the peer's
#    a=maxptime; see intercom.sdp), "direction" (ours: sendrecv / sendonly /
#    recvonly / inactive), "srtp" (None: plain RTP; else (suite, our
#    master key, theirs) for intercom.media.srtp: never in an event the
#    station passes on, never logged)}
#
# srtp: the call's SDES mode (intercom.sdp: "off", "optional",
# "mandatory"); masters: the call's own fresh master keys, one per suite of
# sdes.SUITES (the offer's lines, tags 1, 2, ...; an answer uses the first).

from intercom import sdp
from intercom.sdes import SUITES


def make_offer(codecs, ptime, local_rtp, session_id, version, srtp="off", masters=()):
    host, port = local_rtp
    crypto = [(index + 1, SUITES[index], masters[index]) for index in range(len(masters))]
    return sdp.build_offer(session_id, version, host, port, codecs, ptime, srtp=srtp, crypto=crypto)


def read_answer(body, offer):
    """MEDIA from the peer's answer (2xx, 183) to our offer, or None."""
    try:
        return _media(sdp.parse_answer(body, offer))
    except sdp.SdpError:
        return None


def make_answer(offer, codecs, ptime, local_rtp, session_id, version, srtp="off", masters=()):
    """(answer bytes, MEDIA); raises sdp.SdpError (400 malformed, 488 no match)."""
    host, port = local_rtp
    body, negotiated = sdp.answer(
        offer,
        session_id,
        version,
        host,
        port,
        codecs,
        ptime,
        srtp=srtp,
        master=masters[0] if masters else None,
    )
    return body, _media(negotiated)


def _media(negotiated):
    return {
        "remote_host": negotiated.remote_address,
        "remote_port": negotiated.remote_port,
        "payload_type": negotiated.payload_type,
        "codec": negotiated.codec,
        "telephone_event_pt": negotiated.dtmf_payload_type,
        "ptime": negotiated.ptime,
        "direction": negotiated.direction,
        "srtp": negotiated.srtp,
    }
