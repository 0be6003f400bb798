"""Kamailio running the shipped deploy/kamailio/building.cfg on 127.0.0.1,
for the emulated Pico W call (tests and bench): a free UDP port, its own run
folder, users {name: (password, role)}, stopped by its PID.

The flat phone of host_tools.sim does not register: bind() gives it a
static binding through Kamailio's usrloc RPC (kamcmd ul.add), the contact a
REGISTER would have left.
"""

import os
import pathlib
import signal
import socket
import subprocess
import time

from host_tools.kamailio_users import write_users_file

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "building.cfg"
DOMAIN = "building.test"
START_TIMEOUT_S = 15


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Kamailio:
    def __init__(self, rundir, users):
        self.rundir = pathlib.Path(rundir)
        self.users = dict(users)
        self.port = free_udp_port()
        self.log_path = self.rundir / "kamailio.log"
        self.process = None

    def kamcmd(self, *arguments):
        return subprocess.run(
            ["kamcmd", "-s", "unix:%s/ctl" % self.rundir, *arguments],
            capture_output=True,
            text=True,
        )

    def start(self):
        substitutions = {
            "SIP_ADDR": "127.0.0.1",
            "SIP_PORT": self.port,
            "SIP_DOMAIN": DOMAIN,
            "RUNDIR": self.rundir,
            "USERS_FILE": write_users_file(self.rundir, self.users),
            "PIKE_SECONDS": 2,
            "PIKE_REQS": 1000,
        }
        command = ["kamailio", "-DD", "-E", "-f", str(CONFIG), "-m", "32", "-M", "4", "-n", "1"]
        command += ["-Y", str(self.rundir), "-w", str(self.rundir)]
        for name, value in substitutions.items():
            command.append("--substdef=!%s!%s!" % (name, value))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.kamcmd("core.version").returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("kamailio did not come up:\n" + self.log())
            time.sleep(0.05)
        return self

    def bind(self, user, contact):
        """A static binding of user to contact, as a REGISTER would leave it."""
        # table, AoR, contact, expires, q, path (none), flags, branch flags,
        # methods (all); kamcmd prints RPC errors with exit status 0.
        result = self.kamcmd(
            "ul.add", "location", user, contact, "3600", "1.0", "s:", "0", "0", "4294967295"
        )
        if result.returncode != 0 or result.stdout.startswith("error"):
            raise RuntimeError(
                "kamcmd ul.add %s %s: %s" % (user, contact, result.stdout + result.stderr)
            )

    def log(self):
        return self.log_path.read_text("utf-8", "replace")[-6000:] if self.log_path.exists() else ""

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
