# Call transfer at the SIP layer (intercom/sip/transfer.py, RFC 3515 REFER,
# RFC 3891 Replaces): the flat in a call with the door sends REFER, by hand
# here, and what the door answers, NOTIFYs and calls is read off the wire.
# The app's decision (which targets are allowed) is the station's; here the
# test accepts or refuses by the agent's methods.

from intercom.sip.agent import Agent
from intercom.sip.flow import TCP, make_flow
from intercom.sip.message import Request, make_response, parse_message
from intercom.sip.transfer import read_refer, read_replaces
from machine_events import drain
from sip_harness import FLAT, CountingRandom, door_settings, udp
from test_sip_agent import SDP_PCMU, answered_incoming_call, exchange, message, only_response

FLAT2 = ("192.0.2.21", 5060)
FLAT2_URI = "sip:flat2@192.0.2.21"
SDP_FLAT2 = SDP_PCMU.replace("192.0.2.20", "192.0.2.21")


def transfer_door(max_calls=4):
    settings = door_settings(transfer_to=("sip:flat1@192.0.2.20", FLAT2_URI), max_calls=max_calls)
    return Agent(settings, CountingRandom(5))


def refer(to_tag, refer_to, cseq=2, branch="z9hG4bKrefer", extra=""):
    return message(
        "REFER",
        branch=branch,
        cseq=cseq,
        to_tag=to_tag,
        extra="Refer-To: %s\r\n%s" % (refer_to, extra),
    )


def sent(agent, now_ms):
    return [(parse_message(wire), flow) for wire, flow in agent.datagrams_to_send(now_ms)]


def label(message_):
    return message_.method if isinstance(message_, Request) else message_.status


def sipfrag(notify):
    return bytes(notify.body).decode()


def asked_transfer(refer_to="<%s>" % FLAT2_URI, extra=""):
    door = transfer_door()
    to_tag = answered_incoming_call(door)
    replies = exchange(door, refer(to_tag, refer_to, extra=extra), now_ms=100)
    assert replies == []  # the app answers the REFER
    requested = drain(door)
    assert len(requested) == 1 and requested[0]["event"] == "transfer_requested"
    return door, to_tag, requested[0]


def accepted_transfer(refer_to="<%s>" % FLAT2_URI):
    door, to_tag, requested = asked_transfer(refer_to)
    new_call_id = door.accept_transfer("hand-1", FLAT2_URI, 40002, 110)
    out = sent(door, 110)
    assert [label(m) for m, _ in out] == [202, "NOTIFY", "INVITE"]
    return door, to_tag, new_call_id, out


def test_a_refer_from_the_party_in_the_call_asks_the_app():
    door, to_tag, requested = asked_transfer()
    assert requested == {
        "event": "transfer_requested",
        "call_id": "hand-1",
        "target": FLAT2_URI,
        "attended": False,
    }


def test_an_accepted_refer_gets_202_notify_trying_and_the_door_calls_the_target():
    door, to_tag, new_call_id, out = accepted_transfer()
    accepted, notify, invite = (m for m, _ in out)
    assert accepted.headers.get("To").endswith("tag=" + to_tag)
    assert accepted.headers.get("Contact") is not None
    # RFC 3515 2.4.5: NOTIFY in the REFER's dialog, sipfrag of the progress
    assert notify.headers.get("Event") == "refer;id=2"
    assert notify.headers.get("Subscription-State").startswith("active")
    assert notify.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    assert sipfrag(notify) == "SIP/2.0 100 Trying\r\n"
    assert notify.headers.get("From").endswith("tag=" + to_tag)
    assert notify.headers.get("To").endswith("tag=flat1tag")
    assert out[1][1][1] == FLAT[0]  # to the flat in the call
    # the new call: to the target, naming the referrer (RFC 3892)
    assert invite.uri == FLAT2_URI
    assert invite.headers.get("Referred-By") == "<sip:flat1@192.0.2.20>"
    assert invite.headers.get("Replaces") is None
    assert invite.headers.get("Call-ID") == new_call_id != "hand-1"
    assert out[2][1][1] == FLAT2[0]


def reply(door, invite, status, now_ms):
    response = make_response(invite, status, None, "flat2tag")
    if status == 200:
        response.headers.add("Contact", "<%s>" % FLAT2_URI)
        response.headers.add("Content-Type", "application/sdp")
        response.body = SDP_FLAT2.encode()
    door.receive_datagram(response.to_bytes(), udp(FLAT2), now_ms)
    return sent(door, now_ms)


def new_party_answers(status):
    """An accepted transfer whose new party answers `status`: the door ACKs
    that and NOTIFYs the referrer. The door, the call's to-tag, the new
    call's Call-ID and that NOTIFY."""
    door, to_tag, new_call_id, out = accepted_transfer()
    drain(door)
    after = reply(door, out[2][0], status, 300)
    assert sorted(str(label(m)) for m, _ in after) == ["ACK", "NOTIFY"]
    notify = [m for m, _ in after if label(m) == "NOTIFY"][0]
    return door, to_tag, new_call_id, notify


def test_the_answer_of_the_new_party_is_notified_as_200_and_the_subscription_ends():
    door, _, new_call_id, notify = new_party_answers(200)
    assert sipfrag(notify) == "SIP/2.0 200 OK\r\n"
    assert notify.headers.get("Subscription-State") == "terminated;reason=noresource"
    answered = drain(door)
    assert [e["event"] for e in answered] == ["answered"]
    assert answered[0]["call_id"] == new_call_id
    # the old call is still up: the app ends it (reason transferred)
    door.hangup("hand-1", 310, "transferred")
    bye = sent(door, 310)
    assert [label(m) for m, _ in bye] == ["BYE"]
    assert bye[0][0].headers.get("Call-ID") == "hand-1"
    ok = make_response(bye[0][0], 200, None, None)
    door.receive_datagram(ok.to_bytes(), udp(FLAT), 320)
    ended = drain(door)
    assert ended[-1]["event"] == "call_ended" and ended[-1]["reason"] == "transferred"


def test_a_busy_target_is_notified_as_486_and_the_old_call_goes_on():
    door, to_tag, _, notify = new_party_answers(486)
    assert sipfrag(notify) == "SIP/2.0 486 Busy Here\r\n"
    assert notify.headers.get("Subscription-State").startswith("terminated")
    failed = drain(door)
    assert failed[0]["event"] == "call_failed" and failed[0]["reason"] == "busy"
    assert door.calls["hand-1"].state == "confirmed"
    # a second REFER may follow now
    again = refer(to_tag, "<%s>" % FLAT2_URI, cseq=3, branch="z9hG4bKrefer2")
    assert exchange(door, again, now_ms=400) == []
    assert drain(door)[0]["event"] == "transfer_requested"


def test_an_attended_transfer_carries_replaces_into_the_new_invite():
    replaces = "abc%40192.0.2.21%3Bto-tag%3Dt2%3Bfrom-tag%3Df1"
    door, to_tag, requested = asked_transfer("<%s?Replaces=%s>" % (FLAT2_URI, replaces))
    assert requested["attended"] is True and requested["target"] == FLAT2_URI
    door.accept_transfer("hand-1", FLAT2_URI, 40002, 110)
    invite = [m for m, _ in sent(door, 110) if label(m) == "INVITE"][0]
    assert invite.uri == FLAT2_URI
    assert invite.headers.get("Replaces") == "abc@192.0.2.21;to-tag=t2;from-tag=f1"


def test_no_room_for_the_new_call_is_notified_as_503_and_the_call_goes_on():
    door = transfer_door(max_calls=1)
    to_tag = answered_incoming_call(door)
    assert exchange(door, refer(to_tag, "<%s>" % FLAT2_URI), now_ms=100) == []
    drain(door)
    assert door.accept_transfer("hand-1", FLAT2_URI, 40002, 110) is None
    out = sent(door, 110)
    assert [label(m) for m, _ in out] == [202, "NOTIFY", "NOTIFY"]
    assert sipfrag(out[2][0]) == "SIP/2.0 503 Service Unavailable\r\n"
    assert out[2][0].headers.get("Subscription-State").startswith("terminated")
    assert list(door.calls) == ["hand-1"] and door.calls["hand-1"].state == "confirmed"


def test_the_app_refusing_gets_its_status_and_nothing_else_happens():
    door, to_tag, requested = asked_transfer()
    door.refuse_transfer("hand-1", 603, 110)
    out = sent(door, 110)
    assert [label(m) for m, _ in out] == [603]
    assert door.calls["hand-1"].state == "confirmed"
    assert len(door.calls) == 1


def refused(door, data, now_ms=100):
    response = only_response(door, data, now_ms=now_ms)
    assert door.next_event() is None  # the app never hears of it
    assert len(door.calls) == 1  # and nobody is called
    return response.status


def test_refers_that_are_malformed_or_name_other_headers_are_refused():
    door = transfer_door()
    to_tag = answered_incoming_call(door)
    cases = [
        ("<sip:flat2@192.0.2.21?Route=%3Csip:evil.example%3E>", 403),
        ("<sip:flat2@192.0.2.21?Replaces=a%3Bto-tag%3Db%3Bfrom-tag%3Dc&Subject=x>", 403),
        ("<sip:flat2@192.0.2.21?Replaces=only-a-call-id>", 400),
        ("<tel:+4930123>", 400),
        ("<http://evil.example/>", 400),
        ("not a uri", 400),
    ]
    for index, (refer_to, status) in enumerate(cases):
        data = refer(to_tag, refer_to, cseq=2 + index, branch="z9hG4bKbad%d" % index)
        assert refused(door, data) == status, refer_to
    no_refer_to = message("REFER", branch="z9hG4bKnone", cseq=20, to_tag=to_tag)
    assert refused(door, no_refer_to) == 400
    two = refer(
        to_tag, "<%s>" % FLAT2_URI, cseq=21, branch="z9hG4bKtwo", extra="Refer-To: <sip:x@y>\r\n"
    )
    assert refused(door, two) == 400


def test_refers_from_outside_the_dialog_or_from_another_host_are_refused():
    door = transfer_door()
    to_tag = answered_incoming_call(door)
    # no To tag: outside any dialog (it would make the door call anyone)
    assert refused(door, refer(None, "<%s>" % FLAT2_URI, branch="z9hG4bKout")) == 403
    # another To tag, or another From tag: not our dialog
    assert refused(door, refer("someone-else", "<%s>" % FLAT2_URI, branch="z9hG4bKt")) == 481
    forged = refer(to_tag, "<%s>" % FLAT2_URI, branch="z9hG4bKf").replace(
        b"tag=flat1tag", b"tag=forged"
    )
    assert refused(door, forged) == 481
    # the right tags from another trusted host than the call's peer
    other = ("192.0.2.21", 5060)
    data = refer(to_tag, "<%s>" % FLAT2_URI, cseq=3, branch="z9hG4bKother")
    replies = exchange(door, data, source=other, now_ms=100)
    assert [m.status for m, _ in replies] == [403]
    assert door.next_event() is None and len(door.calls) == 1


def test_a_refer_before_the_ack_or_during_a_transfer_is_refused():
    door = transfer_door()
    exchange(door, message("INVITE", body=SDP_PCMU, extra="Content-Type: application/sdp\r\n"))
    door.next_event()
    door.answer("hand-1", 40000, 10)
    ok = sent(door, 10)[0][0]
    to_tag = ok.headers.get("To").split("tag=")[1]
    assert refused(door, refer(to_tag, "<%s>" % FLAT2_URI)) == 403  # not confirmed yet
    door, to_tag, new_call_id, out = accepted_transfer()
    second = refer(to_tag, "<%s>" % FLAT2_URI, cseq=3, branch="z9hG4bKrefer2")
    replies = exchange(door, second, now_ms=200)
    assert [m.status for m, _ in replies] == [491]


def replacing_invite(to_tag, replaces, branch="z9hG4bKrepl", call_id="new-1"):
    return message(
        "INVITE",
        call_id=call_id,
        branch=branch,
        body=SDP_PCMU,
        extra="Content-Type: application/sdp\r\nReplaces: %s\r\n" % replaces,
    )


def test_an_invite_with_replaces_for_our_call_is_offered_to_the_app():
    door = transfer_door()
    to_tag = answered_incoming_call(door)
    replaces = "hand-1;to-tag=%s;from-tag=flat1tag" % to_tag
    replies = exchange(door, replacing_invite(to_tag, replaces), now_ms=100)
    assert [m.status for m, _ in replies] == [180]  # not 486: it replaces the live call
    incoming = door.next_event()
    assert incoming["event"] == "incoming_call" and incoming["replaces"] == "hand-1"


def test_an_invite_with_replaces_for_no_call_of_ours_is_refused():
    door = transfer_door()
    to_tag = answered_incoming_call(door)
    cases = [
        ("hand-1;to-tag=%s;from-tag=other" % to_tag, 481),
        ("hand-1;to-tag=flat1tag;from-tag=%s" % to_tag, 481),  # tags swapped
        ("nope;to-tag=%s;from-tag=flat1tag" % to_tag, 481),
        ("hand-1;to-tag=%s;from-tag=flat1tag;early-only" % to_tag, 486),
        ("hand-1", 400),
    ]
    for index, (replaces, status) in enumerate(cases):
        data = replacing_invite(to_tag, replaces, "z9hG4bKr%d" % index, "new-%d" % index)
        replies = exchange(door, data, now_ms=100)
        assert [m.status for m, _ in replies] == [status], replaces
        assert door.next_event() is None
    assert list(door.calls) == ["hand-1"]


def test_read_refer_and_read_replaces():
    def request(*refer_tos):
        headers = "".join("Refer-To: %s\r\n" % value for value in refer_tos)
        return parse_message(
            refer("t", "<sip:a@b>", extra="").replace(b"Refer-To: <sip:a@b>\r\n", headers.encode())
        )

    target, replaces, referred_by = read_refer(request("<sip:flat2@example.org;user=phone>"))
    assert (target, replaces) == ("sip:flat2@example.org;user=phone", None)
    assert referred_by == "<sip:flat1@192.0.2.20>"
    assert read_refer(request("sip:flat2@example.org"))[0] == "sip:flat2@example.org"
    referred = parse_message(
        refer("t", "<sip:a@b>", extra='Referred-By: "Flat 1" <sip:f1@b?X=y>;cid="1@b"\r\n')
    )
    assert read_refer(referred)[2] == "<sip:f1@b>"
    garbage = parse_message(refer("t", "<sip:a@b>", extra="Referred-By: <http://x>\r\n"))
    assert read_refer(garbage)[2] == "<sip:flat1@192.0.2.20>"  # the From
    attended = request("<sip:a@b?Replaces=id%3Bfrom-tag%3Db%3Bx%3Dy%3Bto-tag%3Da>")
    assert read_refer(attended)[1] == "id;to-tag=a;from-tag=b"
    assert read_replaces("id@host;to-tag=a;from-tag=b") == ("id@host", "a", "b", False)
    assert read_replaces("id;from-tag=b;to-tag=a;early-only") == ("id", "a", "b", True)
    assert read_replaces("id;to-tag=a") is None
    assert read_replaces(";to-tag=a;from-tag=b") is None


def test_a_transfer_over_tcp_answers_on_the_connection_and_notifies_over_tcp():
    door = transfer_door()
    connection = make_flow(TCP, FLAT, 7)
    invite = message("INVITE", body=SDP_PCMU, extra="Content-Type: application/sdp\r\n")
    door.receive_datagram(invite.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"), connection, 0)
    door.next_event()
    door.answer("hand-1", 40000, 10)
    ok = [(m, flow) for m, flow in sent(door, 10) if label(m) == 200][0]
    assert ok[1] == connection
    to_tag = ok[0].headers.get("To").split("tag=")[1]
    ack = message("ACK", branch="z9hG4bKack", to_tag=to_tag).replace(b"/UDP", b"/TCP")
    door.receive_datagram(ack, connection, 20)
    assert door.next_event()["event"] == "answered"
    data = refer(to_tag, "<%s>" % FLAT2_URI).replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    door.receive_datagram(data, connection, 100)
    assert door.next_event()["event"] == "transfer_requested"
    door.accept_transfer("hand-1", FLAT2_URI, 40002, 110)
    out = sent(door, 110)
    accepted = [flow for m, flow in out if label(m) == 202]
    notify = [(m, flow) for m, flow in out if label(m) == "NOTIFY"]
    assert accepted == [connection]  # RFC 3261 18.2.2: on the REFER's connection
    assert notify[0][1][0] == TCP and notify[0][1][1] == FLAT[0]  # the dialog's transport
    assert notify[0][0].headers.get("Via").startswith("SIP/2.0/TCP")
