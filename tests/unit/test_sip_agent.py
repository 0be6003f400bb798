# The agent façade against hand-written messages: who gets which response,
# what is dropped silently, and the counters that prove it.

from intercom.sip.agent import Agent
from intercom.sip.flow import flow_address
from intercom.sip.message import make_response, parse_message
from sip_harness import FLAT, FLAT_URI, CountingRandom, door_settings, pair, udp

SDP_PCMU = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)
SDP_G722_ONLY = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"
)


def message(
    method,
    call_id="hand-1",
    branch="z9hG4bKhand1",
    cseq=1,
    to_tag=None,
    extra="",
    body="",
    cseq_method=None,
):
    to = "<sip:door@192.0.2.5>" + (";tag=" + to_tag if to_tag else "")
    text = (
        "%s sip:door@192.0.2.5 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=%s;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:flat1@192.0.2.20>;tag=flat1tag\r\n"
        "To: %s\r\n"
        "Call-ID: %s\r\n"
        "CSeq: %d %s\r\n"
        "Contact: <sip:flat1@192.0.2.20:5062>\r\n"
        "%s"
        "Content-Length: %d\r\n\r\n%s"
        % (method, branch, to, call_id, cseq, cseq_method or method, extra, len(body), body)
    )
    return text.encode()


def door_agent(**overrides):
    return Agent(door_settings(**overrides), CountingRandom(5))


def exchange(agent, data, source=FLAT, now_ms=0):
    agent.receive_datagram(data, udp(source), now_ms)
    return [
        (parse_message(wire), flow_address(flow)) for wire, flow in agent.datagrams_to_send(now_ms)
    ]


def only_response(agent, data, source=FLAT, now_ms=0):
    replies = exchange(agent, data, source, now_ms)
    assert len(replies) == 1, replies
    response, dest = replies[0]
    assert dest == source
    return response


def test_untrusted_source_gets_no_bytes_back():
    door = door_agent()
    stranger = ("198.51.100.7", 5060)
    assert exchange(door, message("INVITE", body=SDP_PCMU, extra=sdp_type()), stranger) == []
    assert exchange(door, message("OPTIONS"), stranger) == []
    assert exchange(door, b"garbage", stranger) == []
    assert door.stats["untrusted_dropped"] == 3
    assert door.next_event() is None
    assert door.calls == {} and door.transactions == {}


def sdp_type():
    return "Content-Type: application/sdp\r\n"


def test_options_lists_what_we_allow_accept_and_support():
    response = only_response(door_agent(), message("OPTIONS"))
    assert response.status == 200
    assert response.headers.get_all("Allow") == [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "PRACK",
        "REFER",
    ]
    assert "application/sdp" in response.headers.get_all("Accept")
    # exactly the extensions we implement: reliable provisional responses
    # (RFC 3262), Replaces (RFC 3891) and session timers (RFC 4028); no norefersub
    assert response.headers.get_all("Supported") == ["100rel", "replaces", "timer"]
    assert response.headers.get("To").startswith("<sip:door@192.0.2.5>;tag=")


def test_refer_outside_a_call_is_refused_and_unknown_methods_are_not_implemented():
    door = door_agent()
    assert only_response(door, message("REFER")).status == 403
    assert only_response(door, message("FROB", branch="z9hG4bKfrob")).status == 501
    not_allowed = only_response(door, message("SUBSCRIBE", branch="z9hG4bKsub"))
    assert not_allowed.status == 405
    assert "INVITE" in not_allowed.headers.get_all("Allow")


def test_unknown_extension_in_require_gets_420_with_unsupported():
    response = only_response(door_agent(), message("OPTIONS", extra="Require: norefersub, foo\r\n"))
    assert response.status == 420
    assert response.headers.get_all("Unsupported") == ["norefersub", "foo"]


def test_a_require_we_implement_is_accepted_and_only_the_others_get_420():
    door = door_agent()
    accepted = message("OPTIONS", extra="Require: timer, 100rel\r\n")
    assert only_response(door, accepted).status == 200
    refused = only_response(
        door, message("OPTIONS", branch="z9hG4bKreq2", extra="Require: timer, norefersub\r\n")
    )
    assert refused.status == 420
    assert refused.headers.get_all("Unsupported") == ["norefersub"]
    invite = message(
        "INVITE",
        call_id="hand-req",
        branch="z9hG4bKreq3",
        extra="Require: 100rel, timer, norefersub\r\n" + sdp_type(),
        body=SDP_PCMU,
    )
    refused = only_response(door, invite)
    assert refused.status == 420
    assert refused.headers.get_all("Unsupported") == ["norefersub"]
    assert door.next_event() is None  # nothing rang


def test_unreadable_body_gets_415():
    door = door_agent()
    text_body = message("INVITE", body="hello", extra="Content-Type: text/plain\r\n")
    assert only_response(door, text_body).status == 415
    zipped = message(
        "INVITE",
        branch="z9hG4bKzip",
        body=SDP_PCMU,
        extra=sdp_type() + "Content-Encoding: gzip\r\n",
    )
    response = only_response(door, zipped)
    assert response.status == 415
    assert response.headers.get("Accept-Encoding") == "identity"
    assert door.next_event() is None


def test_offer_without_a_common_codec_gets_488_and_does_not_ring():
    door = door_agent()
    response = only_response(door, message("INVITE", body=SDP_G722_ONLY, extra=sdp_type()))
    assert response.status == 488
    assert door.next_event() is None
    assert door.calls == {}


def test_malformed_requests_get_the_rfc_response_and_bad_responses_are_dropped():
    door = door_agent()
    broken = message("OPTIONS").replace(b"Max-Forwards: 70", b"Max-Forwards: many")
    assert only_response(door, broken).status == 400
    version = message("OPTIONS", branch="z9hG4bKv").replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia")
    assert only_response(door, version).status == 505
    scheme = message("OPTIONS", branch="z9hG4bKs").replace(b"sip:door@", b"http:door@", 1)
    assert only_response(door, scheme).status == 416
    bad_response = b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n"
    assert exchange(door, bad_response) == []
    assert exchange(door, b"\x00\x01binary") == []
    assert door.stats["malformed_requests"] == 3
    assert door.stats["malformed_dropped"] == 2
    assert door.stats.get("internal_errors", 0) == 0


def test_requests_outside_any_dialog_get_481():
    door = door_agent()
    assert only_response(door, message("BYE", to_tag="nope")).status == 481
    assert only_response(door, message("INFO", branch="z9hG4bKi", to_tag="x")).status == 481
    assert only_response(door, message("CANCEL", branch="z9hG4bKc")).status == 481
    assert only_response(door, message("BYE", branch="z9hG4bKb2")).status == 481


def answered_incoming_call(door):
    """A call from the flat to the door, answered and ACKed; returns its To tag."""
    replies = exchange(door, message("INVITE", body=SDP_PCMU, extra=sdp_type()))
    assert [reply[0].status for reply in replies] == [180]
    incoming = door.next_event()
    assert incoming["event"] == "incoming_call" and incoming["user"] == "flat1"
    door.answer("hand-1", 40000, 10)
    ok = [parse_message(wire) for wire, _ in door.datagrams_to_send(10)]
    assert [reply.status for reply in ok] == [200]
    to_tag = ok[0].headers.get("To").split("tag=")[1]
    assert exchange(door, message("ACK", branch="z9hG4bKack", to_tag=to_tag), now_ms=20) == []
    assert door.next_event()["event"] == "answered"
    return to_tag


def dtmf_info(to_tag, cseq, content_type, body):
    """The flat's INFO in the answered call (CSeq cseq) carrying a digit."""
    extra = "Content-Type: %s\r\n" % content_type
    branch = "z9hG4bKinfo%d" % (cseq - 1)
    return message("INFO", branch=branch, cseq=cseq, to_tag=to_tag, extra=extra, body=body)


def test_info_dtmf_is_answered_and_delivered():
    door = door_agent()
    to_tag = answered_incoming_call(door)
    relay = dtmf_info(to_tag, 2, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
    assert only_response(door, relay, now_ms=30).status == 200
    assert door.next_event() == {
        "event": "dtmf",
        "call_id": "hand-1",
        "digit": "5",
        "source": "info",
    }
    plain = dtmf_info(to_tag, 3, "application/dtmf", "#")
    assert only_response(door, plain, now_ms=40).status == 200
    assert door.next_event()["digit"] == "#"
    # An older CSeq inside the dialog is out of order (§12.2.2).
    stale = message("INFO", branch="z9hG4bKinfo3", cseq=2, to_tag=to_tag, body="")
    assert only_response(door, stale, now_ms=50).status == 500


def test_re_invite_for_hold_is_answered_with_the_mirrored_direction():
    door = door_agent()
    to_tag = answered_incoming_call(door)
    hold = SDP_PCMU.replace("a=sendrecv", "a=sendonly")
    reinvite = message(
        "INVITE", branch="z9hG4bKhold", cseq=2, to_tag=to_tag, body=hold, extra=sdp_type()
    )
    response = only_response(door, reinvite, now_ms=100)
    assert response.status == 200
    assert b"a=recvonly" in response.body
    assert b"m=audio 40000 " in response.body
    updated = door.next_event()
    assert updated["event"] == "media_updated" and updated["media"]["direction"] == "recvonly"
    exchange(door, message("ACK", branch="z9hG4bKack2", cseq=2, to_tag=to_tag), now_ms=150)
    door.handle_timer(5000)
    assert door.datagrams_to_send(5000) == []  # ACKed: no 2xx retransmission


def test_incoming_bye_ends_the_call():
    door = door_agent()
    to_tag = answered_incoming_call(door)
    bye = message("BYE", branch="z9hG4bKbye", cseq=2, to_tag=to_tag)
    assert only_response(door, bye, now_ms=1010).status == 200
    ended = door.next_event()
    assert ended["event"] == "call_ended" and ended["reason"] == "remote_hangup"
    assert ended["duration_ms"] == 990  # from the ACK at 20 ms
    assert door.calls == {}


def test_3xx_is_not_followed():
    network, door, flat = pair()
    call_id = door.call(FLAT_URI, 40000, 0)
    invite = network.sent()  # nothing delivered yet
    assert invite == []
    wire, dest = door.datagrams_to_send(0)[0]
    request = parse_message(wire)
    moved = make_response(request, 302, None, "flat9")
    moved.headers.add("Contact", "<sip:premium@203.0.113.9>")
    door.receive_datagram(moved.to_bytes(), udp(FLAT), 100)
    sent = [parse_message(w) for w, _ in door.datagrams_to_send(100)]
    assert [m.method for m in sent] == ["ACK"]
    failed = door.next_event()
    assert failed["event"] == "call_failed" and failed["reason"] == "redirect"
    assert failed["call_id"] == call_id and failed["status"] == 302
    door.handle_timer(40000)
    assert all(b"INVITE sip:premium" not in w for w, _ in door.datagrams_to_send(40000))


def test_rate_limit_per_source_is_counted():
    door = door_agent(rate_per_s=1, rate_burst=3)
    statuses = []
    for index in range(5):
        probe = message("OPTIONS", branch="z9hG4bKrate%d" % index)
        statuses.extend([r[0].status for r in exchange(door, probe, now_ms=0)])
    assert statuses == [200, 200, 200]
    assert door.stats["rate_limited"] == 2
    probe = message("OPTIONS", branch="z9hG4bKrate9")
    assert [r[0].status for r in exchange(door, probe, now_ms=1000)] == [200]


def test_flood_keeps_live_objects_under_the_caps():
    door = door_agent(rate_per_s=1000, rate_burst=1000, max_transactions=16, max_calls=2)
    for index in range(300):
        invite = message(
            "INVITE",
            call_id="flood-%d" % index,
            branch="z9hG4bKflood%d" % index,
            body=SDP_PCMU,
            extra=sdp_type(),
        )
        door.receive_datagram(invite, udp(FLAT), index)
        door.datagrams_to_send(index)
        assert len(door.transactions) <= 16
        assert len(door.calls) <= 2
    assert door.stats["responses_486"] == 299
    assert door.stats["transactions_reaped"] >= 284
    assert door.stats.get("internal_errors", 0) == 0


def test_keepalive_ping_gets_a_pong():
    door = door_agent()
    door.receive_datagram(b"\r\n\r\n", udp(FLAT), 0)
    assert door.datagrams_to_send(0) == [(b"\r\n", udp(FLAT))]
    assert door.stats["keepalives_in"] == 1


def test_oversized_request_gets_513():
    door = door_agent(max_message_size=600)
    big = message("OPTIONS", extra="Content-Type: text/plain\r\n", body="x" * 400)
    small = message("OPTIONS", branch="z9hG4bKsmall")
    assert len(small) < 600 < len(big)
    assert only_response(door, big).status == 513
    assert only_response(door, small).status == 200
    huge_header = message("OPTIONS", branch="z9hG4bKh", extra="Subject: %s\r\n" % ("x" * 700))
    assert exchange(door, huge_header) == []  # not even the headers fit: dropped
    assert door.stats["malformed_dropped"] == 1


def test_internal_numbers_go_to_the_domain_and_a_hash_is_percent_encoded():
    # A FRITZ!Box's internal numbers as targets: **9 (every phone), **610,
    # 11, and **610# ('#' ends dialling on the box). RFC 3261 25.1: '#' is
    # not a user character, so it goes out as %23; "%23" given already is
    # not escaped twice.
    door = door_agent(
        server="192.0.2.1",
        domain="fritz.box",
        register=False,
        targets=("**9", "**610#", "**611%23", "11"),
    )
    uris = []
    for target in ("**9", "**610#", "**611%23", "11"):
        door.call(target, 40000, 0)
        [(invite, dest)] = [
            (parse_message(wire), flow_address(flow)) for wire, flow in door.datagrams_to_send(0)
        ]
        assert dest == ("192.0.2.1", 5060)
        assert invite.headers.get("To") == "<%s>" % invite.uri
        uris.append(invite.uri)
    assert uris == [
        "sip:**9@fritz.box",
        "sip:**610%23@fritz.box",
        "sip:**611%23@fritz.box",
        "sip:11@fritz.box",
    ]
