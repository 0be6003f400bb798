"""The Raspberry Pi bundle and deploy/install.sh in a temporary root (FakePi:
systemctl/journalctl/pinctrl recorded): the pure wheel installs into a
release venv whose `intercom` validates the installed config, the unit for
the configured relay pin passes `systemd-analyze verify`, the ALSA choice,
a second release and a one-command rollback, pruning; --dry-run does
nothing; a bad config does nothing."""

import pathlib
import subprocess
import sys
import tarfile

import pytest
from rpi_root import FakePi
from ssh_server import SshServer
from support.config import write_config
from support.paths import ROOT

from host_tools.flash import bundle

UNIT = "etc/systemd/system/intercom.service"


def write_pi_config(folder, relay, name="door.toml", gpio=None):
    sections = {
        "device": {"name": "Front door", "board": "rpi"},
        "sip": {"user": "door", "password_file": "door.secret"},
        "call": {"targets": ["sip:flat@127.0.0.1:5098"]},
        "gpio": {"relay": relay, **(gpio or {})},
    }
    path = write_config(pathlib.Path(folder) / name, sections)
    secret = pathlib.Path(folder) / "door.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    return path


def build(tmp_path, release, relay, alsa, wheel):
    from boards.cli import config_file

    work = tmp_path / ("work-" + release)
    work.mkdir()
    config = write_pi_config(work, relay)
    effective = config_file.load_config(str(config), resolve_paths=False)
    packed = bundle.build(work, release, effective, str(config), alsa, print, wheel)
    assert packed.stat().st_mode & 0o777 == 0o600  # it carries the config's secrets
    unpacked = tmp_path / ("unpacked-" + release)
    with tarfile.open(packed) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked


def install(pi, unpacked, *command):
    result = subprocess.run(
        ["sh", str(unpacked / "install.sh"), *command],
        env=pi.environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_release(pi, relay, alsa_file):
    intercom = pi.path("/opt/intercom/current/bin/intercom")
    config = pi.path("/var/lib/intercom/door.toml")
    assert config.stat().st_mode & 0o777 == 0o600
    assert pi.path("/var/lib/intercom/door.secret").stat().st_mode & 0o777 == 0o600
    checked = subprocess.run(
        [str(intercom), "config", "check", str(config), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert '"relay": %d' % relay in checked.stdout
    assert '"password": "****"' in checked.stdout  # the shipped secret file was read
    site = pi.path("/opt/intercom/current/lib")
    assert list(site.rglob("intercom/sip/agent.py"))
    assert not list(site.rglob("_g711c*.so"))  # pure wheel: no x86 code for the Pi
    prompts = sorted(path.name for path in site.rglob("boards/audio/prompts/*.wav"))
    assert prompts == ["no_answer.wav", "no_answer_message.wav"]  # the voicemail's defaults
    asound = (ROOT / "hardware" / "rpi" / alsa_file).read_text()
    assert pi.path("/etc/asound.conf").read_text() == asound
    unit = pi.path(UNIT).read_text()
    assert "ExecStopPost=%s set %d op dl\n" % (pi.tools / "pinctrl", relay) in unit
    assert "ExecStart=%s run -c %s --board rpi" % (intercom, config) in unit
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(pi.path(UNIT))], capture_output=True, text=True
    )
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr


@pytest.mark.integration  # OpenSSH's sshd takes the flash tool's ssh
def test_host_flash_rpi_install_rollback_prune_in_temp_root(tmp_path, owned):
    pi = FakePi(tmp_path)
    (tmp_path / "wheel").mkdir()
    wheel = bundle.build_wheel(tmp_path, tmp_path / "wheel")
    assert wheel.name == "intercom-0.1.0-py3-none-any.whl"
    first = build(tmp_path, "0.1.0-20260101T000000Z", 23, "i2s", wheel)
    output = install(pi, first, "install", "0.1.0-20260101T000000Z")
    assert pi.link("current") == "releases/0.1.0-20260101T000000Z"
    check_release(pi, 23, "asound.conf")
    assert pi.calls() == [
        "systemctl daemon-reload",
        "systemctl enable intercom.service",
        "systemctl restart intercom.service",
        "systemctl status --no-pager intercom.service",
        "journalctl -u intercom.service -n 20 --no-pager",
    ]
    assert "current -> releases/0.1.0-20260101T000000Z" in output

    # The next release and the rollback go through the CLI over ssh (an
    # sshd on 127.0.0.1, logged in as root, install.sh under the fake root).
    older = pi.path("/opt/intercom/releases/0.0.9-20251231T000000Z")
    older.mkdir()  # neither current nor previous after the next install: pruned
    server = owned(SshServer(tmp_path / "sshd")).start()
    remote = server.flash_options() + ["--remote-env=%s" % item for item in pi.env()]
    config = write_pi_config(tmp_path, 24)
    result = flash_rpi(*remote, "--config", str(config), "--alsa", "usb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "==> systemctl daemon-reload, enable, restart" in result.stdout
    second = pi.link("current")
    assert second.startswith("releases/0.1.0-") and second != pi.link("previous")
    assert pi.link("previous") == "releases/0.1.0-20260101T000000Z"
    check_release(pi, 24, "asound-usb.conf")
    assert not older.exists()
    assert not list(pathlib.Path("/tmp").glob("intercom-%s.tar.gz" % second[9:]))

    # One command rolls back the release and what it installed.
    result = flash_rpi(*remote, "--rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    server.stop()
    assert pi.link("current") == "releases/0.1.0-20260101T000000Z"
    assert pi.link("previous") == second
    check_release(pi, 23, "asound.conf")
    assert pi.calls()[-3] == "systemctl restart intercom.service"
    assert sorted("releases/" + p.name for p in pi.path("/opt/intercom/releases").iterdir()) == [
        "releases/0.1.0-20260101T000000Z",
        second,
    ]


def flash_rpi(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "host_tools.flash", "rpi", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_host_flash_rpi_dry_run_prints_every_step_and_does_nothing(tmp_path):
    config = write_pi_config(tmp_path, 23)
    result = flash_rpi("--host", "pi@door.local", "--config", str(config), "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("relay pin 23" in line for line in lines)
    assert any("pip wheel" in line for line in lines)
    assert any(
        line.startswith("  scp ") and "pi@door.local:/tmp/intercom-" in line for line in lines
    )
    assert any(line.startswith("  ssh ") and "install.sh install" in line for line in lines)
    assert any(line.startswith("on the device, install.sh: venv /opt/intercom/") for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["door.secret", "door.toml"]
    rollback = flash_rpi("--host", "pi@door.local", "--rollback", "--dry-run")
    assert rollback.returncode == 0
    assert "/opt/intercom/current/bundle/install.sh rollback" in rollback.stdout


def test_host_flash_rpi_bad_config_does_nothing(tmp_path):
    config = write_pi_config(tmp_path, 18, gpio={"led": 99})  # 18: I2S clock; 99: no pin
    result = flash_rpi("--host", "nobody@127.0.0.1", "--ssh-port", "1", "--config", str(config))
    assert result.returncode == 2
    assert "gpio.relay" in result.stderr and "gpio.led" in result.stderr
    assert "nothing done" in result.stderr
    assert "scp" not in result.stdout
    sim = write_pi_config(tmp_path, 23, name="sim.toml")
    sim.write_text(sim.read_text().replace('"rpi"', '"sim"'))
    wrong = flash_rpi("--host", "nobody@127.0.0.1", "--config", str(sim), "--dry-run")
    assert wrong.returncode == 2 and "device.board: 'sim' is not rpi" in wrong.stderr
    assert "ssh" not in wrong.stdout
