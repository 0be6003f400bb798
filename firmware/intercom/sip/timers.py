# SIP timer values, in one place (RFC 3261 §17.1.1.1, Table 4 in Appendix A).
#
#   T1  RTT estimate                      500 ms default
#   T2  longest retransmit interval       4000 ms default (non-INVITE, responses)
#   T4  longest time a message lives      5000 ms default
#
# Every other timer derives from these three:
#
#   A  INVITE request retransmit          T1, doubling (no cap)      §17.1.1.2
#   B  INVITE client transaction timeout  64*T1                      §17.1.1.2
#   D  wait for response retransmits     32 s on UDP (64*T1 if larger)  §17.1.1.2
#   E  non-INVITE request retransmit      T1, doubling up to T2      §17.1.2.2
#   F  non-INVITE client timeout          64*T1                      §17.1.2.2
#   G  INVITE final response retransmit   T1, doubling up to T2      §17.2.1
#   H  wait for ACK receipt               64*T1                      §17.2.1
#   I  wait for ACK retransmits           T4 on UDP                  §17.2.1
#   J  wait for non-INVITE request rtx    64*T1 on UDP               §17.2.2
#   K  wait for response retransmits      T4 on UDP                  §17.1.2.2
#   L  accepted INVITE (RFC 6026 §8.7/8.8) 64*T1
#   M  accepted INVITE client (RFC 6026)  64*T1
#
# 2xx retransmission by the UAS core (§13.3.1.4) reuses T1 doubling up to
# T2 and gives up after 64*T1.

from intercom.compat import ticks_diff

TIMER_D_MS = 32000


class SipTimers:
    """T1/T2/T4 and the timers derived from them, in integer milliseconds."""

    def __init__(self, t1_ms=500, t2_ms=4000, t4_ms=5000):
        if t1_ms <= 0 or t2_ms < t1_ms or t4_ms <= 0:
            raise ValueError("SIP timers need 0 < T1 <= T2 and T4 > 0")
        self.t1 = t1_ms
        self.t2 = t2_ms
        self.t4 = t4_ms
        self.transaction_timeout = 64 * t1_ms  # timers B, F, H, J, L, M
        self.timer_d = TIMER_D_MS if TIMER_D_MS > 64 * t1_ms else 64 * t1_ms

    def next_interval(self, interval_ms, capped):
        """The retransmit interval after interval_ms: doubled, capped at T2."""
        doubled = interval_ms * 2
        if capped and doubled > self.t2:
            return self.t2
        return doubled


def is_due(deadline_ms, now_ms):
    """Whether a deadline (or None: never) has been reached at now_ms."""
    return deadline_ms is not None and ticks_diff(now_ms, deadline_ms) >= 0


def earliest(first_ms, second_ms):
    """The earlier of two deadlines; None stands for "no deadline"."""
    if first_ms is None:
        return second_ms
    if second_ms is None or ticks_diff(first_ms, second_ms) <= 0:
        return first_ms
    return second_ms


GAVE_UP = "gave_up"
ENDED = "ended"


class TransactionDeadlines:
    """What both transaction kinds (RFC 3261 section 17) do with their three
    deadlines, which they set themselves: retransmit_at (A, E, G),
    timeout_at (B, F, H: give up) and end_at (D, I, J, K: the wait that
    absorbs retransmissions)."""

    def get_timer(self):
        return earliest(earliest(self.retransmit_at, self.timeout_at), self.end_at)

    def expire(self, now_ms):
        """GAVE_UP when timeout_at has passed (every deadline cleared), ENDED
        when end_at has, else None: either way the transaction terminates."""
        if is_due(self.timeout_at, now_ms):
            self.retransmit_at = self.timeout_at = self.end_at = None
            return GAVE_UP
        if is_due(self.end_at, now_ms):
            self.end_at = None
            return ENDED
        return None
