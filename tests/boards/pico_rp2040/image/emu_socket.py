# A stand-in for MicroPython's `socket` module (UDP only) over emu_link:
# what the door's boards.runtime.udp and boards.runtime.addresses use, with
# lwIP's behaviour: numeric IPv4 addresses, recvfrom() -> (bytes, (ip, port)),
# OSError EAGAIN from a non-blocking read that finds nothing, no
# getsockname(). io.IOBase with ioctl() makes it pollable by select.poll:
# MicroPython calls that Python ioctl() for every socket on every pass of
# a poll, where lwIP's sockets answer in C, so it does as little as it can
# (one native call when nothing arrived).

import io

import emu_link

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOL_SOCKET = 1
SO_REUSEADDR = 4
_EAGAIN = 11
_EADDRINUSE = 98
_EOPNOTSUPP = 95
_STREAM_POLL = 3
_POLLIN = 1
_POLLOUT = 4


def _ipv4(host):
    if host == "localhost":
        host = "127.0.0.1"
    parts = host.split(".")
    if len(parts) != 4 or not all(part.isdigit() and int(part) < 256 for part in parts):
        raise OSError(-2)  # lwIP's getaddrinfo failure: this stand-in has no DNS
    return host, bytes(int(part) for part in parts)


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    return [(AF_INET, type or SOCK_DGRAM, proto, "", (_ipv4(host)[0], port))]


class socket(io.IOBase):  # noqa: N801 (the module's own name)
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        if type != SOCK_DGRAM:
            raise OSError(_EOPNOTSUPP)
        self.queue = []
        self._blocking = True
        self._id = emu_link.add_socket(self)

    def bind(self, address):
        port = address[1]
        emu_link.send_frame(0x42, self._id, bytes((port & 0xFF, port >> 8)))  # 'B'
        errno, _ = emu_link.wait_bound(self._id)
        if errno:
            raise OSError(errno)

    def setblocking(self, flag):
        self._blocking = flag

    def sendto(self, data, address):
        packed = _ipv4(address[0])[1]
        port = address[1]
        emu_link.send_frame(0x53, self._id, packed + bytes((port & 0xFF, port >> 8)) + data)
        return len(data)

    def recvfrom(self, size):
        while not self.queue:
            emu_link.pump()
            if not self.queue and not self._blocking:
                raise OSError(_EAGAIN)
        entry = self.queue.pop(0)
        if len(entry[0]) > size:
            return entry[0][:size], entry[1]
        return entry

    def close(self):
        if self._id is not None:
            emu_link.send_frame(0x43, self._id, b"")  # 'C'
            emu_link.remove_socket(self._id)
            self._id = None

    def ioctl(self, request, argument):
        if request != _STREAM_POLL:
            return 0
        if emu_link.waiting():
            emu_link.pump()
        if emu_link.heap_samples:
            emu_link.send_heap_samples()
        if self.queue:
            return argument & (_POLLIN | _POLLOUT)
        return argument & _POLLOUT
