# `python -m host_tools.flash` (make flash TARGET=pico|rpi):
#
#   pico --port PORT --config FILE [--arch armv6m] [--no-reset] [--watch S]
#       see pico.py; --no-reset skips the soft reset (a unix port behind a
#       pty exits on one)
#   rpi --host USER@HOST --config FILE [--alsa i2s|usb] [--ssh-port N]
#       [--identity KEY] [--ssh-option OPT]… [--remote-env NAME=VALUE]…
#       [--dry-run]
#   rpi --host USER@HOST --rollback [--dry-run]
#       see rpi.py
# Exit: 0 done, 1 device/build/ssh problem, 2 bad config.

import argparse
import sys

from host_tools.flash import pico, rpi
from host_tools.flash.firmware_build import ARCHES


def _err(text):
    print(text, file=sys.stderr)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m host_tools.flash", description="Put the intercom firmware on a device."
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    board = targets.add_parser("pico", help="a Pico W over USB serial (mpremote)")
    board.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyACM0")
    board.add_argument("--config", required=True, metavar="FILE", help="door config (.toml)")
    board.add_argument(
        "--arch", choices=sorted(ARCHES), default="armv6m", help="mpy-cross -march (armv6m)"
    )
    board.add_argument("--no-reset", action="store_true", help="do not soft-reset after copying")
    board.add_argument(
        "--watch", type=float, default=5.0, metavar="S", help="show boot output for S s (5)"
    )
    board.set_defaults(handler=pico.run)
    pi = targets.add_parser("rpi", help="a Raspberry Pi over ssh")
    pi.add_argument("--host", required=True, metavar="USER@HOST", help="ssh destination")
    pi.add_argument("--config", metavar="FILE", help="door config (.toml)")
    pi.add_argument(
        "--alsa",
        choices=("i2s", "usb"),
        default="i2s",
        help="/etc/asound.conf: I2S mic and amp (asound.conf) or USB card (asound-usb.conf)",
    )
    pi.add_argument("--ssh-port", type=int, default=22, help="ssh port (22)")
    pi.add_argument("--identity", metavar="KEY", help="ssh private key")
    pi.add_argument(
        "--ssh-option", action="append", default=[], metavar="OPT", help="ssh -o OPT (repeatable)"
    )
    pi.add_argument(
        "--remote-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment for install.sh on the device (INTERCOM_ROOT, SYSTEMCTL, …)",
    )
    pi.add_argument("--rollback", action="store_true", help="switch back to the previous release")
    pi.add_argument("--dry-run", action="store_true", help="print every step, do nothing")
    pi.set_defaults(handler=rpi.run)
    return parser


def main(argv=None):
    arguments = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return arguments.handler(arguments, print, _err)
