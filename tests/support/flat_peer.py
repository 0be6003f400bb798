# The flat for whole-call board tests: SIPp as UAS (scenarios/flat_uas.xml)
# does the signalling, FlatMedia is the RTP endpoint its SDP answer names
# (bound first, on any free port: SIPp is told that port).

import struct
import threading
import time

from support.datagrams import datagrams_while_running, local_udp_socket
from support.sipp import Sipp

FLAT_TIMEOUT_S = 40


class FlatMedia:
    """The flat's RTP endpoint on 127.0.0.1 (any free port: .port): records
    (seq, payload) of the door's PCMU packets and, once the door's first
    packet shows its address, streams `ulaw` back from the same socket, one
    20 ms packet per 20 ms."""

    def __init__(self, ulaw):
        self.sock = local_udp_socket(0.2)
        self.port = self.sock.getsockname()[1]
        self.ulaw = ulaw
        self.packets = []
        self.running = True
        self.door = None
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.receiver.start()
        self.sender = threading.Thread(target=self._send, daemon=True)
        self.sender.start()

    def _receive(self):
        for data, address in datagrams_while_running(self):
            if len(data) >= 12 and data[0] >> 6 == 2 and data[1] & 0x7F == 0:
                self.door = address
                self.packets.append((struct.unpack("!H", data[2:4])[0], data[12:]))

    def _send(self):
        while self.running and self.door is None:
            time.sleep(0.005)
        start = time.monotonic()
        for index in range(len(self.ulaw) // 160):
            if not self.running:
                return
            delay = start + index * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            header = struct.pack("!BBHII", 0x80, 0, (1000 + index) & 0xFFFF, 160 * index, 0x1234)
            self.sock.sendto(header + self.ulaw[index * 160 : (index + 1) * 160], self.door)

    def stop(self):
        self.running = False
        self.receiver.join()
        self.sender.join()
        self.sock.close()

    def payload(self):
        ordered = sorted(self.packets)
        if ordered and ordered[-1][0] - ordered[0][0] > 30000:  # the sequence wrapped
            ordered = sorted(self.packets, key=lambda p: (p[0] + 32768) & 0xFFFF)
        return b"".join(payload for _, payload in ordered)


def start_flat(owned, folder, media, talk_ms):
    """SIPp answering one call (on any free port: .port), its SDP naming
    media.port (a FlatMedia), BYE after talk_ms; registered with owned."""
    flat = owned(
        Sipp(
            folder,
            "flat",
            "flat_uas.xml",
            options=["-mi", "127.0.0.1"],
            fill={"MEDIA_PORT": media.port, "TALK_MS": talk_ms},
            timeout_s=FLAT_TIMEOUT_S,
        )
    )
    return flat.start()
