# A flat phone built on our own core (host_tools.sim's FlatPhone) running
# its own Loop in a thread, for the network-fault and attack tests. It can
# name other ports in its Contact/Via and SDP and send its RTP to another
# port: a relay's (host_tools.netem_relay), so all its traffic passes
# through the relay. stop() ends its thread and closes its sockets.

import os
import queue
import threading
import time

from boards.runtime.loop import Loop
from intercom.sip.agent import Agent

from host_tools.sim.flat_phone import FlatPhone, phone_settings


class _Capture:
    """FlatPhone's capture: keeps the arrival times of RTP at the flat."""

    def __init__(self):
        self.rtp_port = None
        self.rtp_arrivals = []

    def add(self, time_s, source, destination, payload):
        if destination[1] == self.rtp_port and len(payload) > 12:
            self.rtp_arrivals.append(time_s)


class RelayedFlatPhone(FlatPhone):
    """A FlatPhone that names other ports in its Contact/Via and SDP and sends
    its RTP to another port: the relay's, so all traffic passes through it."""

    def __init__(self, loop, capture, on_event, sip_port=None, rtp_port=None, **options):
        super().__init__(loop, capture, on_event, **options)
        self.advertised_rtp = rtp_port
        self.media_port = None  # where our RTP goes instead of the SDP's port
        if sip_port is not None:
            settings = phone_settings(
                self.user,
                self.host,
                sip_port,
                options.get("trusted", ("127.0.0.1",)),
                "intercom-faults-flat",
            )
            self.agent = Agent(settings, os.urandom)

    def answer(self):
        if self._pending_call is None or self.advertised_rtp is None:
            return super().answer()
        call_id, media = self._pending_call
        self._pending_call = None
        now_ms = self.loop.clock.now_ms()
        self.agent.answer(call_id, self.advertised_rtp, now_ms)
        self.call_id = call_id
        self._start_media(media, now_ms)
        self._pump(now_ms)
        return True

    def _start_media(self, media, now_ms):
        if self.media_port is not None:
            media = dict(media, remote_port=self.media_port)
        super()._start_media(media, now_ms)


class Flat:
    """A flat phone in its own thread; commands run inside its loop."""

    def __init__(self, sip_port=None, rtp_port=None, media_port=None, **options):
        self.loop = Loop()
        self.capture = _Capture()
        self.events = []
        self.phone = RelayedFlatPhone(
            self.loop, self.capture, self._on_event, sip_port, rtp_port, **options
        )
        self.phone.media_port = media_port
        self.capture.rtp_port = self.phone.rtp.local_address[1]
        self._commands = queue.Queue()
        self._stopping = False
        self.loop.call_every(10, self._run_commands)
        self._thread = threading.Thread(target=self._run, name="flat", daemon=True)
        self._thread.start()

    @property
    def sip_address(self):
        return self.phone.sip.local_address

    @property
    def rtp_address(self):
        return self.phone.rtp.local_address

    def _on_event(self, wall_s, event):
        self.events.append(event)

    def _run(self):
        while not self._stopping:
            self.loop.run_once()

    def _run_commands(self):
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def do(self, command):
        """Run command() inside the flat's loop thread."""
        self._commands.put(command)

    def wait_for(self, name, timeout=10.0, after=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event["event"] == name:
                    return event
            time.sleep(0.02)
        names = [event["event"] for event in self.events]
        raise AssertionError("flat: no %s within %.1f s; saw %r" % (name, timeout, names))

    def names(self):
        return [event["event"] for event in self.events]

    def stop(self):
        if self._stopping:
            return
        self._stopping = True
        self._thread.join(timeout=5)
        self.phone.close()
