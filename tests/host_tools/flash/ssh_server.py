# An OpenSSH server on 127.0.0.1 for the rpi flash tests (we run as root):
# its own host key, one client key authorized for root, a free port (a new
# one when it was taken before sshd bound it), no PAM and no passwords.
# /run/sshd (sshd's privilege separation folder) is created when missing.
# Stop it by its PID (stop()).

import os
import pathlib
import subprocess

from support.ports import free_port, holds_port, retry_when_taken
from support.processes import PeerProcess

SSHD = "/usr/sbin/sshd"


class SshServer:
    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = None
        self.client_key = self.folder / "client_key"
        self.known_hosts = self.folder / "known_hosts"
        self.peer = None

    def start(self):
        return retry_when_taken(lambda: self._start(free_port(tcp=True)))

    def _start(self, port):
        self.port = port
        host_key = self.folder / "host_key"
        for key in (host_key, self.client_key):
            if not key.exists():  # made at the first start
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
                )
        authorized = self.folder / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        public = host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text("[127.0.0.1]:%d %s %s\n" % (self.port, public[0], public[1]))
        config = self.folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    "Port %d" % self.port,
                    "ListenAddress 127.0.0.1",
                    "HostKey %s" % host_key,
                    "AuthorizedKeysFile %s" % authorized,
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PidFile none",
                    "Subsystem sftp /usr/lib/openssh/sftp-server",
                    "",
                ]
            )
        )
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.peer = PeerProcess("sshd", self.folder / "sshd.log")
        self.peer.launch([SSHD, "-D", "-e", "-f", config])
        self.peer.wait_started(lambda: holds_port(self.peer.pid, port, tcp=True))
        return self

    def flash_options(self):
        """host_tools.flash rpi options reaching this server as root."""
        return [
            "--host",
            "root@127.0.0.1",
            "--ssh-port",
            str(self.port),
            "--identity",
            str(self.client_key),
            "--ssh-option",
            "UserKnownHostsFile=%s" % self.known_hosts,
        ]

    def stop(self):
        if self.peer is not None:
            self.peer.stop()
