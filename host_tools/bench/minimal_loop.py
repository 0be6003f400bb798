# The floor under any door written in Python: the least a process must do
# per 20 ms frame of a call, with one wake-up per frame as our door does, and
# nothing else. Runs under CPython and under the MicroPython unix port; the
# call benchmark (host_tools/bench/call.py) runs two of them talking to each
# other beside the calls it measures, and minimal_loop.c is the same loop in
# C.
#
#   python minimal_loop.py MY_PORT PEER_PORT INPUT.wav OUTPUT.raw
#   micropython minimal_loop.py MY_PORT PEER_PORT INPUT.wav OUTPUT.raw
#
# Per frame: sleep in poll() until the frame's deadline (deadlines 20 ms
# apart, so sleep overshoot never accumulates); read the frame's 320 bytes
# (160 samples of 16-bit PCM) from the input WAV's samples, from their start
# again at their end; send a 172-byte datagram (a 12-byte RTP header with sequence number
# and timestamp, then the first 160 bytes read: no G.711 encoding) to
# 127.0.0.1:PEER_PORT; read every datagram waiting on MY_PORT (a poll(0)
# before each read, as our door drains its socket) and write its payload to
# the output file. No parsing, jitter buffer, decoding, DTMF, RTCP, timers
# or events: what our door adds on top of this loop is the door. Runs until
# it is stopped (SIGTERM).

import select
import socket
import sys

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def ticks_ms():
        return time.monotonic_ns() // 1_000_000

    def ticks_diff(later, earlier):
        return later - earlier

    def ticks_add(ticks, delta):
        return ticks + delta


FRAME_MS = 20
FRAME_BYTES = 320
PAYLOAD_BYTES = 160
HEADER_BYTES = 12
WAV_HEADER_BYTES = 44


def main(my_port, peer_port, input_path, output_path):
    endpoint = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    endpoint.bind(socket.getaddrinfo("127.0.0.1", my_port)[0][-1])
    endpoint.setblocking(False)
    peer = socket.getaddrinfo("127.0.0.1", peer_port)[0][-1]
    sleeper = select.poll()
    waiting = select.poll()
    waiting.register(endpoint, select.POLLIN)
    source = open(input_path, "rb")
    source.seek(WAV_HEADER_BYTES)
    output = open(output_path, "wb")
    samples = bytearray(FRAME_BYTES)
    packet = bytearray(HEADER_BYTES + PAYLOAD_BYTES)
    packet[0] = 0x80
    sequence = 0
    deadline = ticks_ms()
    while True:
        wait_ms = ticks_diff(deadline, ticks_ms())
        if wait_ms > 0:
            sleeper.poll(wait_ms)
            continue
        if source.readinto(samples) < FRAME_BYTES:
            source.seek(WAV_HEADER_BYTES)
            source.readinto(samples)
        sequence = (sequence + 1) & 0xFFFF
        timestamp = (sequence * PAYLOAD_BYTES) & 0xFFFFFFFF
        packet[2:4] = sequence.to_bytes(2, "big")
        packet[4:8] = timestamp.to_bytes(4, "big")
        packet[HEADER_BYTES:] = samples[:PAYLOAD_BYTES]
        endpoint.sendto(packet, peer)
        while waiting.poll(0):
            output.write(endpoint.recv(2048)[HEADER_BYTES:])
        deadline = ticks_add(deadline, FRAME_MS)


main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
