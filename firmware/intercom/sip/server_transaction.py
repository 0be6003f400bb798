# Server transaction, INVITE and non-INVITE (RFC 3261 §17.2, RFC 6026 §7.1).
#
# One object per request we receive. It absorbs retransmitted requests
# (answering them with the last response we sent, so an INVITE never rings
# twice), retransmits non-2xx final responses to INVITE until the ACK comes,
# and tells its owner when that ACK never came. Responses go on the flow
# the request came on (§18.2.2: on a stream, its very connection). On a
# stream, timer G does not run and I and J are zero (§17.2.1, §17.2.2).
#
#   state        event                  action                        next
#   ------------ ---------------------- ----------------------------- -----------
#   INVITE (§17.2.1, RFC 6026 accepted state)
#   proceeding   request retransmit     resend last provisional       proceeding
#                send 1xx               send                          proceeding
#                send 2xx               send                          accepted (L)
#                send 300-699           send, G = T1                  completed (H)
#   accepted     request retransmit     absorb                        accepted
#                send 2xx (TU retrans.) send                          accepted
#                timer L (64*T1)                                      terminated
#   completed    request retransmit     resend final                  completed
#                timer G                resend final, G=min(2G, T2)   completed
#                ACK                    absorb                        confirmed (I)
#                timer H (64*T1)        report "no ACK"               terminated
#   confirmed    ACK / request          absorb                        confirmed
#                timer I (T4)                                         terminated
#   non-INVITE (§17.2.2)
#   trying       request retransmit     absorb                        trying
#                send 1xx               send                          proceeding
#                send 200-699           send                          completed (J)
#   proceeding   request retransmit     resend last provisional       proceeding
#                send 1xx               send                          proceeding
#                send 200-699           send                          completed (J)
#   completed    request retransmit     resend final                  completed
#                timer J (64*T1)                                      terminated

from intercom.compat import ticks_add
from intercom.sip.flow import is_stream
from intercom.sip.message import parse_cseq, parse_via
from intercom.sip.timers import GAVE_UP, TransactionDeadlines, is_due

TRYING = "trying"
PROCEEDING = "proceeding"
ACCEPTED = "accepted"
COMPLETED = "completed"
CONFIRMED = "confirmed"
TERMINATED = "terminated"


class ServerTransaction(TransactionDeadlines):
    """Holds the responses to `request`, sent on `flow` via `outbox`."""

    def __init__(self, request, flow, timers, now_ms, outbox, owner=None):
        self.request = request
        self.flow = flow
        self.timers = timers
        self.outbox = outbox
        self.owner = owner
        self.method = request.method
        self.is_invite = request.method == "INVITE"
        self.key = server_key(request)
        self.state = PROCEEDING if self.is_invite else TRYING
        self.last_response = None
        self.last_wire = None
        self.interval = timers.t1
        self.retransmit_at = None
        self.timeout_at = None
        self.end_at = None
        self.ack_timed_out = False

    @property
    def terminated(self):
        return self.state == TERMINATED

    @property
    def status(self):
        """Status code of the last response sent, 0 before any."""
        return self.last_response.status if self.last_response is not None else 0

    def send_response(self, response, now_ms):
        """Send a response from the transaction user."""
        status = response.status
        if self.state in (COMPLETED, CONFIRMED, TERMINATED):
            raise ValueError("final response already sent in state %s" % self.state)
        if self.state == ACCEPTED and not 200 <= status < 300:
            raise ValueError("only 2xx retransmissions after a 2xx")
        self.last_response = response
        self.last_wire = response.to_bytes()
        self.outbox.append((self.last_wire, self.flow))
        if status < 200:
            if self.state == TRYING:
                self.state = PROCEEDING
            return
        if self.state == ACCEPTED:
            return
        reliable = is_stream(self.flow)
        if not self.is_invite:
            self._finish(COMPLETED, 0 if reliable else self.timers.transaction_timeout, now_ms)
        elif status < 300:
            self._finish(ACCEPTED, self.timers.transaction_timeout, now_ms)
        else:
            self.state = COMPLETED
            if not reliable:
                self.retransmit_at = ticks_add(now_ms, self.timers.t1)
            self.timeout_at = ticks_add(now_ms, self.timers.transaction_timeout)

    def receive_request(self, request, now_ms):
        """A retransmission of our request, or the ACK of a non-2xx final."""
        if request.method == "ACK":
            if self.state == COMPLETED:
                self.retransmit_at = None
                self.timeout_at = None
                self._finish(CONFIRMED, 0 if is_stream(self.flow) else self.timers.t4, now_ms)
            return
        if self.state in (PROCEEDING, COMPLETED) and self.last_wire is not None:
            self.outbox.append((self.last_wire, self.flow))

    def handle_timer(self, now_ms):
        """Run what is due; True when the ACK for a non-2xx never came."""
        if self.state == TERMINATED:
            return False
        expired = self.expire(now_ms)
        if expired is not None:
            self.state = TERMINATED
            self.ack_timed_out = expired == GAVE_UP
            return self.ack_timed_out
        if is_due(self.retransmit_at, now_ms):
            self.outbox.append((self.last_wire, self.flow))
            self.interval = self.timers.next_interval(self.interval, True)
            self.retransmit_at = ticks_add(self.retransmit_at, self.interval)
        return False

    def _finish(self, state, wait_ms, now_ms):
        self.state = state
        self.end_at = ticks_add(now_ms, wait_ms)


def server_key(request):
    """Match key for requests (§17.2.3).

    With an RFC 3261 branch: branch, sent-by and method, where ACK matches
    the INVITE it acknowledges. Without one (RFC 2543 peers): Call-ID, From
    tag, CSeq number, top Via and method.
    """
    headers = request.headers
    method = "INVITE" if request.method == "ACK" else request.method
    top_via = headers.get("Via") or ""
    via = parse_via(top_via)
    branch = via.branch or ""
    if branch.startswith("z9hG4bK"):
        return (branch, via.host, via.port, method)
    cseq_number = parse_cseq(headers.get("CSeq"))[0]
    return (headers.get("Call-ID"), headers.get("From"), cseq_number, top_via, method)
