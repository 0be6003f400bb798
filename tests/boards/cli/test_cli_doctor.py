"""`intercom doctor -c CONFIG`: a SIPp UAS on 127.0.0.1 answers the OPTIONS
ping (status and round trip reported), a free port gives "no answer" after
the timeout, ALSA PCMs from libasound's file/null plugins open, an unknown
PCM and a missing pyalsaaudio are reported with what to fix, a config with
colliding pins lists every problem; exit 0 only when all is good."""

import os
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import threading

import pytest
from support.alsa import write_alsa_config
from support.certificates import Authority
from support.config import write_config
from support.ports import free_port
from support.sipp import Sipp

HERE = pathlib.Path(__file__).resolve().parent


def doctor_config(folder, sip=None, audio_input="door_mic", audio_output="door_speaker", gpio=None):
    """folder/door.toml of a Pi door; its one target a port nobody answers."""
    sections = {
        "device": {"name": "Front door", "board": "rpi"},
        "sip": {"user": "door", **(sip or {})},
        "call": {"targets": ["sip:flat@127.0.0.1:%d" % free_port()]},
        "audio": {"input": audio_input, "output": audio_output},
    }
    if gpio:
        sections["gpio"] = gpio
    return write_config(folder / "door.toml", sections)


def doctor(folder, config, *extra, pythonpath=()):
    (folder / "mic.raw").write_bytes(bytes(3200))
    alsa_env, _ = write_alsa_config(folder, folder / "mic.raw")
    env = {
        **os.environ,
        **alsa_env,
        "PYTHONPATH": os.pathsep.join([*pythonpath, os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "intercom", "doctor", "-c", str(config), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


@pytest.mark.integration  # SIPp is the SIP server
def test_host_flash_doctor_all_good_against_a_sip_server(tmp_path, owned):
    server = owned(Sipp(tmp_path, "server", HERE / "options_uas.xml")).start()
    port = server.port
    config = doctor_config(tmp_path, {"server": "127.0.0.1:%d" % port})
    result = doctor(tmp_path, config, "--timeout", "5")
    assert server.wait(timeout_s=20) == 0, server.report()
    assert result.returncode == 0, result.stdout + result.stderr
    line = re.search(
        r"ok    sip sip.server: OPTIONS sip:127.0.0.1:(\d+) -> 200 OK in ([\d.]+) ms", result.stdout
    )
    assert line is not None, result.stdout
    assert int(line.group(1)) == port and float(line.group(2)) < 5000
    assert "ALSA PCM 'door_mic' opens for capture" in result.stdout
    assert "ALSA PCM 'door_speaker' opens for playback" in result.stdout
    assert "button 1 on 17, relay 27, led 22" in result.stdout
    assert "ok    audio.echo: aec: libspeexdsp loads (tail 160 ms, delay measured)" in result.stdout
    assert result.stdout.rstrip().endswith("all good")


def test_host_flash_doctor_reports_no_answer_and_an_unknown_pcm(tmp_path):
    config = doctor_config(tmp_path, audio_input="no_such_pcm", audio_output="null")
    result = doctor(tmp_path, config, "--timeout", "0.6")
    assert result.returncode == 1
    out = result.stdout
    assert re.search(
        r"FAIL  sip call.targets\[0\]: OPTIONS sip:127.0.0.1:\d+: no answer in 0.6 s", out
    )
    assert "FAIL  audio.input: audio.input: cannot open ALSA PCM 'no_such_pcm'" in out
    assert out.count("        fix: ") == 2
    assert "ok    audio.output: 'null'" in out
    assert out.rstrip().endswith("2 problem(s)")


def test_host_flash_doctor_without_pyalsaaudio_says_no_alsa(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "alsaaudio.py").write_text("raise ImportError('blocked for the test')\n")
    config = doctor_config(tmp_path, audio_input="file:%s" % (tmp_path / "none.wav"))
    result = doctor(tmp_path, config, "--timeout", "0.2", pythonpath=[str(blocker)])
    assert result.returncode == 1
    assert "FAIL  audio.output: no ALSA: pyalsaaudio is not installed" in result.stdout
    assert "FAIL  audio.input: " in result.stdout and "none.wav" in result.stdout


def test_host_flash_doctor_lists_every_config_problem_with_pins(tmp_path):
    config = doctor_config(tmp_path, gpio={"relay": 18, "led": 17})  # I2S clock; the button
    result = doctor(tmp_path, config)
    assert result.returncode == 1
    out = result.stdout
    assert re.search(r"FAIL  config: \S+: gpio.relay: pin 18 is the I2S (mic|amp) sck pin", out)
    assert re.search(r"FAIL  config: \S+: gpio.led: pin 17 is already gpio.button", out)
    assert "sip " not in out  # nothing else runs on a bad config


def test_host_flash_doctor_says_when_the_echo_canceller_is_missing(tmp_path):
    # libspeexdsp hidden: ctypes' find_library and the names we try find nothing
    blocker = tmp_path / "blocker"
    (blocker / "ctypes").mkdir(parents=True)
    import ctypes

    real = pathlib.Path(ctypes.__file__).parent
    (blocker / "ctypes" / "__init__.py").write_text(
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('ctypes', %r,\n"
        "    submodule_search_locations=[%r])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['ctypes'] = module\n"
        "spec.loader.exec_module(module)\n"
        "real_cdll = module.CDLL\n"
        "class CDLL(real_cdll):\n"
        "    def __init__(self, name, *args, **kwargs):\n"
        "        if name and 'speexdsp' in str(name):\n"
        "            raise OSError('hidden for the test')\n"
        "        real_cdll.__init__(self, name, *args, **kwargs)\n"
        "module.CDLL = CDLL\n" % (str(real / "__init__.py"), str(real))
    )
    config = doctor_config(tmp_path, audio_output="null")
    result = doctor(tmp_path, config, "--timeout", "0.2", pythonpath=[str(blocker)])
    assert "FAIL  audio.echo: aec, but libspeexdsp.so.1 is not installed" in result.stdout
    assert "apt-get install libspeexdsp1" in result.stdout


class TlsOptionsServer:
    """A SIP server over TLS in a thread: answers one OPTIONS with 200 OK
    (the request's own Via, Call-ID and CSeq) with the certificate given."""

    def __init__(self, certificate, key):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(20)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            connection, _ = self.listener.accept()
            with self.context.wrap_socket(connection, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += tls.recv(4096)
                keep = [
                    line
                    for line in request.split(b"\r\n")
                    if line[:4] in (b"Via:", b"Call", b"CSeq")
                ]
                tls.sendall(
                    b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n"
                )
        except (OSError, ssl.SSLError):  # the door gave up on our certificate
            pass

    def stop(self):
        self.listener.close()
        self.thread.join(20)


def test_host_flash_doctor_over_tls_checks_the_certificate_as_the_door_does(tmp_path, owned):
    authority = Authority(tmp_path / "ca")
    server = owned(TlsOptionsServer(*authority.issue("pbx", addresses=["127.0.0.1"])))
    sip = {"server": "127.0.0.1:%d" % server.port, "transport": "tls"}
    sip["tls_ca"] = str(authority.certificate)
    config = doctor_config(tmp_path, sip, audio_output="null")
    out = doctor(tmp_path, config, "--timeout", "5").stdout
    shown = "OPTIONS sip:127.0.0.1:%d over TLSv1" % server.port
    assert re.search(r"ok    sip sip.server: %s\.\d, certificate checked -> 200 OK" % shown, out), (
        out
    )
    expired = owned(TlsOptionsServer(*authority.issue_expired("old", addresses=["127.0.0.1"])))
    sip["server"] = "127.0.0.1:%d" % expired.port
    config = doctor_config(tmp_path, sip, audio_output="null")
    out = doctor(tmp_path, config, "--timeout", "5").stdout
    assert (
        "FAIL  sip sip.server: OPTIONS sip:127.0.0.1:%d over TLS: tls_expired" % expired.port in out
    ), out
    assert "fix: renew the server's certificate" in out
