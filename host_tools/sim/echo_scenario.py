"""`make sim ARGS="--echo"`: the default call with the door's own speaker
coming back into its microphone, once per echo control, so a person can
listen to the flat's recording with echo control off and on.

Each call is host_tools.sim.scenario.Scenario with echo=MODE: the sim board
runs its simulated room ([sim] echo_path: 20 ms after the one-frame audio
path, -3 dB, 150 ms decay, -60 dBFS room noise; boards.audio.echo_path) and
audio.echo = MODE. The flat says its reply three times, 300 ms apart: the
first over the visitor (double talk), the last alone. Artifacts of each
call in echo-<mode>/ (flat_heard.wav is what the resident hears), and
echo-summary.txt.

Figures, from what the flat phone sent and heard (its frames share one
clock, so the reply's frames line up with what came back):

  echo return loss   10 log10(energy of the last reply / energy of what the
                     flat heard from its start to ECHO_TAIL_MS after its end):
                     how far below its own voice the resident hears it back
                     (the visitor has finished by then)
  visitor in double talk   the level of what the flat heard while its first
                     reply played, in the telephone band (300-3400 Hz),
                     against the visitor's WAV over the same span (dB, 0 =
                     as loud as the visitor). Levels, not a waveform match:
                     the flat's jitter buffer may shift the alignment by a
                     frame during the call. Read it beside the echo return
                     loss: with echo control off the echo adds to it.

Checks: every call passed the default scenario's checks; against echo off,
aec takes the echo down by AEC_GAIN_DB and half_duplex by HALF_DUPLEX_GAIN_DB;
aec keeps the visitor in double talk within VISITOR_LOSS_DB.
"""

import io
from pathlib import Path

import numpy

from host_tools.sim import report, wav_io
from host_tools.sim.scenario import (
    REPLY_GAP_SAMPLES,
    REPLY_REPEATS,
    REPLY_WAV,
    VISITOR_WAV,
    Scenario,
)

MODES = ("off", "half_duplex", "aec")
FRAME_SAMPLES = 160
ECHO_TAIL_MS = 300
AEC_GAIN_DB = 20.0
HALF_DUPLEX_GAIN_DB = 15.0
VISITOR_LOSS_DB = 3.0


def _samples(pcm):
    return numpy.frombuffer(bytes(pcm), dtype="<i2").astype(float)


def flat_figures(flat, reply_pcm, visitor_pcm):
    """(echo return loss dB, visitor level in double talk dB) of one call."""
    heard = _samples(flat.heard)
    reply = _samples(reply_pcm)
    first = flat.reply_after_ms // 20 * FRAME_SAMPLES  # the first reply's start
    last = first + (REPLY_REPEATS - 1) * (len(reply) + REPLY_GAP_SAMPLES)
    window = heard[last : last + len(reply) + ECHO_TAIL_MS * 8]
    echo_loss = 10 * numpy.log10(numpy.sum(reply**2) / max(numpy.sum(window**2), 1.0))
    visitor = _samples(visitor_pcm)
    span = slice(first, first + len(reply))
    level = _band_energy(heard[span]) / max(_band_energy(visitor[span]), 1.0)
    return float(echo_loss), float(10 * numpy.log10(max(level, 1e-9)))


def _band_energy(samples):
    """Energy of samples between 300 and 3400 Hz (the telephone band)."""
    spectrum = numpy.fft.rfft(samples)
    frequencies = numpy.fft.rfftfreq(len(samples), 1.0 / 8000)
    inside = (frequencies >= 300) & (frequencies <= 3400)
    return float(numpy.sum(numpy.abs(spectrum[inside]) ** 2))


class EchoScenario:
    def __init__(self, artifacts, out, modes=MODES):
        self.artifacts = Path(artifacts)
        self.out = out
        self.modes = modes
        self.rows = {}  # mode: (echo return loss dB, visitor in double talk dB)

    def run(self):
        reply = wav_io.read_pcm(REPLY_WAV)
        visitor = wav_io.read_pcm(VISITOR_WAV)
        rows = self.rows
        checks = []
        for mode in self.modes:
            folder = self.artifacts / ("echo-" + mode)
            print("sim: call with the simulated room, echo control %s ..." % mode, file=self.out)
            scenario = Scenario(folder, io.StringIO(), echo=mode)
            status = scenario.run()
            checks.append(
                (
                    "call with echo control %s passed" % mode,
                    status == 0,
                    "see %s" % (folder / "summary.txt"),
                )
            )
            if scenario.flat is not None and status == 0:
                rows[mode] = flat_figures(scenario.flat, reply, visitor)
        checks += self._echo_checks(rows)
        text = self._summary(rows, checks)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        (self.artifacts / "echo-summary.txt").write_text(text)
        print(text, end="", file=self.out)
        failed = report.failures(checks)
        for line in failed:
            print("sim: FAILED: %s" % line, file=self.out)
        return 1 if failed else 0

    def _echo_checks(self, rows):
        checks = []
        if "off" not in rows:
            return checks
        reference = rows["off"][0]
        for mode, wanted in (("aec", AEC_GAIN_DB), ("half_duplex", HALF_DUPLEX_GAIN_DB)):
            if mode in rows:
                gained = rows[mode][0] - reference
                checks.append(
                    (
                        "%s takes the echo down by %.0f dB or more" % (mode, wanted),
                        gained >= wanted,
                        "%.1f dB more echo return loss than off" % gained,
                    )
                )
        if "aec" in rows:
            lost = -rows["aec"][1]
            checks.append(
                (
                    "aec keeps the visitor in double talk",
                    lost <= VISITOR_LOSS_DB,
                    "%.1f dB below the visitor's own level" % lost,
                )
            )
        return checks

    def _summary(self, rows, checks):
        lines = [
            "Simulated room: the door's speaker back into its mic (20 ms, -3 dB,"
            " 150 ms decay, -60 dBFS noise)",
            "",
            "  %-12s %-22s %-26s %s"
            % ("echo", "echo return loss", "visitor in double talk", "the flat's recording"),
        ]
        for mode in self.modes:
            folder = self.artifacts / ("echo-" + mode)
            if mode in rows:
                loss, visitor = rows[mode]
                lines.append(
                    "  %-12s %-22s %-26s %s"
                    % (mode, "%.1f dB" % loss, "%+.1f dB" % visitor, folder / "flat_heard.wav")
                )
            else:
                lines.append("  %-12s (the call failed: %s)" % (mode, folder / "summary.txt"))
        lines.append("")
        for description, passed, detail in checks:
            lines.append("  %s  %s: %s" % ("ok  " if passed else "FAIL", description, detail))
        lines.append("RESULT: %s" % ("FAIL" if report.failures(checks) else "PASS"))
        return "\n".join(lines) + "\n"
