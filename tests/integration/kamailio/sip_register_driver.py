# A minimal stand-in for the agent, used only by the Kamailio tests: it owns
# a real UDP socket (a boards.runtime.udp.UdpSocket) and the Registration's
# session context (intercom.sip.context: the Via with branch and rport, the
# client transaction with its RFC 3261 section 17.1.2.2 retransmissions and
# Timer F). It sends what the context has to send, feeds each response to
# its transaction and then to the Registration (with its source address),
# and runs the timers. A clock offset lets a test jump ahead to a refresh
# deadline.

import select
import time

from intercom.compat import TICKS_MASK, ticks_diff
from intercom.sip.flow import UDP, flow_address, make_flow
from intercom.sip.framing import PING
from intercom.sip.message import SipParseError, parse_message, parse_via
from intercom.sip.timers import earliest


class RegistrationDriver:
    def __init__(self, registration, context, udp_socket):
        self.registration = registration
        self.context = context
        self.socket = udp_socket
        self.offset_ms = 0
        self.events = []
        self.sent = []  # every REGISTER put on the wire (parsed), retransmissions excluded
        self.responses = []  # every final response handed to the Registration
        self.keepalives = 0
        self._wires = []

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

    def stop(self):
        self.socket.close()

    # -- internals ------------------------------------------------------------

    def _tick(self, now):
        for key, transaction in list(self.context.transactions.items()):
            if transaction.handle_timer(now):
                self.registration.on_transaction_timeout(transaction, now)
            if transaction.terminated:
                del self.context.transactions[key]
        self.registration.handle_timer(now)
        self._flush()

    def _flush(self):
        outbox = self.context.outbox
        for wire, flow in outbox:
            if wire == PING:
                self.keepalives += 1
            elif wire not in self._wires:
                self._wires.append(wire)
                self.sent.append(parse_message(wire))
            self.socket.sendto(wire, flow_address(flow))
        del outbox[:]
        events = self.context.events
        self.events.extend(events)
        del events[:]

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
        transaction = self.context.transactions.get((branch, "REGISTER"))
        response.source = make_flow(UDP, source)
        if transaction is not None and transaction.receive_response(response, now):
            if response.status >= 200:
                self.responses.append(response)
            self.registration.on_response(transaction, response, now)
        self._flush()

    def _seconds_to_next_deadline(self, now):
        deadline = self.registration.get_timer()
        for transaction in self.context.transactions.values():
            deadline = earliest(deadline, transaction.get_timer())
        if deadline is None:
            return 0.2
        return max(0, ticks_diff(deadline, now)) / 1000.0
