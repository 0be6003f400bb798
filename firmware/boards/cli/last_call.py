# Why the last call failed or had no audio, in words, from its call_ended
# event in the call log (boards.services.call_log): `intercom doctor`'s
# "last call" check (CPython). The reasons, details and the media summary
# are those of intercom.events.
#
#   explain(entry) -> [(kind, text, fix)]   kind "ok", "note" or "fail";
#                                           fix is None for ok and note
#
# What it says, in order: how the call ended (a refusal with its SIP code,
# an error, the media timeout), then its audio (the verdict: which way
# failed and the likely cause, NAT when the phone's audio came from another
# address than its SDP named), then how the phone sends DTMF.

REFUSALS = {
    "busy": (
        "the flat was busy (or set to do not disturb)",
        "nothing to fix at the door; for a flat that is often busy add another target",
    ),
    "declined": (
        "the call was declined at the phone",
        "if nobody pressed decline, check the phone's or PBX's block list for the door",
    ),
    "not_found": (
        "the target does not exist there",
        "check call.targets: the user name at the server, or the phone's address",
    ),
    "unavailable": (
        "the target is not reachable (not registered at the server, or switched off)",
        "check that the phone is on and registered",
    ),
    "redirect": (
        "the target forwards the call (3xx), which the door never follows",
        "put the forwarding destination itself in call.targets",
    ),
    "auth": (
        "the server asked for credentials the door cannot give",
        "check sip.user, sip.password and sip.realm (the sip check above)",
    ),
    "rejected": (
        "the phone or server refused the call",
        "see the phone's or the PBX's log for why it sent this code",
    ),
}
ERRORS = {
    "not_registered": (
        "the door was not registered at the server when the button was pressed",
        "check sip.server, sip.user and sip.password (the sip check above)",
    ),
    "no_room": (
        "the door had no room for another SIP call",
        "wait for the calls still ending to finish; report it if it stays",
    ),
    "bad_sdp": (
        "the phone's answer had no usable audio (SDP)",
        "allow G.711 (PCMU or PCMA) on the phone",
    ),
    "no_ack": (
        "the caller never confirmed the door's answer (no ACK)",
        "a NAT or firewall between the phone and the door drops SIP: check the "
        "phone's NAT settings and any SIP ALG in the router",
    ),
    "internal_error": (
        "an error in the door's own code ended the call",
        "see the error event just before it in the call log and report it",
    ),
}


def explain(entry):
    found = []
    _ending(entry, found)
    media = entry.get("media")
    if media:
        _audio(media, found)
        _dtmf(media, found)
    return found


def _ending(entry, found):
    reason = entry.get("reason")
    detail = entry.get("detail")
    code = entry.get("sip_code")
    seconds = (entry.get("duration_ms") or 0) / 1000
    if reason == "refused":
        text, fix = REFUSALS.get(detail, REFUSALS["rejected"])
        found.append(("fail", "refused with %s %s: %s" % (code, detail, text), fix))
    elif reason == "error":
        text, fix = ERRORS.get(detail, ("the call failed (%s)" % detail, "see the call log"))
        found.append(("fail", text, fix))
    elif reason == "rtp_timeout":
        found.append(
            (
                "fail",
                "ended by the media timeout after %.0f s: the phone's RTP stopped" % seconds,
                "a network drop, or a phone that sends nothing while the resident is quiet "
                "(silence suppression): turn that off on the phone, or set "
                "call.media_timeout = 0",
            )
        )
    elif reason == "no_answer":
        found.append(("note", "nobody answered within call.ring_timeout", None))
    else:
        how = reason if not detail else "%s (%s)" % (reason, detail)
        found.append(("ok", "ended by %s after %.0f s" % (how, seconds), None))


def _audio(media, found):
    verdict = media.get("audio")
    sent = media.get("packets_sent")
    received = media.get("packets_received")
    sdp = media.get("sdp_address")
    stray = media.get("stray_address")
    if verdict == "no_rx" and media.get("rx_from") == "elsewhere":
        came, said = _addresses(stray, sdp)
        found.append(
            (
                "fail",
                "no audio from the phone: audio arrived from %s but the SDP said %s: NAT "
                "(%s packets dropped)" % (came, said, media.get("stray_packets")),
                "set audio.symmetric_rtp = true (the door then answers where the phone's "
                "audio comes from), or fix the phone's NAT settings (STUN, its public "
                "address) or turn off the router's SIP ALG",
            )
        )
    elif verdict == "no_rx":
        found.append(
            (
                "fail",
                "no audio from the phone: no RTP arrived at all (its SDP said %s; the door "
                "sent %s packets there)" % (sdp, sent),
                "a firewall drops UDP to the door's RTP port (audio.rtp_port), or the phone "
                "sends none: check both, and the phone's codec (PCMU/PCMA)",
            )
        )
    elif verdict == "no_tx":
        found.append(
            (
                "fail",
                "the door sent no audio: the phone held the call throughout (a=sendonly or "
                "inactive); %s packets came from it" % received,
                "check the phone's answer and hold settings",
            )
        )
    elif verdict == "one_way":
        found.append(
            (
                "fail",
                "one-way audio: the phone's %s RTCP reports counted none of the %s packets "
                "the door sent to %s" % (media.get("phone_reports"), sent, sdp),
                "a NAT or firewall on the phone's side drops UDP to %s: if the phone is "
                "behind NAT, set audio.symmetric_rtp = true or give it its public address "
                "(STUN); else open its RTP ports" % sdp,
            )
        )
    else:
        latched = " (symmetric RTP: from another port than the SDP said)"
        found.append(
            (
                "ok",
                "audio both ways: %s %s ms, %s packets sent, %s received%s"
                % (
                    media.get("codec"),
                    media.get("ptime"),
                    sent,
                    received,
                    latched if media.get("rx_from") == "latched" else "",
                ),
                None,
            )
        )


def _addresses(came, said):
    """The two "host:port" texts as hosts when the hosts differ (a NAT's
    public address), else whole (a NAT that only changed the port)."""
    came_host = came.rsplit(":", 1)[0]
    said_host = said.rsplit(":", 1)[0]
    if came_host != said_host:
        return came_host, said_host
    return came, said


def _dtmf(media, found):
    method = media.get("dtmf")
    if media.get("telephone_event"):
        if method == "none":
            found.append(
                ("note", "the phone offered telephone-event (RFC 4733); no digit came", None)
            )
        else:
            found.append(("note", "DTMF came by %s" % method, None))
        return
    if method == "info":
        text = "the phone offered no telephone-event: it sends DTMF by SIP INFO (seen)"
    elif method == "inband":
        text = "the phone offered no telephone-event: it sends DTMF as in-band tones (seen)"
    else:
        text = (
            "the phone offered no telephone-event: it will send DTMF by SIP INFO or as "
            "in-band tones, and none came; if keys do not open, turn on RFC 2833/4733 "
            "DTMF on the phone"
        )
    found.append(("note", text, None))
