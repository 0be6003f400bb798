# The firmware's side of the emulated network link (test code: it lives on
# the test's littlefs image, never in the shipped firmware). Frames over
# UART1 to the emulator runner, which relays them to UDP sockets on
# 127.0.0.1 (host_tools/rp2040/netrelay.mjs describes the frames).
#
# pump() reads every whole frame the UART holds and hands it on: datagrams
# to their socket's queue, bind answers to wait_bound(), heap-probe requests
# to the probe. It runs from the sockets' poll ioctl, so it never blocks.

import struct

import machine

UART_ID = 1
TX_PIN = 8  # UART1 on GP8/GP9: clear of the door's button, relay, LED and I2S pins
RX_PIN = 9
RX_BUFFER = 2048
HEADER = 4

_uart = machine.UART(
    UART_ID, baudrate=3000000, tx=machine.Pin(TX_PIN), rx=machine.Pin(RX_PIN), rxbuf=RX_BUFFER
)
_header = bytearray(HEADER)
_pending = None  # (type, socket id, length) of a frame whose payload is still coming
_sockets = {}
_bound = {}
_probe_handler = None


def send_frame(kind, socket_id, payload):
    struct.pack_into("<BBH", _header, 0, kind, socket_id, len(payload))
    _uart.write(_header)
    if payload:
        _uart.write(payload)


def add_socket(sock):
    socket_id = 0
    while socket_id in _sockets:
        socket_id += 1
    _sockets[socket_id] = sock
    return socket_id


def remove_socket(socket_id):
    _sockets.pop(socket_id, None)


def on_probe(handler):
    global _probe_handler
    _probe_handler = handler


def pump():
    global _pending
    while True:
        if _pending is None:
            if _uart.any() < HEADER:
                return
            _uart.readinto(_header)
            _pending = struct.unpack("<BBH", _header)
        kind, socket_id, length = _pending
        if length and _uart.any() < length:
            return
        payload = _uart.read(length) if length else b""
        _pending = None
        if kind == 0x52:  # 'R': a datagram for a socket
            sock = _sockets.get(socket_id)
            if sock is not None:
                address = (
                    "%d.%d.%d.%d" % (payload[0], payload[1], payload[2], payload[3]),
                    payload[4] | (payload[5] << 8),
                )
                sock.queue.append((payload[6:], address))
        elif kind == 0x62:  # 'b': a bind's answer
            _bound[socket_id] = struct.unpack("<HH", payload)
        elif kind == 0x48 and _probe_handler is not None:  # 'H': heap probe period
            _probe_handler(payload[0] | (payload[1] << 8))


def wait_bound(socket_id):
    """(errno, port) of the bind just asked for (the runner answers at once)."""
    while socket_id not in _bound:
        pump()
    return _bound.pop(socket_id)


def probe(text):
    send_frame(0x50, 0, text.encode())  # 'P': a line for the test driver
