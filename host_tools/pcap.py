"""Write UDP datagrams to a classic pcap file that Wireshark and tshark open.

The simulated call runs in-process on loopback, so instead of sniffing the
interface (root, tshark) the host tools record each datagram they send and
receive and write it here with synthetic IPv4 and UDP headers
(linktype LINKTYPE_RAW: the packet starts at the IP header).
"""

import socket
import struct

_PCAP_MAGIC = 0xA1B2C3D4
_LINKTYPE_RAW = 101
_SNAPLEN = 65535
_IPPROTO_UDP = 17


def _checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_packet(source, destination, payload, ident=0):
    """IPv4 + UDP header + payload for a datagram from source to destination."""
    source_ip = socket.inet_aton(source[0])
    destination_ip = socket.inet_aton(destination[0])
    udp_length = 8 + len(payload)
    pseudo = source_ip + destination_ip + struct.pack("!BBH", 0, _IPPROTO_UDP, udp_length)
    udp_header = struct.pack("!HHHH", source[1], destination[1], udp_length, 0)
    udp_checksum = _checksum(pseudo + udp_header + payload) or 0xFFFF
    udp_header = struct.pack("!HHHH", source[1], destination[1], udp_length, udp_checksum)
    total_length = 20 + udp_length
    ip_header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        total_length,
        ident & 0xFFFF,
        0x4000,  # don't fragment
        64,
        _IPPROTO_UDP,
        0,
        source_ip,
        destination_ip,
    )
    ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
    return ip_header + udp_header + payload


class PcapWriter:
    """Collects (time, source, destination, payload) and writes a pcap file."""

    def __init__(self):
        self.records = []

    def add(self, time_s, source, destination, payload):
        self.records.append((time_s, source, destination, bytes(payload)))

    def write(self, path):
        records = sorted(self.records, key=lambda record: record[0])
        with open(path, "wb") as out:
            out.write(struct.pack("<IHHiIII", _PCAP_MAGIC, 2, 4, 0, 0, _SNAPLEN, _LINKTYPE_RAW))
            for ident, (time_s, source, destination, payload) in enumerate(records):
                packet = udp_packet(source, destination, payload, ident)
                seconds = int(time_s)
                micros = int(round((time_s - seconds) * 1e6))
                if micros >= 1000000:
                    seconds, micros = seconds + 1, micros - 1000000
                out.write(struct.pack("<IIII", seconds, micros, len(packet), len(packet)))
                out.write(packet)
