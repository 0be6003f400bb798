# The firmware's side of the emulated network link (test code: it lives on
# the test's littlefs image, never in the shipped firmware). Frames over
# UART1 to the emulator runner, which relays them to UDP sockets on
# 127.0.0.1 (host_tools/rp2040/netrelay.mjs describes the frames).
#
# pump() reads every whole frame the UART holds and hands it on: datagrams
# to their socket's queue, bind answers to wait_bound(), heap-probe requests
# to the probe. The sockets' poll ioctl calls it only when the UART holds
# bytes (waiting()), so a poll that finds nothing costs one native call. A
# datagram costs what lwIP's recvfrom allocates (its bytes, the address
# string and tuple) and the queue entry: the frame header and the address
# bytes are read into fixed buffers.

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
_rx_header = bytearray(HEADER)
_tx_header = bytearray(HEADER)
_sending = False  # a frame is going out: a probe line waits in _deferred
_deferred = []
_address = bytearray(6)  # IPv4 (4), port (2, LE) of a received datagram
_pending_kind = 0  # a frame whose payload is still coming: its type (0: none),
_pending_id = 0  # socket id
_pending_length = 0  # and payload length
_sockets = {}
_bound = {}
_probe_handler = None
heap_samples = []  # (alloc, free, ticks_ms) the heap probe took, not sent yet


def send_heap_samples():
    """The heap probe's figures as 'heap ALLOC FREE MS' lines (the sockets'
    poll sends them: the door's loop, not the probe's callback)."""
    while heap_samples:
        probe("heap %d %d %d" % heap_samples.pop(0))


def send_frame(kind, socket_id, payload):
    # The heap probe's line comes from a timer callback, which MicroPython
    # may run between any two bytecodes: between this header and payload
    # its frame would cut this one in two. It waits for the end instead.
    global _sending
    _sending = True
    try:
        struct.pack_into("<BBH", _tx_header, 0, kind, socket_id, len(payload))
        _uart.write(_tx_header)
        if payload:
            _uart.write(payload)
    finally:
        _sending = False
    while _deferred:
        probe(_deferred.pop(0))


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


def waiting():
    return _uart.any()


def pump():
    global _pending_kind, _pending_id, _pending_length
    while True:
        if not _pending_kind:
            if _uart.any() < HEADER:
                return
            _uart.readinto(_rx_header)
            _pending_kind = _rx_header[0]
            _pending_id = _rx_header[1]
            _pending_length = _rx_header[2] | (_rx_header[3] << 8)
        kind = _pending_kind
        length = _pending_length
        if length and _uart.any() < length:
            return
        _pending_kind = 0
        if kind == 0x52:  # 'R': a datagram for a socket
            _uart.readinto(_address)
            data = _uart.read(length - 6) if length > 6 else b""
            sock = _sockets.get(_pending_id)
            if sock is not None:
                host = "%d.%d.%d.%d" % (_address[0], _address[1], _address[2], _address[3])
                sock.queue.append((data, (host, _address[4] | (_address[5] << 8))))
        elif kind == 0x62:  # 'b': a bind's answer
            _bound[_pending_id] = struct.unpack("<HH", _uart.read(length))
        elif kind == 0x48:  # 'H': heap probe period
            period = _uart.read(length)
            if _probe_handler is not None:
                _probe_handler(period[0] | (period[1] << 8))
        elif length:
            _uart.read(length)  # a frame this side does not know: skipped


def wait_bound(socket_id):
    """(errno, port) of the bind just asked for (the runner answers at once)."""
    while socket_id not in _bound:
        pump()
    return _bound.pop(socket_id)


def probe(text):
    """A line for the test driver ('P' frame); from a timer callback too."""
    if _sending:
        _deferred.append(text)
    else:
        send_frame(0x50, 0, text.encode())
