# Interpreter differences, hidden behind pure functions.
#
# The core and boards/runtime/loop.py run on CPython 3.11+ and on MicroPython. What
# differs between them, and how this module evens it out:
#
#   time        MicroPython's ticks_ms() wraps at a port-specific period
#               (2**30 on rp2, 2**62 on the unix port); CPython has no ticks.
#               Every clock we hand to the core is reduced to TICKS_PERIOD
#               (2**30), which divides every port's period, so ticks_add and
#               ticks_diff below give the same answers everywhere.
#   poll        CPython's poll() yields (fd, events); MicroPython yields
#               (registered object, events, ...). poll_key() maps a source
#               and a result entry to the same dictionary key on both.
#   recvfrom    CPython and the Pico W give (host, port); the unix port gives
#               raw struct sockaddr bytes. peer_address() decodes both.
#   const       micropython.const, which MicroPython's compiler folds into
#               the module that names it (whatever it was imported from);
#               on CPython the value itself. Every module takes it from here.
#
# Nothing here performs I/O: this module is part of the sans-I/O core.

import sys

try:
    from micropython import const
except ImportError:

    def const(__value):  # positional-only by its name, like micropython.const
        return __value


IS_MICROPYTHON = sys.implementation.name == "micropython"

# const(): MicroPython's compiler puts the values into ticks_add and
# ticks_diff, which the frame path calls dozens of times per frame (three
# global lookups per call otherwise).
TICKS_PERIOD = const(1 << 30)
TICKS_MASK = const(TICKS_PERIOD - 1)
TICKS_HALF = const(TICKS_PERIOD >> 1)


def ticks_add(ticks, delta_ms):
    """The tick value delta_ms after ticks (delta may be negative)."""
    return (ticks + delta_ms) & TICKS_MASK


def ticks_diff(later, earlier):
    """Signed distance later - earlier in ms, correct across one wrap.

    Valid while the two values are less than half a period (~6.2 days) apart.
    """
    return ((later - earlier + TICKS_HALF) & TICKS_MASK) - TICKS_HALF


def poll_key(source):
    """Key under which a poll result for `source` is found.

    `source` is what was registered (an int fd or an object) or the first
    item of a poll result entry; both give the same key.
    """
    if isinstance(source, int):
        return source
    if IS_MICROPYTHON:
        return id(source)
    return source.fileno()


_AF_INET = 2
_AF_INET6 = 10


def peer_address(raw):
    """(host, port) from whatever recvfrom() returned as the address.

    Raises ValueError for an address family we do not speak.
    """
    if isinstance(raw, tuple):
        return (raw[0], raw[1])
    family = raw[0] | (raw[1] << 8)  # sa_family_t in host order (little-endian)
    port = (raw[2] << 8) | raw[3]  # network byte order
    if family == _AF_INET and len(raw) >= 8:
        return ("%d.%d.%d.%d" % (raw[4], raw[5], raw[6], raw[7]), port)
    if family == _AF_INET6 and len(raw) >= 24:
        return (format_ipv6(raw[8:24]), port)
    raise ValueError("unsupported socket address family %d" % family)


def format_ipv6(packed):
    """RFC 5952 text form of a 16-byte IPv6 address."""
    groups = [(packed[i] << 8) | packed[i + 1] for i in range(0, 16, 2)]
    best_start = -1
    best_length = 1
    run_start = -1
    for index in range(9):
        if index < 8 and groups[index] == 0:
            if run_start < 0:
                run_start = index
        elif run_start >= 0:
            if index - run_start > best_length:
                best_start = run_start
                best_length = index - run_start
            run_start = -1
    words = ["%x" % group for group in groups]
    if best_start < 0:
        return ":".join(words)
    head = ":".join(words[:best_start])
    tail = ":".join(words[best_start + best_length :])
    return head + "::" + tail
