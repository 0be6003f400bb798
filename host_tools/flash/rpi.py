# `python -m host_tools.flash rpi --host USER@HOST --config door.toml`
#
#   1. validate the config (every problem printed, exit 2, nothing done);
#      device.board must be rpi
#   2. build the bundle (bundle.py): a pure-Python wheel, the config (0600),
#      the systemd unit for the configured relay pin, the ALSA config
#      (--alsa i2s|usb), deploy/install.sh, packed as intercom-RELEASE.tar.gz
#   3. scp it to the Pi, unpack it in a temp folder there and run
#      `sh install.sh install RELEASE` as root (sudo unless the ssh user is
#      root): venv release, switch /opt/intercom/current, restart the unit,
#      show `systemctl status` and the last 20 journal lines
#   --rollback   `install.sh rollback` of the current release (no bundle)
#   --dry-run    prints every step with its command and does nothing
#
# ssh and scp are the system's OpenSSH clients (BatchMode: keys or an
# agent, no password prompts). --remote-env NAME=VALUE passes variables to
# install.sh (INTERCOM_ROOT, SYSTEMCTL, … as its header lists).

import pathlib
import shlex
import subprocess
import tempfile
import time

import intercom
from boards.cli import config_file
from intercom.errors import ConfigError

from host_tools.flash import bundle

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
REMOTE_UPLOAD = "/tmp/intercom-%s.tar.gz"
INSTALL_STEPS = (
    "venv /opt/intercom/releases/%(release)s, pip install the wheel into it, "
    "/var/lib/intercom/door.toml (0600), /etc/asound.conf, "
    "/etc/systemd/system/intercom.service, current -> releases/%(release)s (the old "
    "current becomes previous, older releases are removed), systemctl daemon-reload, "
    "enable and restart intercom.service, systemctl status, journalctl -u "
    "intercom.service -n 20"
)


def release_name():
    return "%s-%s" % (intercom.__version__, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))


class Remote:
    """ssh/scp command lines for one device."""

    def __init__(self, arguments):
        self.host = arguments.host
        options = ["-o", "BatchMode=yes"]
        if arguments.identity:
            options += ["-i", arguments.identity]
        for option in arguments.ssh_option:
            options += ["-o", option]
        self.ssh_options = ["-p", str(arguments.ssh_port)] + options
        self.scp_options = ["-P", str(arguments.ssh_port)] + options
        self.env = list(arguments.remote_env)
        self.root = ""
        for assignment in self.env:
            name, _, value = assignment.partition("=")
            if name == "INTERCOM_ROOT":
                self.root = value

    def copy(self, local, remote):
        return ["scp", "-q", *self.scp_options, str(local), "%s:%s" % (self.host, remote)]

    def _as_root(self, script_word, *arguments):
        """Shell text running `sh SCRIPT arguments` as root; script_word is
        shell syntax (quoted by the caller), the rest is quoted here."""
        command = " ".join(
            [shlex.join(["env", *self.env, "sh"]), script_word, shlex.join(arguments)]
        )
        return 'if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; $SUDO ' + command

    def install(self, release):
        upload = shlex.quote(REMOTE_UPLOAD % release)
        remote = (
            'unpacked=$(mktemp -d) && tar -xzf %s -C "$unpacked" && rm -f %s && '
            '{ %s; status=$?; rm -rf "$unpacked"; exit $status; }'
            % (upload, upload, self._as_root('"$unpacked"/install.sh', "install", release))
        )
        return ["ssh", *self.ssh_options, self.host, remote]

    def rollback(self):
        script = shlex.quote(self.root + "/opt/intercom/current/bundle/install.sh")
        return ["ssh", *self.ssh_options, self.host, self._as_root(script, "rollback")]


def _load(arguments, err):
    problems = []
    try:
        effective = config_file.load_config(arguments.config, resolve_paths=False)
    except ConfigError as error:
        problems = error.problems
    else:
        board = effective["device"]["board"]
        if board != "rpi":
            problems = ["%s: device.board: '%s' is not rpi" % (arguments.config, board)]
    for problem in problems:
        err(problem)
    if problems:
        err("flash: %d problem(s) in the config, nothing done" % len(problems))
        return None
    return effective


def _run(command, out, err):
    out("$ " + shlex.join(command))
    result = subprocess.run(command)
    if result.returncode != 0:
        err("flash: step failed (exit %d): %s" % (result.returncode, shlex.join(command)))
    return result.returncode == 0


def run(arguments, out=print, err=print):
    remote = Remote(arguments)
    if arguments.rollback:
        command = remote.rollback()
        if arguments.dry_run:
            out("roll back to the previous release:\n  " + shlex.join(command))
            return EXIT_OK
        return EXIT_OK if _run(command, out, err) else EXIT_FAILURE
    if not arguments.config:
        err("flash rpi: --config is required (or --rollback)")
        return EXIT_CONFIG
    effective = _load(arguments, err)
    if effective is None:
        return EXIT_CONFIG
    release = release_name()
    for warning in bundle.warnings(effective, arguments.config):
        err("warning: " + warning)
    upload = REMOTE_UPLOAD % release
    if arguments.dry_run:
        out("release %s (nothing is done in a dry run)" % release)
        for step in bundle.describe(effective, arguments.config, arguments.alsa):
            out("build: " + step)
        out("copy:\n  " + shlex.join(remote.copy("intercom-%s.tar.gz" % release, upload)))
        out("install:\n  " + shlex.join(remote.install(release)))
        out("on the device, install.sh: " + INSTALL_STEPS % {"release": release})
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="intercom-bundle-") as work:
        try:
            packed = bundle.build(
                pathlib.Path(work), release, effective, arguments.config, arguments.alsa, out
            )
        except bundle.BundleError as error:
            err("flash: %s" % error)
            return EXIT_FAILURE
        for command in (remote.copy(packed, upload), remote.install(release)):
            if not _run(command, out, err):
                return EXIT_FAILURE
    return EXIT_OK
