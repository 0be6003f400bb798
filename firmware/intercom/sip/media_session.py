# The call's view of SDP offer/answer (RFC 3264), on top of intercom.sdp:
# our offer, the peer's answer, our answer to the peer's offer, each turned
# into the MEDIA dict the app gets in events to start its RTP session:
#
#   {"remote_host", "remote_port", "payload_type", "codec" ("PCMU"/"PCMA"),
#    "telephone_event_pt" (None when not offered), "ptime" (ms of audio per
#    packet we send: our audio.ptime, shorter only for the peer's
#    a=maxptime; see intercom.sdp), "direction" (ours: sendrecv / sendonly /
#    recvonly / inactive)}

from intercom import sdp


def make_offer(codecs, ptime, local_rtp, session_id, version):
    host, port = local_rtp
    return sdp.build_offer(session_id, version, host, port, codecs, ptime)


def read_answer(body, offer):
    """MEDIA from the peer's answer (2xx, 183) to our offer, or None."""
    try:
        return _media(sdp.parse_answer(body, offer))
    except sdp.SdpError:
        return None


def make_answer(offer, codecs, ptime, local_rtp, session_id, version):
    """(answer bytes, MEDIA); raises sdp.SdpError (400 malformed, 488 no match)."""
    host, port = local_rtp
    body, negotiated = sdp.answer(offer, session_id, version, host, port, codecs, ptime)
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
    }
