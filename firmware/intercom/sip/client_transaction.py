# Client transaction, INVITE and non-INVITE (RFC 3261 §17.1, RFC 6026 §7.2).
#
# One object per request we send. It retransmits the request on UDP, absorbs
# response retransmissions it has already handled, ACKs non-2xx final
# responses to INVITE itself, and reports a timeout. Its owner (call,
# registration) sees each response worth passing up.
#
# On a stream (TCP) nothing is retransmitted and nothing waits for stray
# retransmissions: timers A and E do not run, D and K are zero (§17.1.1.2,
# §17.1.2.2); B and F still time the transaction out. A stream that fails
# (refused, reset, closed) ends the transaction at once (transport_failed,
# §17.1.4), except one the request took only for its size (§18.1.1: UDP
# would not carry it): that one goes out again over UDP (fall_back_to_udp).
#
#   state        event               action                          next
#   ------------ ------------------- ------------------------------- -----------
#   INVITE (§17.1.1.2, RFC 6026 accepted state)
#   calling      timer A             resend, A doubles (no cap)      calling
#                timer B (64*T1)     report timeout                  terminated
#                1xx                 pass up                         proceeding
#                2xx                 pass up                         accepted (M)
#                300-699             send ACK, pass up               completed (D)
#   proceeding   1xx                 pass up                         proceeding
#                2xx                 pass up                         accepted (M)
#                300-699             send ACK, pass up               completed (D)
#   accepted     2xx                 pass up (the owner re-ACKs)     accepted
#                timer M (64*T1)                                     terminated
#   completed    300-699             resend the same ACK             completed
#                timer D (32 s)                                      terminated
#   non-INVITE (§17.1.2.2)
#   trying       timer E             resend, E = min(2E, T2)         trying
#                timer F (64*T1)     report timeout                  terminated
#                1xx                 pass up                         proceeding
#                200-699             pass up                         completed (K)
#   proceeding   timer E             resend, E = T2                  proceeding
#                timer F (64*T1)     report timeout                  terminated
#                1xx                 pass up                         proceeding
#                200-699             pass up                         completed (K)
#   completed    any response        absorb                          completed
#                timer K (T4)                                        terminated
#   any kind
#   (not ended)  stream failed       report timeout (transport_error, terminated
#                                    transport_reason: the board's, as
#                                    "tls_expired", else "connection failed")
#   calling,     stream failed, size resend over UDP, timers restart calling/trying
#   trying       switch (§18.1.1)
#
# What it keeps: the request's bytes until the final response (only
# retransmissions need them), the request until a completed transaction's
# owner has acted on that response (response_handled(); an accepted
# INVITE keeps it: its call reads it), never the responses. A Pico W's
# heap meets several completed transactions during a call (Timer K: the
# REGISTERs of the last 5 s; Timer D: a challenged INVITE).
#
# The ACK for a non-2xx response (§17.1.1.3) reuses the INVITE's top Via
# (same branch), Request-URI, From, Call-ID, Route and CSeq number, takes To
# (with the tag) from the response and says ACK in CSeq.

from intercom.compat import ticks_add
from intercom.sip.flow import UDP, flow_address, is_stream, make_flow, via_transport
from intercom.sip.message import Headers, Request, parse_cseq, parse_via
from intercom.sip.timers import GAVE_UP, TransactionDeadlines, is_due

CALLING = "calling"
TRYING = "trying"
PROCEEDING = "proceeding"
ACCEPTED = "accepted"
COMPLETED = "completed"
TERMINATED = "terminated"


class ClientTransaction(TransactionDeadlines):
    """Sends `request` on `flow` (intercom.sip.flow) now and keeps it alive
    until it ends.

    Datagrams go to `outbox` (a list of (bytes, flow)). `owner` is free
    for the transaction user to mark whose transaction this is.
    size_switched: the request left UDP for its size (§18.1.1).
    """

    def __init__(self, request, flow, timers, now_ms, outbox, owner=None, size_switched=False):
        self.request = request
        self.flow = flow
        self.timers = timers
        self.outbox = outbox
        self.owner = owner
        self.method = request.method
        self.is_invite = request.method == "INVITE"
        self.branch = parse_via(request.headers.get("Via")).branch
        self.key = client_key(self.branch, self.method)
        self.size_switched = size_switched
        self.end_at = None
        self.ack_wire = None
        self.timed_out = False
        self.transport_error = False
        self.transport_reason = None
        self._send_first(now_ms)

    def _send_first(self, now_ms):
        timers = self.timers
        self.wire = self._request().to_bytes()
        self.state = CALLING if self.is_invite else TRYING
        self.interval = timers.t1
        self.retransmit_at = None if is_stream(self.flow) else ticks_add(now_ms, timers.t1)
        self.timeout_at = ticks_add(now_ms, timers.transaction_timeout)
        self.outbox.append((self.wire, self.flow))

    @property
    def terminated(self):
        return self.state == TERMINATED

    def receive_response(self, response, now_ms):
        """Feed a response matched to us; True when the owner should see it."""
        status = response.status
        if self.state == TERMINATED:
            return False
        if self.state == COMPLETED:
            if self.is_invite and status >= 300 and self.ack_wire is not None:
                self.outbox.append((self.ack_wire, self.flow))
            return False
        if self.state == ACCEPTED:
            return 200 <= status < 300
        if status < 200:
            self.state = PROCEEDING
            if self.is_invite:
                self.retransmit_at = None  # timer A stops (§17.1.1.2)
                self.timeout_at = None  # the TU's ring timeout takes over
            return True
        self.wire = None  # nothing is retransmitted after a final response
        self.retransmit_at = None
        self.timeout_at = None
        reliable = is_stream(self.flow)
        if not self.is_invite:
            self._finish(COMPLETED, 0 if reliable else self.timers.t4, now_ms)
        elif status < 300:
            self._finish(ACCEPTED, self.timers.transaction_timeout, now_ms)
        else:
            self.ack_wire = self._ack_for(response).to_bytes()
            self.outbox.append((self.ack_wire, self.flow))
            self._finish(COMPLETED, 0 if reliable else self.timers.timer_d, now_ms)
        return True

    def response_handled(self):
        """The owner has acted on the response just passed up. Completed,
        the transaction only absorbs retransmitted responses (and resends
        its ACK): it lets the request go, which no one reads any more (a
        Pico W's call meets several such transactions on its heap)."""
        if self.state == COMPLETED:
            self.request = None

    def handle_timer(self, now_ms):
        """Run what is due; True when the transaction timed out just now."""
        if self.state == TERMINATED:
            return False
        expired = self.expire(now_ms)
        if expired is not None:
            self.state = TERMINATED
            self.timed_out = expired == GAVE_UP
            return self.timed_out
        if is_due(self.retransmit_at, now_ms):
            self.outbox.append((self.wire, self.flow))
            if self.state == PROCEEDING:
                self.interval = self.timers.t2
            else:
                self.interval = self.timers.next_interval(self.interval, not self.is_invite)
            self.retransmit_at = ticks_add(self.retransmit_at, self.interval)
        return False

    def transport_failed(self, now_ms, reason=None):
        """The stream under us failed (§17.1.4); True when the owner should
        hear of it (as of a timeout), False when the request went out again
        over UDP or the transaction had ended anyway."""
        if self.state in (COMPLETED, ACCEPTED, TERMINATED):
            return False
        if self.size_switched and self.state in (CALLING, TRYING):
            self.size_switched = False
            self._use_udp()
            self._send_first(now_ms)
            return False
        self.state = TERMINATED
        self.retransmit_at = self.timeout_at = self.end_at = None
        self.timed_out = True
        self.transport_error = True
        self.transport_reason = reason or "connection failed"
        return True

    def _use_udp(self):
        """§18.1.1: the connection was refused, so UDP after all; the top
        Via names UDP again (same branch: the same transaction)."""
        self.flow = make_flow(UDP, flow_address(self.flow))
        headers = self._request().headers
        top = parse_via(headers.get("Via"))  # ours: the only Via we send
        top.transport = via_transport(self.flow)
        headers.set("Via", top.to_string())

    def _request(self):
        """The request; only a completed transaction has let it go, and
        nothing reads it then (our misuse raises)."""
        request = self.request
        if request is None:
            raise ValueError("transaction %r is completed: its request is gone" % (self.key,))
        return request

    def _finish(self, state, wait_ms, now_ms):
        self.state = state
        self.end_at = ticks_add(now_ms, wait_ms)

    def _ack_for(self, response):
        request = self._request()
        original = request.headers
        headers = Headers()
        headers.add("Via", original.get("Via"))
        for route in original.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", original.get("From"))
        headers.add("To", response.headers.get("To"))
        headers.add("Call-ID", original.get("Call-ID"))
        number = parse_cseq(original.get("CSeq"))[0]
        headers.add("CSeq", "%d ACK" % number)
        return Request("ACK", request.uri, headers)


def client_key(branch, method):
    """Match key for responses (§17.1.3): top Via branch plus CSeq method."""
    return (branch, method)
