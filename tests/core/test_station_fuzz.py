# Fuzzing the whole station (CPython only, hypothesis): a door and a flat
# phone in memory (tests/unit/station_harness.py), with the SDP of one
# message mutated on the wire: the flat's INVITE (it calls the door), its
# 183 or 200 (the door calls it), its ACK (a delayed-offer call: the answer
# comes in the ACK) or a re-INVITE in the middle of the call.
#
# Property: whatever the SDP says, no exception leaves any Station input,
# and after the flat hangs up (or the door gives up) the door is idle with
# no call left in its SIP agent: the next visitor can ring.

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from intercom import sdp
from intercom.sip.message import Request, parse_message
from unit.station_harness import FLAT_RTP, Pair, door_config

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NUMBERS = st.one_of(
    st.integers(-3, 130),
    st.sampled_from([0, 1, 5, 10, 15, 30, 40, 60, 90, 120, 255, 1000, 65535, 65536, 2**31, 2**64]),
)
PAYLOAD_TYPES = st.one_of(st.sampled_from([0, 8, 18, 96, 101, 127]), st.integers(-1, 300))
ADDRESSES = st.sampled_from(
    ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "999.1.1.1", "host.example", "", "1.2.3"]
)
WORDS = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=12)


def _line(parts):
    return "".join(str(part) for part in parts)


SDP_LINES = st.one_of(
    st.tuples(st.just("a=ptime:"), NUMBERS).map(_line),
    st.tuples(st.just("a=maxptime:"), NUMBERS).map(_line),
    st.tuples(
        st.just("a=rtpmap:"),
        PAYLOAD_TYPES,
        st.just(" "),
        st.sampled_from(["PCMU", "PCMA", "telephone-event", "opus", "pcmu", ""]),
        st.just("/"),
        st.sampled_from([8000, 16000, 48000, 0, 1]),
    ).map(_line),
    st.tuples(st.just("a=fmtp:"), PAYLOAD_TYPES, st.just(" "), WORDS).map(_line),
    st.tuples(
        st.just("m=audio "),
        NUMBERS,
        st.sampled_from([" RTP/AVP ", " RTP/SAVP ", " UDP/TLS/RTP/SAVPF ", " "]),
        st.lists(PAYLOAD_TYPES, max_size=4).map(lambda pts: " ".join(str(p) for p in pts)),
    ).map(_line),
    st.tuples(st.just("m=video "), NUMBERS, st.just(" RTP/AVP 0")).map(_line),
    st.tuples(st.sampled_from(["c=IN IP4 ", "c=IN IP6 ", "c=IN ", "c="]), ADDRESSES).map(_line),
    st.sampled_from(["a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv", "a=rtcp:9"]),
    st.tuples(st.sampled_from(["b=AS:", "o=x ", "s=", "t=", "v=", "a="]), WORDS).map(_line),
    WORDS,
)

EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 20), SDP_LINES),
        st.tuples(st.just("insert"), st.integers(0, 20), SDP_LINES),
        st.tuples(st.just("delete"), st.integers(0, 20), st.just("")),
        st.tuples(st.just("bytes"), st.integers(0, 400), st.binary(min_size=1, max_size=4)),
    ),
    min_size=1,
    max_size=4,
)


def mutate(body, edits):
    """body (SDP bytes) with the edits applied, line by line or raw bytes."""
    lines = bytes(body).split(b"\r\n")
    for kind, index, value in edits:
        if kind == "bytes":
            raw = b"\r\n".join(lines)
            position = min(index, len(raw))
            raw = raw[:position] + value + raw[position + len(value) :]
            lines = raw.split(b"\r\n")
            continue
        position = min(index, len(lines))
        text = value.encode("utf-8", "surrogatepass")
        if kind == "set" and position < len(lines):
            lines[position] = text
        elif kind == "insert":
            lines.insert(position, text)
        elif kind == "delete" and position < len(lines):
            del lines[position]
    return b"\r\n".join(lines)


def rewrite(station, change):
    """station's outgoing SIP passes through change(message) -> message."""
    original = station.sip_datagrams

    def rewritten(now_ms):
        out = []
        for data, address in original(now_ms):
            message = parse_message(bytes(data))
            if message is not None:
                message = change(message)
                data = message.to_bytes()
            out.append((data, address))
        return out

    station.sip_datagrams = rewritten


def with_body(message, body):
    message.body = body
    message.headers.set("Content-Type", "application/sdp")
    message.headers.remove("Content-Length")
    return message


def answer_to(offer):
    body, _ = sdp.answer(offer, 77, 1, "127.0.0.1", FLAT_RTP, ("PCMU", "PCMA"))
    return body


def start_rewritten_call(pair, door_change, flat_change, caller):
    """pair with each side's outgoing SIP rewritten by its change and the
    caller's button pressed at 1 s."""
    rewrite(pair.door, door_change)
    rewrite(pair.flat, flat_change)
    pair.press(caller, 1000)
    return pair


def door_calls_flat(kind, edits):
    pair = Pair()
    door_offer = []

    def door_change(message):
        if getattr(message, "method", None) == "INVITE" and message.body:
            door_offer.append(message.body)
        return message

    def flat_change(message):
        status = getattr(message, "status", None)
        if kind == "183" and status == 180 and door_offer:
            message.status = 183
            message.reason = "Session Progress"
            return with_body(message, mutate(answer_to(door_offer[-1]), edits))
        if kind == "200" and status == 200 and message.body:
            return with_body(message, mutate(message.body, edits))
        return message

    return start_rewritten_call(pair, door_change, flat_change, pair.door)


def flat_calls_door(kind, edits):
    config = door_config()
    config["call"]["answer_from"] = ["sip:flat1@127.0.0.1"]
    pair = Pair(door_cfg=config)
    door_offer = []

    def door_change(message):
        if getattr(message, "status", None) == 200 and message.body:
            door_offer.append(message.body)
        return message

    def flat_change(message):
        method = getattr(message, "method", None)
        if method == "INVITE" and kind == "invite":
            return with_body(message, mutate(message.body, edits))
        if method == "INVITE" and kind == "ack":
            message.body = b""
            message.headers.remove("Content-Type")
            message.headers.remove("Content-Length")
        elif method == "ACK" and kind == "ack" and door_offer:
            return with_body(message, mutate(answer_to(door_offer[-1]), edits))
        return message

    return start_rewritten_call(pair, door_change, flat_change, pair.flat)


def reinvite(pair, edits):
    """The flat sends a re-INVITE with a mutated offer inside its dialog."""
    calls = list(pair.flat.agent.calls.values())
    if not calls or calls[0].dialog is None:
        return
    call = calls[0]
    context = pair.flat.agent.context
    request = call.dialog.create_request("INVITE")
    request.headers.add("Contact", context.contact_value(call.transport))
    offer = call.local_sdp if call.local_sdp else b"v=0\r\n"
    with_body(request, mutate(offer, edits))
    assert isinstance(request, Request)
    context.send_request(request, context.dialog_flow(call.dialog, call.transport), pair.now, None)
    pair.route()


def play_out(pair):
    """Digits, talk, the flat hangs up; then long enough for every timer."""
    if pair.flat.media is not None:
        try:
            pair.flat.media.send_digits("1234")
        except ValueError:  # the flat's media has no telephone-event: no digits
            pass
    pair.run(1500)
    pair.flat.hangup(pair.now)
    pair.route()
    pair.run(40000)  # 64*T1 and the doorbell's own timeouts


def check_recovered(pair):
    assert pair.door.state == "idle", pair.names("door")
    assert pair.door.media is None
    assert not pair.door.agent.calls, list(pair.door.agent.calls)


MESSAGE_KINDS = ("invite", "183", "200", "ack", "reinvite")


@FUZZ
@given(kind=st.sampled_from(MESSAGE_KINDS), edits=EDITS)
# a=ptime:10 (line 9 of an answer, 10 of an offer): common on real phones
@example(kind="200", edits=[("set", 9, "a=ptime:10")])
@example(kind="183", edits=[("set", 9, "a=ptime:10")])
@example(kind="ack", edits=[("set", 9, "a=ptime:10")])
@example(kind="invite", edits=[("set", 10, "a=ptime:10")])
@example(kind="reinvite", edits=[("set", 9, "a=ptime:10")])
def test_no_sdp_makes_the_station_raise_or_keeps_the_door_from_the_next_call(kind, edits):
    if kind in ("invite", "ack"):
        pair = flat_calls_door(kind, edits)
    else:
        pair = door_calls_flat(kind, edits)
        if kind == "reinvite":
            reinvite(pair, edits)
            pair.run(500)
    play_out(pair)
    check_recovered(pair)
