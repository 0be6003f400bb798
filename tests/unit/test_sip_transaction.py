# Client and server transactions (RFC 3261 §17) on a virtual clock: the
# exact retransmission schedule, the ACK of a non-2xx, absorbed duplicates.

from intercom.sip.client_transaction import ClientTransaction
from intercom.sip.message import Response, make_response, parse_message
from intercom.sip.server_transaction import ServerTransaction, server_key
from intercom.sip.timers import SipTimers

PHONE = ("udp", "192.0.2.20", 5060, 0)  # a flow (intercom.sip.flow)


def request(method, branch="z9hG4bKaaa1", cseq=1, extra=""):
    text = (
        "%s sip:flat1@192.0.2.20 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.5:5060;branch=%s;rport\r\n"
        "Route: <sip:proxy.example.org;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:door@example.org>;tag=door1\r\n"
        "To: <sip:flat1@example.org>\r\n"
        "Call-ID: call-1@192.0.2.5\r\n"
        "CSeq: %d %s\r\n"
        "Contact: <sip:door@192.0.2.5:5060>\r\n"
        "%s"
        "Content-Length: 0\r\n\r\n" % (method, branch, cseq, method, extra)
    )
    return parse_message(text.encode())


def response_to(req, status, to_tag="flat9"):
    return make_response(req, status, None, to_tag)


def client(method):
    """A ClientTransaction for request(method), sent at 0 to PHONE:
    (the request, the transaction, its outbox)."""
    outbox = []
    req = request(method)
    return req, ClientTransaction(req, PHONE, SipTimers(), 0, outbox), outbox


def server(method):
    """A ServerTransaction for request(method) from PHONE, received at 0:
    (the request, the transaction, its outbox)."""
    outbox = []
    req = request(method)
    return req, ServerTransaction(req, PHONE, SipTimers(), 0, outbox), outbox


def run_until(transaction, outbox, end_ms):
    """Fire every deadline up to end_ms; return (send times, timeout time)."""
    sent = [0] * len(outbox)
    timed_out = None
    while True:
        deadline = transaction.get_timer()
        if deadline is None or deadline > end_ms:
            break
        before = len(outbox)
        if transaction.handle_timer(deadline):
            timed_out = deadline
        sent.extend([deadline] * (len(outbox) - before))
    return sent, timed_out


def test_invite_client_retransmits_at_t1_doubling_until_timer_b():
    _, transaction, outbox = client("INVITE")
    sent, timed_out = run_until(transaction, outbox, 100000)
    assert sent == [0, 500, 1500, 3500, 7500, 15500, 31500]
    assert timed_out == 32000
    assert transaction.terminated
    assert all(datagram == outbox[0] for datagram in outbox)
    assert outbox[0][1] == PHONE


def test_non_invite_client_caps_timer_e_at_t2_and_times_out_with_f():
    _, transaction, outbox = client("BYE")
    sent, timed_out = run_until(transaction, outbox, 100000)
    assert sent == [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    assert timed_out == 32000


def test_timers_are_configurable():
    outbox = []
    timers = SipTimers(t1_ms=100, t2_ms=400, t4_ms=1000)
    transaction = ClientTransaction(request("INVITE"), PHONE, timers, 0, outbox)
    sent, timed_out = run_until(transaction, outbox, 100000)
    assert sent == [0, 100, 300, 700, 1500, 3100, 6300]
    assert timed_out == 6400


def test_non_invite_proceeding_retransmits_every_t2():
    req, transaction, outbox = client("OPTIONS")
    transaction.handle_timer(500)
    assert transaction.receive_response(response_to(req, 100), 700) is True
    sent, timed_out = run_until(transaction, outbox, 14000)
    assert sent == [0, 0, 1500, 5500, 9500, 13500]
    assert timed_out is None
    assert transaction.receive_response(response_to(req, 200), 14000) is True
    assert transaction.receive_response(response_to(req, 200), 14100) is False
    assert transaction.get_timer() == 14000 + 5000  # timer K = T4
    transaction.handle_timer(19000)
    assert transaction.terminated


def test_invite_client_acks_a_failure_on_the_same_branch():
    req, transaction, outbox = client("INVITE")
    assert transaction.receive_response(response_to(req, 180), 100)
    assert transaction.get_timer() is None  # timer A and B stop after a 1xx
    busy = response_to(req, 486)
    assert transaction.receive_response(busy, 200) is True
    ack = parse_message(outbox[-1][0])
    assert ack.method == "ACK"
    assert ack.uri == req.uri
    assert ack.headers.get("CSeq") == "1 ACK"
    assert ack.headers.get("Via") == req.headers.get("Via")
    assert ack.headers.get("To") == "<sip:flat1@example.org>;tag=flat9"
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.org;lr>"]
    assert outbox[-1][1] == PHONE
    # The retransmitted 486 gets the same ACK again and is not passed up.
    assert transaction.receive_response(busy, 700) is False
    assert outbox[-1][0] == outbox[-2][0]
    assert len(outbox) == 3
    assert transaction.get_timer() == 200 + 32000  # timer D
    transaction.handle_timer(32200)
    assert transaction.terminated


def test_invite_client_passes_up_2xx_retransmissions_without_acking_them():
    req, transaction, outbox = client("INVITE")
    ok = response_to(req, 200)
    assert transaction.receive_response(ok, 100) is True
    assert transaction.receive_response(ok, 600) is True  # the TU ACKs again
    assert len(outbox) == 1  # no ACK from the transaction for a 2xx
    assert transaction.receive_response(response_to(req, 180), 700) is False
    assert transaction.get_timer() == 100 + 32000  # RFC 6026 timer M
    transaction.handle_timer(32100)
    assert transaction.terminated


def test_invite_server_resends_the_last_provisional_for_a_retransmission():
    req, transaction, outbox = server("INVITE")
    transaction.send_response(response_to(req, 180), 0)
    transaction.receive_request(request("INVITE"), 500)
    assert len(outbox) == 2
    assert outbox[1] == outbox[0]
    assert parse_message(outbox[1][0]).status == 180


def test_invite_server_retransmits_a_failure_until_timer_h():
    req, transaction, outbox = server("INVITE")
    transaction.send_response(response_to(req, 486), 0)
    sent, timed_out = run_until(transaction, outbox, 100000)
    assert sent == [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    assert timed_out == 32000
    assert transaction.ack_timed_out


def test_invite_server_stops_retransmitting_on_ack():
    req, transaction, outbox = server("INVITE")
    transaction.send_response(response_to(req, 603), 0)
    transaction.handle_timer(500)
    assert len(outbox) == 2
    transaction.receive_request(request("ACK"), 900)
    assert transaction.get_timer() == 900 + 5000  # timer I = T4
    transaction.receive_request(request("INVITE"), 1000)  # absorbed when confirmed
    assert len(outbox) == 2
    transaction.handle_timer(5900)
    assert transaction.terminated
    assert not transaction.ack_timed_out


def test_invite_server_absorbs_retransmissions_after_a_2xx():
    req, transaction, outbox = server("INVITE")
    transaction.send_response(response_to(req, 200), 0)
    transaction.receive_request(request("INVITE"), 300)
    assert len(outbox) == 1
    assert transaction.get_timer() == 32000  # RFC 6026 timer L


def test_non_invite_server_answers_retransmissions_with_the_final_response():
    req, transaction, outbox = server("BYE")
    transaction.receive_request(request("BYE"), 100)  # trying: absorbed
    assert outbox == []
    transaction.send_response(response_to(req, 200), 200)
    transaction.receive_request(request("BYE"), 700)
    assert len(outbox) == 2
    assert outbox[1] == outbox[0]
    assert transaction.get_timer() == 200 + 32000  # timer J
    transaction.handle_timer(32200)
    assert transaction.terminated


def test_server_refuses_a_second_final_response():
    req, transaction, _ = server("BYE")
    transaction.send_response(response_to(req, 200), 0)
    try:
        transaction.send_response(response_to(req, 500), 0)
    except ValueError:
        return
    raise AssertionError("a second final response was accepted")


def test_ack_matches_its_invite_and_cancel_does_not():
    invite = server_key(request("INVITE"))
    assert server_key(request("ACK")) == invite
    assert server_key(request("CANCEL")) != invite
    assert server_key(request("INVITE", branch="z9hG4bKother")) != invite


def test_responses_keep_their_reason_phrase():
    response = Response(486, "Busy Here")
    assert response.to_bytes().startswith(b"SIP/2.0 486 Busy Here\r\n")
