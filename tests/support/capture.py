# A live capture of a test's own traffic on the loopback interface with
# tshark (Debian's), limited by a capture filter to the ports the test
# names (nothing else on the machine is recorded), written to a pcap file;
# read back with tshark as the UDP datagrams it holds. Stopped by its PID.

import subprocess
import time

from support.peers import ensure_installed
from support.processes import PeerProcess

READY = "Capturing on"


class Capture:
    """tshark -i lo -f capture_filter -w folder/name.pcap; start() returns
    once tshark is capturing; stop() waits for it to write the file."""

    def __init__(self, folder, capture_filter, name="call"):
        self.folder = folder
        self.capture_filter = capture_filter
        self.path = folder / ("%s.pcap" % name)
        self.peer = PeerProcess("tshark", folder / ("%s.tshark.log" % name))

    def start(self):
        ensure_installed(["tshark"], "tshark")
        command = ["tshark", "-i", "lo", "-f", self.capture_filter, "-w", self.path]
        self.peer.launch(command)
        self.peer.wait_started(lambda: READY in self.peer.log(), timeout_s=20)
        return self

    def stop(self):
        time.sleep(0.5)  # what is in flight on lo reaches the file
        self.peer.stop()

    def udp_payloads(self):
        """[(source port, destination port, payload bytes)] of every UDP
        datagram in the capture."""
        fields = ["-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload"]
        result = subprocess.run(
            ["tshark", "-r", str(self.path), "-Y", "udp", "-T", "fields", *fields],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        datagrams = []
        for line in result.stdout.splitlines():
            source, destination, payload = (line.split("\t") + ["", "", ""])[:3]
            if payload:
                datagrams.append((int(source), int(destination), bytes.fromhex(payload)))
        return datagrams

    def dissected(self, display_filter):
        """How many packets tshark's dissectors find for display_filter."""
        result = subprocess.run(
            ["tshark", "-r", str(self.path), "-Y", display_filter],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return len(result.stdout.splitlines())
