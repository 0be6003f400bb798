# What we put on the wire, read back by an independent decoder: tshark
# (Wireshark) dissects our RTP, RFC 4733 events and RTCP compound packets
# from a pcap, and must find the fields we meant and nothing malformed.

import struct
import subprocess

import pytest
from intercom.media.dtmf import DtmfSender
from intercom.media.rtcp import RtcpSession
from intercom.media.rtp import RtpReceiver, RtpSender

pytestmark = pytest.mark.integration
RTP_PORT = 40000
WALLCLOCK = 1764115200000


def counter_bytes(count, start=[0]):  # noqa: B006 (a deterministic stream)
    out = bytes((start[0] + 37 * index) & 0xFF for index in range(count))
    start[0] += count
    return out


def ipv4_udp(payload, source_port, destination_port):
    udp = struct.pack(">HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    header = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0,
        64,
        17,
        0,
        bytes([127, 0, 0, 1]),
        bytes([127, 0, 0, 2]),
    )
    words = struct.unpack(">10H", header)
    total = sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:]
    return header + udp


def write_pcap(path, datagrams):
    """datagrams: (milliseconds, destination port, payload). LINKTYPE_RAW."""
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for milliseconds, port, payload in datagrams:
            packet = ipv4_udp(payload, port, port)
            seconds, rest = divmod(milliseconds, 1000)
            out.write(struct.pack("<IIII", seconds, rest * 1000, len(packet), len(packet)))
            out.write(packet)


def tshark_fields(path, fields):
    result = subprocess.run(
        [
            "tshark",
            "-r",
            str(path),
            "-d",
            "udp.port==%d,rtp" % RTP_PORT,
            "-d",
            "udp.port==%d,rtcp" % (RTP_PORT + 1),
            "-d",
            "rtp.pt==101,rtpevent",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "aggregator=,",
        ]
        + [argument for field in fields for argument in ("-e", field)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line.split("|") for line in result.stdout.splitlines()]


def test_rtp_audio_and_telephone_events_as_tshark_reads_them(tmp_path):
    sender = RtpSender(0, counter_bytes)
    dtmf = DtmfSender(101, volume=7)
    datagrams = []
    now = 0
    for frame in range(12):
        if frame == 3:
            dtmf.send("#", duration_ms=80)
        packet = dtmf.next_packet(sender)
        if packet is None:
            sender.payload[:160] = bytes([0xFF]) * 160
            packet = sender.packet(160)
        datagrams.append((now, RTP_PORT, bytes(packet)))
        now += 20
    path = tmp_path / "rtp.pcap"
    write_pcap(path, datagrams)
    rows = tshark_fields(
        path,
        [
            "rtp.seq",
            "rtp.marker",
            "rtp.p_type",
            "rtp.timestamp",
            "rtp.ssrc",
            "rtpevent.event_id",
            "rtpevent.end_of_event",
            "rtpevent.volume",
            "rtpevent.duration",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    )
    assert len(rows) == 12
    sequences = [int(row[0]) for row in rows]
    assert sequences == [(sequences[0] + index) & 0xFFFF for index in range(12)]
    assert {row[4] for row in rows} == {"0x%08x" % sender.ssrc}
    # 80 ms: three updates, then the final duration three times with E set.
    assert [row[2] for row in rows] == ["0"] * 3 + ["101"] * 6 + ["0"] * 3
    # Marker: first packet (talk spurt) and the event's first packet.
    assert [row[1] for row in rows] == ["1", "0", "0", "1"] + ["0"] * 8
    events = rows[3:9]
    assert {row[3] for row in events} == {rows[3][3]}  # one event timestamp
    assert int(rows[9][3]) == int(rows[3][3]) + 6 * 160  # the media clock ran on
    assert [row[5] for row in events] == ["11"] * 6  # '#'
    assert [row[6] for row in events] == ["0", "0", "0", "1", "1", "1"]
    assert [row[7] for row in events] == ["7"] * 6
    assert [int(row[8]) for row in events] == [160, 320, 480, 640, 640, 640]
    assert all(row[9] == "" and row[10] == "" for row in rows)  # nothing malformed


def test_rtcp_compound_packets_as_tshark_reads_them(tmp_path):
    door_sender = RtpSender(0, counter_bytes)
    phone_sender = RtpSender(0, counter_bytes)
    door = RtcpSession(door_sender, "door@intercom.example", counter_bytes, 0)
    receiver = RtpReceiver([0], ("127.0.0.1", RTP_PORT))
    for index in range(50):
        door_sender.packet(160)
        packet = phone_sender.packet(160)
        if index != 10:
            door.rtp_received(receiver.receive(packet, ("127.0.0.1", RTP_PORT)), index * 20)
    door.handle_timer(door.get_timer(), WALLCLOCK)
    door.bye(10000, WALLCLOCK + 5000, "call ended")
    datagrams = [(0, RTP_PORT + 1, data) for data in door.datagrams_to_send()]
    path = tmp_path / "rtcp.pcap"
    write_pcap(path, datagrams)
    rows = tshark_fields(
        path,
        [
            "rtcp.pt",
            "rtcp.senderssrc",
            "rtcp.sender.packetcount",
            "rtcp.sender.octetcount",
            "rtcp.ssrc.identifier",
            "rtcp.ssrc.cum_nr",
            "rtcp.ssrc.high_seq",
            "rtcp.sdes.text",
            "rtcp.length_check",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    )
    assert len(rows) == 2
    report, bye = rows
    assert report[0] == "200,202"  # SR then SDES
    assert bye[0] == "200,202,203"  # SR, SDES, BYE
    assert report[1].split(",")[0] == "0x%08x" % door_sender.ssrc
    assert report[2] == "50"
    assert report[3] == "8000"
    assert report[4].split(",")[0] == "0x%08x" % phone_sender.ssrc
    assert report[5] == "1"
    assert int(report[6]) == (phone_sender.sequence - 1) & 0xFFFF
    assert report[7] == "door@intercom.example"
    assert set(report[8].split(",")) == {"1"}
    assert bye[7] == "door@intercom.example,call ended"  # CNAME, BYE reason
    assert all(row[9] == "" and row[10] == "" for row in rows)  # nothing malformed
