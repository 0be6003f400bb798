# baresip 1.0 (package baresip-core) as a headless flat phone (PEERS.md):
# a config folder of its own, answers automatically, plays a long WAV
# (baresip hangs up when its source ends), records each call's audio with
# sndfile, takes commands on ctrl_tcp; on free 127.0.0.1 ports (new ones
# when one was taken before baresip bound it), stopped by its PID. With
# ca_file it talks SIP over TLS to the proxy's proxy_port (checking its
# certificate against ca_file) and, with mediaenc (PEERS.md "TLS and
# SRTP": "srtp" or "srtp-mand"), SRTP through its srtp module.

import json
import pathlib
import socket
import time

from support.audio import read_wav
from support.peers import ensure_installed
from support.ports import free_port, holds_port, retry_when_taken
from support.processes import PeerProcess

READY_LINE = "baresip is ready."


class Baresip:
    """recording("dec") is what it heard, recording("enc") what it sent."""

    def __init__(self, folder, user, password, proxy_port, source_wav, ca_file=None, mediaenc=None):
        self.folder = pathlib.Path(folder)
        self.ca_file = ca_file
        self.mediaenc = mediaenc
        self.folder.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.password = password
        self.proxy_port = proxy_port
        self.source_wav = source_wav
        self.port = None
        self.control_port = None
        self.recordings = self.folder / "recordings"
        self.recordings.mkdir(exist_ok=True)
        self.output_path = self.folder / "baresip.log"
        self.peer = None
        self.control = None
        self.received = b""
        self.events = []

    @property
    def process(self):
        return self.peer.process

    def _write_config(self):
        # No player: the sndfile filter records the decoded stream on the
        # receive path; a never-blocking alsa,null player would burn a core.
        config = [
            "sip_listen 127.0.0.1:%d" % self.port,
            "net_interface 127.0.0.1",
            "dns_server 127.0.0.1:53",
            "audio_source aufile,%s" % self.source_wav,
            "audio_player none,none",
            "audio_alert none,none",
            "module_path /usr/lib/baresip/modules",
            "module g711.so",
            "module aufile.so",
            "module sndfile.so",
            "module menu.so",
            "module ctrl_tcp.so",
            "module account.so",
            "ctrl_tcp_listen 127.0.0.1:%d" % self.control_port,
            "snd_path %s" % self.recordings,
        ]
        transport = ""
        if self.ca_file is not None:
            config.append("sip_cafile %s" % self.ca_file)
            transport = ";transport=tls"
        if self.mediaenc is not None:  # loaded before account.so reads the accounts
            config.insert(config.index("module account.so"), "module srtp.so")
        (self.folder / "config").write_text("\n".join(config) + "\n")
        account = "<sip:%s@127.0.0.1%s>;auth_pass=%s;answermode=auto;regint=600" % (
            self.user,
            transport,
            self.password,
        )
        account += ';outbound="sip:127.0.0.1:%d%s"' % (self.proxy_port, transport)
        if self.mediaenc is not None:
            account += ";mediaenc=" + self.mediaenc
        (self.folder / "accounts").write_text(account + "\n")

    def start(self):
        ensure_installed(["baresip"], "baresip-core")
        return retry_when_taken(self._start)

    def _start(self):
        # baresip also opens a TLS listener on its SIP port + 1 (PEERS.md).
        self.port = free_port(span=2, tcp=True)
        self.control_port = free_port(tcp=True)
        self._write_config()
        self.peer = PeerProcess("baresip", self.output_path)
        self.peer.launch(["baresip", "-f", self.folder], cwd=self.folder)
        # Ready once every module loaded (a taken port is in the log by
        # then) and baresip itself holds the control port.
        self.peer.wait_started(
            lambda: (
                READY_LINE in self.peer.log(100000)
                and holds_port(self.peer.pid, self.control_port, tcp=True)
            )
        )
        self.control = socket.create_connection(("127.0.0.1", self.control_port), 1)
        self.control.settimeout(0.2)
        return self

    def output(self):
        return self.output_path.read_text("utf-8", "replace")[-4000:]

    def command(self, name, params=""):
        """Send one ctrl_tcp command (netstring-framed JSON)."""
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.control.sendall(b"%d:%s," % (len(body), body))

    def _pump(self):
        try:
            data = self.control.recv(65536)
        except TimeoutError:
            return
        self.received += data
        while b":" in self.received:
            length, _, rest = self.received.partition(b":")
            if not length.isdigit() or len(rest) < int(length) + 1:
                return
            body, self.received = rest[: int(length)], rest[int(length) + 1 :]
            self.events.append(json.loads(body))

    def wait_event(self, kind, timeout=10.0):
        """The first ctrl_tcp event of type `kind` (e.g. CALL_ESTABLISHED)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("type") == kind:
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(
                    "baresip: no %s; saw %r\n%s" % (kind, self.events, self.output())
                )
            self._pump()

    def recording(self, direction):
        """The samples of the one call recording, "dec" (heard) or "enc" (sent)."""
        found = sorted(self.recordings.glob("*-%s.wav" % direction))
        assert len(found) == 1, (found, self.output())
        return read_wav(found[0])

    def cpu_seconds(self):
        """User + system CPU time baresip used so far (from /proc)."""
        fields = pathlib.Path("/proc/%d/stat" % self.process.pid).read_text().rsplit(")", 1)[1]
        values = fields.split()
        return (int(values[11]) + int(values[12])) / 100.0

    def stop(self):
        if self.control is not None:
            self.control.close()
        if self.peer is not None:
            self.peer.stop()


def baresip_calls_the_door(flat, door, uri, talk_s):
    """flat dials the door at uri, the door takes the call, they talk for
    talk_s, flat hangs up: the door ends it as remote_hangup."""
    flat.command("dial", uri)
    incoming = door.wait_for("incoming_call", timeout=10)
    assert incoming["accepted"] is True, incoming
    flat.wait_event("CALL_ESTABLISHED")
    time.sleep(talk_s)
    flat.command("hangup")
    ended = door.wait_for("call_ended", timeout=5)
    assert ended["reason"] == "remote_hangup", ended
    flat.wait_event("CALL_CLOSED")
