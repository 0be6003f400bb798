# Who may talk to the door, and how fast (DESIGN principle 5: an INVITE
# from an unknown source does not ring and does not get media).
#
#   source host                              verdict
#   not the server, not `trusted`, and (in   UNTRUSTED: dropped, no reply at
#   peer-to-peer mode only) not the host of  all (a reply would confirm that
#   a target or answer_from URI              a SIP device lives here)
#   (with a server the phones are behind it: their hosts are not trusted)
#   trusted, its token bucket empty          RATE_LIMITED: dropped, no reply
#   trusted, a token left                    None: go ahead
#
# Token bucket per host: rate_per_s tokens a second, at most rate_burst
# saved up; one token per datagram. A host without a bucket has a full one:
# a bucket lives only until it is full again (get_timer() says when,
# handle_timer() forgets it), so no refill time is ever older than
# rate_burst / rate_per_s seconds and a host silent for days (the ticks
# clock wraps every 12.4 days) finds its bucket full. At most max_sources
# buckets live (the oldest goes first), so memory stays bounded whatever
# arrives.

from intercom.compat import ticks_add, ticks_diff
from intercom.sip.message import SipParseError
from intercom.sip.uri import parse_uri

UNTRUSTED = "untrusted_dropped"
RATE_LIMITED = "rate_limited"
TOKEN = 1000  # tokens are kept in thousandths so integer ms refill exactly


class SourceGuard:
    def __init__(self, settings):
        if settings.rate_per_s < 1 or settings.rate_burst < 1:
            raise ValueError("the token bucket needs rate_per_s and rate_burst of 1 or more")
        self.rate_per_s = settings.rate_per_s
        self.rate_burst = settings.rate_burst
        self.max_sources = settings.max_sources
        self.trusted_hosts = trusted_hosts(settings)
        self.buckets = {}

    def verdict(self, host, now_ms):
        """None when a datagram from host may be processed, else why not."""
        if host not in self.trusted_hosts:
            return UNTRUSTED
        bucket = self.buckets.get(host)
        if bucket is None:
            if len(self.buckets) >= self.max_sources:
                del self.buckets[next(iter(self.buckets))]
            bucket = [self.rate_burst * TOKEN, now_ms]
            self.buckets[host] = bucket
        elapsed = ticks_diff(now_ms, bucket[1])
        if elapsed > 0:
            bucket[0] = min(self.rate_burst * TOKEN, bucket[0] + elapsed * self.rate_per_s)
            bucket[1] = now_ms
        if bucket[0] < TOKEN:
            return RATE_LIMITED
        bucket[0] -= TOKEN
        return None

    def get_timer(self):
        """The tick at which the first bucket is full again, or None."""
        deadline = None
        for bucket in self.buckets.values():
            full_at = self._full_at(bucket)
            if deadline is None or ticks_diff(full_at, deadline) < 0:
                deadline = full_at
        return deadline

    def handle_timer(self, now_ms):
        """Forget the buckets that are full by now (a missing bucket is full)."""
        for host in list(self.buckets):
            if ticks_diff(now_ms, self._full_at(self.buckets[host])) >= 0:
                del self.buckets[host]

    def _full_at(self, bucket):
        missing = self.rate_burst * TOKEN - bucket[0]
        return ticks_add(bucket[1], (missing + self.rate_per_s - 1) // self.rate_per_s)


def trusted_hosts(settings):
    """The server and `trusted`; peer-to-peer, `trusted` and the hosts of
    target/answer_from URIs."""
    hosts = set(settings.trusted)
    if settings.server_address is not None:
        hosts.add(settings.server_address[0])
        return hosts
    for uri in settings.targets + settings.answer_from:
        if ":" in uri:
            try:
                hosts.add(parse_uri(uri).host)
            except SipParseError as error:
                raise ValueError("bad URI %r in settings: %s" % (uri, error.reason)) from None
    return hosts
