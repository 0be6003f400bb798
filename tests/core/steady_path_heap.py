# MicroPython script: the 20 ms media path allocates nothing in steady state.
#
#   MICROPYPATH=firmware micropython tests/core/steady_path_heap.py [MODE]
#
# Per frame: G.711 encode into the sender's buffer, RTP packetize, copy into
# a receive buffer (as recv_into would), RTP parse and source check, RTCP
# reception statistics, jitter buffer put, jitter buffer get (which decodes).
# After a warm-up, 200 frames run under micropython.heap_lock(): any
# allocation raises MemoryError and the script exits non-zero. MODE is
# "steady" (the default: every packet on time), "jittery" (packets arrive
# in swapped pairs, 0-10 ms late), "short" (10 ms packets, two per 20 ms
# frame, re-framed by the jitter buffer), or "control": steady plus one
# deliberate allocation per frame (bytes(packet)), to show that the lock
# catches it.
# Prints "OK <played> <concealed> <late> <packets accepted>" on success.

import sys

import micropython
from intercom.media import g711
from intercom.media.jitter import JitterBuffer
from intercom.media.rtcp import RtcpSession
from intercom.media.rtp import RtpReceiver, RtpSender

REMOTE = ("127.0.0.1", 40000)
WARM_UP = 100
LOCKED = 200


def counter_bytes(count):
    return bytes([(7 * index + 3) & 0xFF for index in range(count)])


def sine_frames():
    frames = []
    table = (0, 3000, 5000, 3000, 0, -3000, -5000, -3000)
    for shift in range(4):
        frame = bytearray(320)
        for index in range(160):
            value = table[(index + shift) % 8] & 0xFFFF
            frame[2 * index] = value & 0xFF
            frame[2 * index + 1] = value >> 8
        frames.append(frame)
    return frames


class MediaPath:
    """Both ends of one call leg in memory. (Methods, not closures: a
    MicroPython closure with many captured names allocates on each call.)"""

    def __init__(self, mode):
        self.mode = mode
        self.packet_samples = 80 if mode == "short" else 160
        self.sender = RtpSender(0, counter_bytes, self.packet_samples, buffers=2)
        self.receiver = RtpReceiver([0, 101], REMOTE)
        self.session = RtcpSession(self.sender, "door@intercom", counter_bytes, 0)
        self.jitter = JitterBuffer(g711.ulaw_decode_into)
        self.frames = sine_frames()
        # The halves of each frame, for the 10 ms packets of "short".
        self.halves = [(memoryview(f)[:160], memoryview(f)[160:]) for f in self.frames]
        # Two packets "in the network" (so they can arrive swapped), and the
        # board's one receive buffer.
        size = 12 + self.packet_samples
        self.network = [memoryview(bytearray(size)), memoryview(bytearray(size))]
        self.wire = bytearray(1500)

    def step(self, number):
        now = 1000 + 20 * number
        if self.mode == "short":
            self.short_packets(number, now)
            self.jitter.get(now + 15)
            return
        g711.ulaw_encode_into(self.frames[number & 3], self.sender.payload)
        packet = self.sender.packet(160)
        if self.mode == "control":
            bytes(packet)
        self.network[number & 1][:] = packet
        if self.mode != "jittery":
            self.deliver(number & 1, now)
        elif number & 1:
            # Pairs arrive swapped, 0..10 ms late.
            self.deliver(1, now + (number % 3) * 5)
            self.deliver(0, now + 10)
        self.jitter.get(now + 15)

    def short_packets(self, number, now):
        for half in range(2):
            g711.ulaw_encode_into(self.halves[number & 3][half], self.sender.payload)
            self.network[half][:] = self.sender.packet(80)
            self.deliver(half, now + 10 * half)

    def deliver(self, slot, now):
        length = len(self.network[slot])
        self.wire[0:length] = self.network[slot]
        received = self.receiver.receive(self.wire, REMOTE, length)
        self.session.rtp_received(received, now)
        self.jitter.put(received.timestamp_low, received.payload, now, received.marker)


def main(mode):
    path = MediaPath(mode)
    for number in range(WARM_UP):
        path.step(number)
    micropython.heap_lock()
    try:
        for number in range(WARM_UP, WARM_UP + LOCKED):
            path.step(number)
    finally:
        micropython.heap_unlock()
    counters = path.jitter.counters
    print(
        "OK",
        counters["played"],
        counters["concealed"],
        counters["late"],
        path.receiver.accepted,
    )


main(sys.argv[1] if len(sys.argv) > 1 else "steady")
