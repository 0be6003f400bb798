"""`make sim ARGS="--echo"` end to end: three real sim door processes with
the simulated room on ([sim] echo_path) and echo control off, half_duplex
and aec, each against the virtual flat phone. What the resident would
hear is measured on the flat phone's recording: its own voice coming back
(echo return loss) and the visitor's voice while both talk."""

import subprocess
import sys

from support.paths import ROOT

from host_tools.sim.echo_scenario import EchoScenario


def test_the_flat_hears_its_echo_without_control_and_not_with_it(tmp_path):
    out = tmp_path / "printed.txt"
    with open(out, "w") as printed:
        scenario = EchoScenario(tmp_path, printed)
        status = scenario.run()
    text = out.read_text()
    assert status == 0, text
    rows = scenario.rows
    off_loss, off_visitor = rows["off"]
    assert off_loss < 6  # the room at -3 dB: the resident hears themself back
    aec_loss, aec_visitor = rows["aec"]
    assert aec_loss - off_loss >= 25, rows
    assert aec_visitor >= -3.0, rows  # the visitor is still there in double talk
    half_loss, half_visitor = rows["half_duplex"]
    assert half_loss - off_loss >= 25, rows
    assert half_visitor < aec_visitor  # half-duplex gives way to the far end
    for mode in ("off", "half_duplex", "aec"):
        folder = tmp_path / ("echo-" + mode)
        toml = (folder / "door.toml").read_text()
        assert 'echo = "%s"' % mode in toml and "echo_path = true" in toml
        assert (folder / "flat_heard.wav").stat().st_size > 8000 * 2 * 5
        assert str(folder / "flat_heard.wav") in text
    assert "RESULT: PASS" in (tmp_path / "echo-summary.txt").read_text()


def test_echo_runs_the_wav_scenario_only():
    for extra in (["--interactive"], ["--audio", "alsa"], ["--server", "192.0.2.1"]):
        result = subprocess.run(
            [sys.executable, "-m", "host_tools.sim", "--echo"] + extra,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (extra, result.stderr)
        assert "--echo runs the WAV scenario" in result.stderr
