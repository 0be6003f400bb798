# The pcap the simulated call writes must open in tshark with SIP and RTP
# decoded from the right addresses.

import shutil
import struct
import subprocess

import pytest

from host_tools.pcap import PcapWriter, udp_packet

DOOR = ("127.0.0.1", 5062)
FLAT = ("127.0.0.1", 5064)

INVITE = (
    b"INVITE sip:flat1@127.0.0.1:5064 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKpcaptest;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:door@127.0.0.1>;tag=a1\r\n"
    b"To: <sip:flat1@127.0.0.1>\r\n"
    b"Call-ID: pcap-test@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:door@127.0.0.1:5062>\r\n"
    b"Content-Length: 0\r\n\r\n"
)
TRYING = (
    b"SIP/2.0 100 Trying\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKpcaptest;rport=5062\r\n"
    b"From: <sip:door@127.0.0.1>;tag=a1\r\n"
    b"To: <sip:flat1@127.0.0.1>\r\n"
    b"Call-ID: pcap-test@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def rtp(sequence, timestamp):
    return struct.pack("!BBHII", 0x80, 0, sequence, timestamp, 0x1234ABCD) + bytes(160)


def tshark(*arguments):
    result = subprocess.run(
        ["tshark", "-n", *arguments], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.split()


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: `make test` installs it from requirements/apt.txt")
    writer = PcapWriter()
    writer.add(1000.25, DOOR, FLAT, INVITE)
    writer.add(1000.0, ("127.0.0.1", 20000), ("127.0.0.1", 30000), rtp(65535, 160))
    writer.add(1000.27, FLAT, DOOR, TRYING)
    writer.add(1000.02, ("127.0.0.1", 20000), ("127.0.0.1", 30000), rtp(0, 320))
    path = tmp_path_factory.mktemp("pcap") / "call.pcap"
    writer.write(path)
    return str(path)


def test_tshark_decodes_the_sip_exchange_in_time_order(capture):
    fields = tshark(
        "-r", capture, "-Y", "sip", "-T", "fields", "-e", "ip.src", "-e", "udp.srcport",
        "-e", "sip.CSeq.method", "-e", "sip.Status-Code",
    )  # fmt: skip
    assert fields == ["127.0.0.1", "5062", "INVITE", "127.0.0.1", "5064", "INVITE", "100"]


def test_tshark_decodes_rtp_with_sequence_wrap(capture):
    fields = tshark(
        "-r", capture, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp",
        "-T", "fields", "-e", "rtp.seq", "-e", "rtp.ssrc", "-e", "frame.time_epoch",
    )  # fmt: skip
    assert fields[0::3] == ["65535", "0"]
    assert fields[1::3] == ["0x1234abcd", "0x1234abcd"]
    assert [round(float(value), 3) for value in fields[2::3]] == [1000.0, 1000.02]


def test_tshark_finds_no_checksum_errors(capture):
    fields = tshark(
        "-r", capture, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
        "-T", "fields", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
    )  # fmt: skip
    # Wireshark checksum status: 0 bad, 1 good, 2 unverified. All must be good.
    assert fields == ["1"] * 8


def test_udp_packet_lengths():
    packet = udp_packet(DOOR, FLAT, b"x" * 10)
    assert len(packet) == 20 + 8 + 10
    assert struct.unpack("!H", packet[2:4])[0] == 38
    assert struct.unpack("!HHH", packet[20:26]) == (5062, 5064, 18)
