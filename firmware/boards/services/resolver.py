# Host names of the optional services (mqtt.host, webhook urls), looked up
# when a connection is about to be made, never at start: a name that does
# not resolve (no network yet, a DNS outage) must not keep the door from
# starting. Each owner retries with its own back-off. CPython and
# MicroPython.
#
#   lookup(loop, host, port, on_done) -> a lookup with cancel()
#       on_done(address, None) once, or on_done(None, reason); address is
#       what socket.connect() takes on this interpreter (CPython: (ip, port);
#       the MicroPython unix port: sockaddr bytes). cancel() drops it:
#       on_done is not called.
#   resolve(host, port) -> (address, None) or (None, reason), waiting
#
# An IP literal, and on MicroPython any name, is resolved inline from a
# zero timer (InlineLookup). On MicroPython getaddrinfo blocks the loop
# while a DNS server is asked, so on the pico_w board the config accepts
# only IP addresses for services (lwIP waits up to 7 s per DNS server, the
# watchdog resets the door at 8 s; intercom.config). On CPython a name is
# looked up on a short-lived thread (boards.services.lookup_thread), never
# holding the loop or the audio.

import socket

from intercom import compat

from boards.runtime.addresses import is_ip_address


def resolve(host, port):
    try:
        found = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
        return found[0][-1], None
    except (OSError, IndexError) as error:
        return None, "cannot resolve '%s': %s" % (host, error)


def lookup(loop, host, port, on_done):
    if compat.IS_MICROPYTHON or is_ip_address(host):
        return InlineLookup(loop, host, port, on_done)
    from boards.services.lookup_thread import ThreadLookup

    return ThreadLookup(loop, host, port, on_done)


class InlineLookup:
    def __init__(self, loop, host, port, on_done):
        self._on_done = on_done
        self._timer = loop.call_later(0, lambda: self._finish(host, port))

    def cancel(self):
        self._on_done = None
        self._timer.cancel()

    def _finish(self, host, port):
        address, reason = resolve(host, port)
        on_done = self._on_done
        if on_done is not None:
            on_done(address, reason)
