"""Audio on a wall-clock timeline, for mouth-to-ear delays.

Two kinds of recordings are put on wall-clock time:

  the wire   the audio RTP packets of one direction as captured: each
             payload decoded (G.711 by payload type) and placed at its RTP
             timestamp; a sample's time is its packet's capture time plus
             its offset inside the packet. On loopback the capture time is
             the send time, so this is when the sender's mic produced it.
  a player   one frame played per tick: frame k starts at the tick's wall
             time (the flat phone records them).

sample_time() maps a sample index to wall time by the frame/packet that
holds it (extrapolating at 8 kHz before the first and after the last);
sample_at() maps a wall time back to the sample index.
"""

import struct

import numpy
from intercom.media import g711

from host_tools.sim.delay import pcm_samples
from host_tools.sim.rtp_stats import is_rtp

SAMPLE_RATE = 8000
DECODERS = {0: g711.ulaw_decode, 8: g711.alaw_decode}  # RFC 3551 static types


class Timeline:
    """Samples plus (first sample index, wall time) of each frame or packet."""

    def __init__(self, samples, starts, times):
        self.samples = samples
        self.starts = numpy.asarray(starts, dtype=numpy.int64)
        self.times = numpy.asarray(times, dtype=numpy.float64)

    def sample_time(self, index):
        """Wall time (s) at which sample `index` was sent/played."""
        if len(self.starts) == 0:
            raise ValueError("an empty timeline has no times")
        position = int(numpy.searchsorted(self.starts, index, side="right")) - 1
        position = max(0, position)
        return float(self.times[position] + (index - self.starts[position]) / SAMPLE_RATE)

    def sample_at(self, time_s):
        """Index of the sample sent/played at wall time time_s (the frame or
        packet that started last before it, then 8 kHz)."""
        if len(self.starts) == 0:
            raise ValueError("an empty timeline has no times")
        position = int(numpy.searchsorted(self.times, time_s, side="right")) - 1
        position = max(0, position)
        return int(self.starts[position]) + round((time_s - self.times[position]) * SAMPLE_RATE)


def wire_timeline(records, source, destination):
    """The audio RTP from source to destination as a Timeline (None: no audio)."""
    packets = []
    for time_s, sender, receiver, payload in records:
        if sender != source or receiver != destination or not is_rtp(payload):
            continue
        payload_type = payload[1] & 0x7F
        if payload_type not in DECODERS:
            continue  # telephone-events and anything else carry no audio
        csrc_count = payload[0] & 0x0F
        header = 12 + 4 * csrc_count
        timestamp = struct.unpack("!I", payload[4:8])[0]
        packets.append((time_s, timestamp, DECODERS[payload_type](payload[header:])))
    if not packets:
        return None
    packets.sort(key=lambda packet: packet[0])
    first_timestamp = packets[0][1]
    placed = []
    for time_s, timestamp, pcm in packets:
        offset = ((timestamp - first_timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        placed.append((offset, time_s, pcm_samples(pcm)))
    placed.sort(key=lambda item: item[0])
    base = placed[0][0]
    length = max(offset - base + len(samples) for offset, _, samples in placed)
    samples = numpy.zeros(length)
    for offset, _, frame in placed:
        samples[offset - base : offset - base + len(frame)] = frame
    starts = [offset - base for offset, _, _ in placed]
    times = [time_s for _, time_s, _ in placed]
    return Timeline(samples, starts, times)


def player_timeline(pcm, frame_times, frame_samples=160):
    """A recording played one frame per tick; frame_times[k] is tick k's wall time."""
    samples = pcm_samples(pcm)
    starts = [index * frame_samples for index in range(len(frame_times))]
    return Timeline(samples, starts, frame_times)
