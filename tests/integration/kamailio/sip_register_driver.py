# A minimal stand-in for the agent, used only by the Kamailio tests: it owns
# a real UDP socket (a boards.runtime.udp.UdpSocket), adds the Via (branch, rport) to
# each REGISTER the Registration hands out, retransmits it on a plain
# RFC 3261 section 17.1.2.2 schedule (T1 doubling to T2, give up after
# Timer F) and feeds the final response back with its source address.
# The real transaction layer lives in intercom.sip; this stays deliberately
# small. A clock offset lets a test jump ahead to a refresh deadline.

import os
import select
import time

from intercom.compat import TICKS_MASK, ticks_add, ticks_diff
from intercom.sip.message import Headers, Request, SipParseError, parse_message, parse_via
from intercom.sip.register import KEEPALIVE

T1_MS = 500
T2_MS = 4000
TIMER_F_MS = 64 * T1_MS


class RegistrationDriver:
    def __init__(self, registration, udp_socket, via_address=None):
        self.registration = registration
        self.socket = udp_socket
        # The Via sent-by; a test may put an address there that is not ours
        # to make the registrar report received/rport (RFC 3581).
        self.via_address = via_address or self.socket.local_address
        self.offset_ms = 0
        self.events = []
        self.sent = []  # every REGISTER put on the wire (parsed), retransmissions excluded
        self.responses = []  # every final response handed to the Registration
        self.keepalives = 0
        self._request_bytes = None
        self._branch = None
        self._retransmit_at = None
        self._interval_ms = T1_MS
        self._give_up_at = None

    def now(self):
        return (int(time.monotonic() * 1000) + self.offset_ms) & TICKS_MASK

    def advance(self, delta_ms):
        """Jump the Registration's clock ahead (the registrar's stays real)."""
        self.offset_ms += delta_ms

    def run_until(self, predicate, timeout_s=10.0):
        """Drive the loop until predicate() is true; False on timeout."""
        end = time.monotonic() + timeout_s
        while True:
            now = self.now()
            self._tick(now)
            if predicate():
                return True
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(remaining, self._seconds_to_next_deadline(now))
            readable, _, _ = select.select([self.socket.sock], [], [], max(0.0, wait))
            if readable:
                self._receive(self.now())

    def wait_for_event(self, name, timeout_s=10.0):
        seen = len(self.events)

        def arrived():
            return any(event["event"] == name for event in self.events[seen:])

        assert self.run_until(arrived, timeout_s), "no %r event; events: %r" % (name, self.events)
        return [event for event in self.events[seen:] if event["event"] == name][0]

    def close(self):
        self.socket.close()

    # -- internals ------------------------------------------------------------

    def _tick(self, now):
        registration = self.registration
        registration.handle_timer(now)
        if registration.keepalive_due(now):
            self.socket.sendto(KEEPALIVE, registration.server_address)
            self.keepalives += 1
            registration.keepalive_sent(now)
        if self._request_bytes is not None:
            if ticks_diff(now, self._give_up_at) >= 0:
                self._request_bytes = None
                registration.on_transaction_timeout(now)
            elif ticks_diff(now, self._retransmit_at) >= 0:
                self.socket.sendto(self._request_bytes, registration.server_address)
                self._interval_ms = min(2 * self._interval_ms, T2_MS)
                self._retransmit_at = ticks_add(now, self._interval_ms)
        if self._request_bytes is None:
            request = registration.next_request(now)
            if request is not None:
                self._send(request, now)
        while True:
            event = registration.next_event()
            if event is None:
                break
            self.events.append(event)

    def _send(self, request, now):
        self._branch = "z9hG4bK" + os.urandom(8).hex()
        host, port = self.via_address
        headers = Headers()
        headers.add("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (host, port, self._branch))
        for name, value in request.headers.items():
            headers.add(name, value)
        wire = Request(request.method, request.uri, headers, request.body).to_bytes()
        self.sent.append(parse_message(wire))
        self._request_bytes = wire
        self._interval_ms = T1_MS
        self._retransmit_at = ticks_add(now, T1_MS)
        self._give_up_at = ticks_add(now, TIMER_F_MS)
        self.socket.sendto(wire, self.registration.server_address)

    def _receive(self, now):
        try:
            data, source = self.socket.recvfrom(65536)
        except OSError:
            return
        try:
            response = parse_message(data)
            branch = parse_via(response.headers.get("Via")).branch
        except (SipParseError, AttributeError, TypeError):
            return
        if branch != self._branch or self._request_bytes is None or response.status < 200:
            return
        self._request_bytes = None
        self.responses.append(response)
        self.registration.on_response(response, now, source)

    def _seconds_to_next_deadline(self, now):
        deadlines = [self.registration.get_timer()]
        if self._request_bytes is not None:
            deadlines += [self._retransmit_at, self._give_up_at]
        waits = [ticks_diff(deadline, now) for deadline in deadlines if deadline is not None]
        if not waits:
            return 0.2
        return max(0, min(waits)) / 1000.0
