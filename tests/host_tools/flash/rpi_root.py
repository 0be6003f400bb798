# A stand-in Raspberry Pi for the rpi flash tests: a temporary root prefix
# (INTERCOM_ROOT) for deploy/install.sh, with systemctl, journalctl and
# pinctrl replaced by recorders that append their arguments to calls.log.

import os
import pathlib
import stat

RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "%s"\n'
TOOLS = ("systemctl", "journalctl", "pinctrl")


class FakePi:
    def __init__(self, folder):
        self.root = pathlib.Path(folder) / "root"
        self.tools = pathlib.Path(folder) / "tools"
        self.log = pathlib.Path(folder) / "calls.log"
        self.tools.mkdir(parents=True)
        self.root.mkdir()
        self.log.write_text("")
        for tool in TOOLS:
            path = self.tools / tool
            path.write_text(RECORDER % self.log)
            path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def env(self):
        """install.sh's environment (NAME=VALUE strings)."""
        return [
            "INTERCOM_ROOT=%s" % self.root,
            "SYSTEMCTL=%s" % (self.tools / "systemctl"),
            "JOURNALCTL=%s" % (self.tools / "journalctl"),
            "PINCTRL=%s" % (self.tools / "pinctrl"),
            "STATUS_WAIT=0",
        ]

    def environ(self):
        return {**os.environ, **dict(item.split("=", 1) for item in self.env())}

    def calls(self):
        return self.log.read_text().splitlines()

    def link(self, name):
        return os.readlink(self.root / "opt" / "intercom" / name)

    def path(self, relative):
        return self.root / relative.lstrip("/")
