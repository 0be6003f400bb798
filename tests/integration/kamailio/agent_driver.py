# Runs the real intercom.sip.agent.Agent against real peers: one
# boards.runtime.udp.UdpSocket on 127.0.0.1 registered with boards.runtime.loop.Loop, driven
# aioquic style. After every input (a datagram, a timer, an app call) the
# driver drains datagrams_to_send(), sends each, drains next_event(), and
# re-arms exactly one loop timer at get_timer().
#
# The test steps the loop itself (run_until with a time limit), so nothing
# runs in a background thread and a hung peer cannot hang the test.
#
# The driver also plays the app for incoming calls: an INVITE whose caller
# user is in `answer_users` is answered, any other one is rejected with
# `reject_status` (403), or left ringing when reject_status is None.
#
# Everything that crossed the socket is kept: `sent` and `received` hold
# (bytes, (host, port)) in order; `events` holds every agent event.

import os

from boards.runtime.loop import Loop
from boards.runtime.udp import UdpSocket
from intercom.compat import ticks_diff
from intercom.config import validate
from intercom.sip.agent import Agent
from intercom.sip.agent_settings import AgentSettings
from intercom.sip.flow import UDP, flow_address, make_flow

MAX_DATAGRAM = 65535
RECHECK_MS = 50


def driver_settings(port, expires_s=None, targets=("sip:flat1@127.0.0.1",), **sip):
    """AgentSettings from a door config (intercom.config) with the [sip]
    keys given (answer_from goes to [call]); expires_s may go below the
    config's 60 s minimum, to see refreshes within a test."""
    call = {"targets": list(targets), "answer_from": list(sip.pop("answer_from", ()))}
    settings = AgentSettings(validate({"sip": sip, "call": call}, "test"), "127.0.0.1", port)
    if expires_s is not None:
        settings.expires_s = expires_s
    return settings


class AgentDriver:
    def __init__(self, answer_users=(), reject_status=403, **settings):
        """settings go to driver_settings; local_host/local_port come from the socket."""
        self.loop = Loop()
        self.socket = UdpSocket("127.0.0.1", 0)
        # RTP is not part of these tests: a bound socket swallows what arrives.
        self.rtp_socket = UdpSocket("127.0.0.1", 0, even_port=True)
        self.rtp_port = self.rtp_socket.local_address[1]
        self.port = self.socket.local_address[1]
        self.agent = Agent(driver_settings(self.port, **settings), os.urandom)
        self.answer_users = tuple(answer_users)
        self.reject_status = reject_status
        self.events = []
        self.sent = []
        self.received = []
        self._timer = None
        self._timed_out = False
        self.loop.add_reader(self.socket, self._readable)
        self.loop.add_reader(self.rtp_socket, self._swallow_rtp)

    # -- what a test calls --------------------------------------------------

    def now(self):
        return self.loop.clock.now_ms()

    def start(self):
        self.agent.start(self.now())
        self._after_input()

    def call(self, target, ring_timeout_ms=None):
        call_id = self.agent.call(target, self.rtp_port, self.now(), ring_timeout_ms)
        self._after_input()
        return call_id

    def stop(self):
        """The agent's stop(): hang up every call, unregister."""
        self.agent.stop(self.now())
        self._after_input()

    def hangup(self, call_id):
        self.agent.hangup(call_id, self.now())
        self._after_input()

    def run_until(self, predicate, timeout_s):
        """Step the loop until predicate() holds; False when time runs out."""
        self._timed_out = False
        watchdog = self.loop.call_later(int(timeout_s * 1000), self._time_out)
        # The predicate may watch the world outside the loop (a SIPp process
        # exiting): wake up now and then to look at it again.
        recheck = self.loop.call_every(RECHECK_MS, _nothing)
        try:
            while not predicate():
                if self._timed_out:
                    return False
                self.loop.run_once()
            return True
        finally:
            watchdog.cancel()
            recheck.cancel()

    def run_for(self, seconds):
        """Keep the agent running (answering, retransmitting) for a while."""
        self.run_until(lambda: False, seconds)

    def wait_for(self, name, timeout_s=10.0, **fields):
        """The first event called `name` (with these field values) seen so far or next."""

        def found():
            return self.find(name, **fields) is not None

        assert self.run_until(found, timeout_s), "no %s %r event within %ss; events: %r" % (
            name,
            fields,
            timeout_s,
            self.events,
        )
        return self.find(name, **fields)

    def find(self, name, **fields):
        for event in self.events:
            if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                return event
        return None

    def names(self):
        return [event["event"] for event in self.events]

    def sent_text(self):
        return [data.decode("utf-8", "replace") for data, _ in self.sent]

    def received_text(self):
        return [data.decode("utf-8", "replace") for data, _ in self.received]

    def close(self, unregister_timeout_s=3.0):
        """Unregister politely when registered (so the next test finds no stale
        binding), then release both sockets."""
        try:
            registration = self.agent.registration
            if registration is not None and self.find("registered") is not None:
                self.stop()
                self.run_until(lambda: self.find("unregistered") is not None, unregister_timeout_s)
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self.loop.remove_reader(self.socket)
            self.loop.remove_reader(self.rtp_socket)
            self.socket.close()
            self.rtp_socket.close()

    # -- the loop's callbacks -----------------------------------------------------

    def _readable(self, source, events):
        while True:
            try:
                data, address = self.socket.recvfrom(MAX_DATAGRAM)
            except OSError:
                break
            self.received.append((data, address))
            self.agent.receive_datagram(data, make_flow(UDP, address), self.now())
        self._after_input()

    def _swallow_rtp(self, source, events):
        while True:
            try:
                self.rtp_socket.recvfrom(MAX_DATAGRAM)
            except OSError:
                return

    def _on_timer(self):
        self._timer = None
        self.agent.handle_timer(self.now())
        self._after_input()

    def _time_out(self):
        self._timed_out = True

    def _after_input(self):
        agent = self.agent
        while True:
            now = self.now()
            for data, flow in agent.datagrams_to_send(now):
                address = flow_address(flow)  # UDP only: these tests' messages are small
                self.sent.append((data, address))
                try:
                    self.socket.sendto(data, address)
                except OSError:
                    pass  # e.g. ICMP port unreachable from a peer that left
            event = agent.next_event()
            if event is None:
                break
            self.events.append(event)
            if event["event"] == "incoming_call":
                self._play_app(event, now)
        self._rearm_timer()

    def _play_app(self, event, now):
        if event["user"] in self.answer_users:
            self.agent.answer(event["call_id"], self.rtp_port, now)
        elif self.reject_status is not None:
            self.agent.reject(event["call_id"], self.reject_status, now)

    def _rearm_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.agent.get_timer()
        if deadline is not None:
            delay = max(0, ticks_diff(deadline, self.now()))
            self._timer = self.loop.call_later(delay, self._on_timer)


def _nothing():
    pass
