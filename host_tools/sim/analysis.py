"""What the default scenario's call showed: timings, audio delays, RTP.

Everything is read after the run from what was recorded: the door's
events (DoorProcess), the flat phone (its events, what it played and
when), the capture records (time_s, source, destination, payload) and the
door's door_heard.wav.
"""

import numpy

from host_tools.ladder import sip_label
from host_tools.sim import wav_io
from host_tools.sim.delay import pcm_samples
from host_tools.sim.mouth_to_ear import measure
from host_tools.sim.rtp_stats import stream_stats
from host_tools.sim.timeline import Timeline, player_timeline, wire_timeline

FRAME_SAMPLES = 160
QUIET_RMS = 100.0  # a frame below this rms holds no tone or speech
MIN_QUIET_FRAMES = 10  # the flat is silent for a while (1 s) before its reply
TICKS_PERIOD = 1 << 30  # the door's ts_ms wrap (intercom.compat)


class CallAnalysis:
    def __init__(self, records, door, flat, flat_events, door_heard, press_wall):
        self.records = records
        self.door = door  # DoorProcess or None
        self.flat = flat  # FlatPhone or None
        self.flat_events = flat_events  # [(wall time, event)]
        self.door_heard = door_heard  # path of the door's speaker WAV
        self.press_wall = press_wall  # when the scenario sent `press`

    def flat_event(self, name):
        for wall, event in self.flat_events:
            if event["event"] == name:
                return wall, event
        return None, None

    def button_wall(self):
        button = self.door.first("button") if self.door is not None else None
        if button is None:
            return self.press_wall
        return self.door.wall_time(button)

    def timings(self):
        door = self.door
        button = door.first("button") if door is not None else None
        invite_ms = None
        button_wall = self.button_wall()
        for time_s, _, _, payload in sorted(self.records, key=lambda record: record[0]):
            if sip_label(payload) == "INVITE" and button_wall is not None:
                invite_ms = 1000.0 * (time_s - button_wall)
                break
        timings = [("button -> INVITE at the flat", invite_ms)]
        for label, name in (
            ("button -> ringing", "ringing"),
            ("button -> answered", "answered"),
            ("button -> door opened", "door_opened"),
            ("button -> door closed", "door_closed"),
            ("button -> call ended", "call_ended"),
        ):
            event = door.first(name) if door is not None else None
            value = None
            if button is not None and event is not None:
                value = (event["ts_ms"] - button["ts_ms"]) % TICKS_PERIOD
            timings.append((label, value))
        ended = door.first("call_ended") if door is not None else None
        timings.append(("call length", ended.get("duration_ms") if ended is not None else None))
        return timings

    def delays(self, visitor, said):
        """visitor: the door mic's WAV (PCM); said: all the flat's mic said
        (Scenario.flat_reply: with the room on, its reply three times)."""
        return [
            ("door mic -> flat ear", self.door_to_flat(visitor)),
            ("flat mic -> door ear", self.flat_to_door(said)),
        ]

    def media_addresses(self):
        """(door RTP address, flat RTP address) or None before media started."""
        _, started = self.flat_event("media_started")
        if started is None:
            return None
        media = started["media"]
        return (media["remote_host"], media["remote_port"]), self.flat.rtp.local_address

    def door_to_flat(self, visitor):
        """Visitor audio: sent by the door (its RTP as captured) -> played by the flat."""
        addresses = self.media_addresses()
        if addresses is None or not self.flat.heard_times:
            return None
        sent = wire_timeline(self.records, addresses[0], addresses[1])
        if sent is None:
            return None
        played = player_timeline(self.flat.heard, self.flat.heard_times)
        return measure(pcm_samples(visitor), sent, played)

    def flat_to_door(self, said):
        """What the flat said: sent by the flat (its RTP as captured) -> played
        by the door.

        door_heard.wav gets one frame per door audio tick from its start; in
        the call the same tick sends one RTP packet (captured with its time),
        so the door's RTP times its frames once the first talking frame is
        known: the ringback tone on the door's speaker stops there (the first
        frame of the quiet run after it). It is found from the ringback, not
        from the flat's words: the quiet run before a later reply of the
        three (--echo: its 300 ms gap and the reply's own tail) looks the same.
        """
        addresses = self.media_addresses()
        path = self.door_heard
        if addresses is None or not path.exists():
            return None
        door_rtp, flat_rtp = addresses
        sent = wire_timeline(self.records, flat_rtp, door_rtp)
        door_ticks = wire_timeline(self.records, door_rtp, flat_rtp)
        try:
            samples = pcm_samples(wav_io.read_pcm(path))
        except (ValueError, EOFError):
            return None
        first_talking = talking_start_frame(samples)
        if sent is None or door_ticks is None or first_talking is None:
            return None
        talking = samples[first_talking * FRAME_SAMPLES :]
        played = Timeline(talking, door_ticks.starts, door_ticks.times)
        return measure(pcm_samples(said), sent, played)

    def rtp_lines(self):
        addresses = self.media_addresses()
        if addresses is None:
            return [("media", "never started")]
        door_rtp, flat_rtp = addresses
        lines = []
        for label, source, destination in (
            ("door -> flat (capture)", door_rtp, flat_rtp),
            ("flat -> door (capture)", flat_rtp, door_rtp),
        ):
            stats = stream_stats(self.records, source, destination)
            kinds = ", ".join(
                "PT %d x%d" % (payload_type, count)
                for payload_type, count in sorted(stats.payload_types.items())
            )
            lines.append(
                (
                    label,
                    "%d packets (%s), lost %d, jitter %.2f ms"
                    % (stats.packets, kinds or "none", stats.lost, stats.jitter_ms),
                )
            )
        flat_stats = self.flat.last_stats
        if flat_stats is not None:
            lines.append(
                (
                    "flat phone's MediaSession",
                    "sent %d, received %d, lost %d, jitter %s ms, concealed %d, late %d"
                    % (
                        flat_stats["packets_sent"],
                        flat_stats["packets_received"],
                        flat_stats["cumulative_lost"],
                        flat_stats["jitter_ms"],
                        flat_stats["concealed"],
                        flat_stats["late"],
                    ),
                )
            )
            lines.append(
                (
                    "flat playout delay / RTT",
                    "%s / %s"
                    % (_ms_or_na(flat_stats["delay_ms"]), _ms_or_na(flat_stats["rtt_ms"])),
                )
            )
        return lines


def _ms_or_na(value):
    return "n/a" if value is None else "%s ms" % value


def talking_start_frame(samples, quiet_rms=QUIET_RMS):
    """The first frame of the quiet run (>= MIN_QUIET_FRAMES) that follows
    the first loud frames (the ringback); None without them or the run."""
    frames = len(samples) // FRAME_SAMPLES

    def loud(frame):
        chunk = samples[frame * FRAME_SAMPLES : (frame + 1) * FRAME_SAMPLES]
        return numpy.sqrt(numpy.mean(chunk * chunk)) >= quiet_rms

    frame = 0
    while frame < frames and not loud(frame):
        frame += 1
    while frame < frames and loud(frame):
        frame += 1
    start = frame
    while frame < frames and frame - start < MIN_QUIET_FRAMES and not loud(frame):
        frame += 1
    if frame - start < MIN_QUIET_FRAMES:
        return None
    return start
