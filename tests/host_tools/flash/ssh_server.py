# An OpenSSH server on 127.0.0.1 for the rpi flash tests (we run as root):
# its own host key, one client key authorized for root, a free port, no
# PAM and no passwords. /run/sshd (sshd's privilege separation folder) is
# created when missing. Stop it by its PID (stop()).

import os
import pathlib
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"


def _free_tcp_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class SshServer:
    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_tcp_port()
        self.client_key = self.folder / "client_key"
        self.known_hosts = self.folder / "known_hosts"
        self.process = None

    def start(self):
        host_key = self.folder / "host_key"
        for key in (host_key, self.client_key):
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
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stderr=open(self.folder / "sshd.log", "wb"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not start: %s" % (self.folder / "sshd.log").read_text())

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
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
