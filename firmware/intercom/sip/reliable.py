# Reliable provisional responses (RFC 3262, option tag 100rel), both ways.
#
# As the callee (ReliableRinging, one per reliable 180 of ours):
#
#   event                                   action                          next
#   --------------------------------------- ------------------------------- ---------
#   INVITE that requires 100rel             180 with Require: 100rel and    waiting
#                                           RSeq (random, 1..2**31-1, §3)
#   T1, doubling (not on a stream, §3)      the 180 again                   waiting
#   PRACK whose RAck names it (rseq, CSeq   (the call answers 200)          acknowledged
#   number, INVITE)
#   PRACK that names nothing we sent        (the call answers 481, §3)      unchanged
#   our final response                      no more retransmissions         waiting
#   64*T1 without a PRACK                   (the call rejects the INVITE    done
#                                           with 504, §3: a 5xx)
#
# As the caller (prack_request): a 1xx above 100 with Require: 100rel and
# an RSeq one higher than the last we acknowledged (or the first) gets a
# PRACK in its early dialog with RAck: RSeq CSeq INVITE (§4, §7.2); a
# retransmission, or one out of order, gets none. Our INVITE carries the
# offer, so a 18x with SDP is the answer and the PRACK carries no body.

from intercom.compat import ticks_add
from intercom.sip.flow import is_stream
from intercom.sip.session_timer import has_option
from intercom.sip.timers import earliest, is_due

WAITING = "waiting"
ACKNOWLEDGED = "acknowledged"
DONE = "done"
RETRANSMIT = "retransmit"
GIVE_UP = "give_up"
MAX_RSEQ = 0x7FFFFFFF


def wants_reliable(request):
    """Whether an INVITE requires 100rel: we then send our 180 reliably.
    One that only supports it gets a plain 180 (RFC 3262 3: the UAS MAY;
    a PRACK round trip for a ringing tone with no SDP in it adds nothing)."""
    return has_option(request.headers.get_all("Require"), "100rel")


class ReliableRinging:
    """One reliable provisional response of ours, until its PRACK."""

    def __init__(self, rseq, timers):
        self.rseq = rseq
        self.timers = timers
        self.state = WAITING
        self.wire = None
        self.flow = None
        self.interval = timers.t1
        self.retransmit_at = None
        self.give_up_at = None

    def add_fields(self, headers):
        headers.add("Require", "100rel")
        headers.add("RSeq", "%d" % self.rseq)

    def sent(self, wire, flow, now_ms):
        self.wire = wire
        self.flow = flow
        self.give_up_at = ticks_add(now_ms, self.timers.transaction_timeout)
        if not is_stream(flow):
            self.retransmit_at = ticks_add(now_ms, self.interval)

    def matches(self, rack, invite_cseq):
        """Whether a PRACK's RAck (text) names this response."""
        parts = (rack or "").split()
        if len(parts) != 3 or parts[2].upper() != "INVITE":
            return False
        return parts[0] == "%d" % self.rseq and parts[1] == "%d" % invite_cseq

    def acknowledge(self):
        self.state = ACKNOWLEDGED
        self._stop()

    def finish(self):
        """Our final response went out: no more retransmissions (a PRACK
        still in flight is answered 200, the 180 was never acknowledged)."""
        self._stop()

    def get_timer(self):
        return earliest(self.retransmit_at, self.give_up_at)

    def handle_timer(self, now_ms):
        """RETRANSMIT (send .wire on .flow again), GIVE_UP (64*T1 passed
        without a PRACK) or None."""
        if is_due(self.give_up_at, now_ms):
            self.state = DONE
            self._stop()
            return GIVE_UP
        if is_due(self.retransmit_at, now_ms):
            self.interval = self.timers.next_interval(self.interval, False)
            self.retransmit_at = ticks_add(now_ms, self.interval)
            return RETRANSMIT
        return None

    def _stop(self):
        self.retransmit_at = None
        self.give_up_at = None


def new_rseq(random_number):
    """An initial RSeq: 1 .. 2**31 - 1 (RFC 3262 3)."""
    return random_number % MAX_RSEQ + 1


def rseq_of(response):
    """The RSeq of a reliable provisional response, else None."""
    if not has_option(response.headers.get_all("Require"), "100rel"):
        return None
    text = (response.headers.get("RSeq") or "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    return int(text)


def prack_request(dialog, rseq, invite_cseq):
    """The PRACK of a reliable 18x in its early dialog (RFC 3262 7.2)."""
    request = dialog.create_request("PRACK")
    request.headers.add("RAck", "%d %d INVITE" % (rseq, invite_cseq))
    return request
