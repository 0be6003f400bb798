# The `intercom` command line (CPython only).
#
#   intercom config check FILE [--format toml|json]
#       validates FILE; prints the effective config, secrets as "****", to
#       stdout (TOML by default) and exits 0; otherwise prints every problem
#       ("FILE: key: what is wrong") to stderr and exits 2. Opens no socket.
#       With a door.code, the TOML ends with a comment saying how long a
#       guesser needs on average (intercom.app.door.expected_guess_seconds);
#       under WEAK_GUESS_S that line also goes to stderr as a warning, in
#       both formats.
#   intercom config to-json FILE
#       prints the effective config as the config.json a Pico W loads: every
#       default filled in, unset keys as null, sip.password_file read into
#       sip.password (the output holds secrets), relative paths as written.
#   intercom run -c FILE [--board sim|rpi|pico_w] [--log json|text]
#                [--exit-after-call] [--local-host ADDRESS]
#       runs the firmware: loads FILE (every problem on stderr, exit 2,
#       before any socket is opened), then the board module's run() (the
#       board from --board, else device.board); exit 0 after quit, a
#       signal or --exit-after-call, 1 when the device cannot start.
#       --log json: events as JSON lines on stdout; text (default): human
#       lines on stderr. Board modules are imported only when chosen.
#   intercom doctor -c FILE [--timeout S]
#       checks a door's setup here (boards/cli/doctor.py): the config, an
#       OPTIONS ping to the SIP server (or each peer-to-peer target), the
#       audio devices, the GPIO pins; prints what to fix. Exit 0 when all is
#       good, 1 with problems.
#
# Each command sets `handler` on its parser; main() calls it.

import argparse
import json
import sys

import intercom
from intercom import config as schema
from intercom.app.door import expected_guess_seconds
from intercom.errors import ConfigError

from boards.cli import config_file
from boards.cli.config_text import format_toml

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
WEAK_GUESS_S = 365 * 86400  # a code that falls within a year is weak


def _report(error):
    for problem in error.problems:
        print(problem, file=sys.stderr)
    count = len(error.problems)
    print(
        "intercom: %d problem%s, nothing started" % (count, "" if count == 1 else "s"),
        file=sys.stderr,
    )
    return EXIT_CONFIG


def run_config_check(arguments):
    try:
        effective = config_file.load_config(arguments.file)
    except ConfigError as error:
        return _report(error)
    shown = schema.masked(effective)
    codes = codes_to_judge(effective)
    if arguments.format == "json":
        print(json.dumps(shown, indent=2))
    else:
        print(format_toml(shown), end="")
        for key, door in codes:
            guess = guess_time_text(door, key)
            if guess is not None:
                print("# %s" % guess)
    for key, door in codes:
        seconds = expected_guess_seconds(door)
        if seconds is not None and seconds < WEAK_GUESS_S:
            print(
                "%s: warning: %s; use a longer code, fewer door.max_attempts or a longer "
                "door.lockout_max" % (arguments.file, guess_time_text(door, key)),
                file=sys.stderr,
            )
    return EXIT_OK


def codes_to_judge(effective):
    """(key, door settings with that code): door.code and each button's own."""
    door = effective["door"]
    codes = [("door.code", door)]
    for index, button in enumerate(effective["button"]):
        if button["code"] != door["code"]:
            codes.append(("button[%d].code" % index, dict(door, code=button["code"])))
    return codes


def guess_time_text(door, key="door.code"):
    """How long a guesser needs on average for door's code, or None without a code."""
    seconds = expected_guess_seconds(door)
    if seconds is None:
        return None
    return (
        "%s: a guesser needs %s on average to find this %d-key code by DTMF "
        "(%d wrong codes per lockout, lockouts from %d s doubling to %d s; typing "
        "and calling time not counted)"
        % (
            key,
            duration_text(seconds),
            len(door["code"]),
            door["max_attempts"],
            door["lockout"],
            door["lockout_max"],
        )
    )


def duration_text(seconds):
    """A rough human duration: "40 minutes", "3.5 days", "4.6 years"."""
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return "about %.1f %s" % (seconds / size, unit)
    return "about %d minutes" % max(1, seconds // 60)


def run_config_to_json(arguments):
    try:
        effective = config_file.load_config(arguments.file, resolve_paths=False)
    except ConfigError as error:
        return _report(error)
    effective["sip"]["password_file"] = None
    print(json.dumps(effective, indent=2))
    return EXIT_OK


def _board_module(name):
    if name == "sim":
        from boards.sim import board as module
    elif name == "rpi":
        from boards.rpi import board as module
    else:
        from boards.pico_w import board as module
    return module


def run_device(arguments):
    try:
        effective = config_file.load_config(arguments.config)
    except ConfigError as error:
        return _report(error)
    board = arguments.board or effective["device"]["board"]
    effective["device"]["board"] = board
    try:
        module = _board_module(board)
    except (ImportError, RuntimeError) as error:  # RPi.GPIO raises RuntimeError off a Pi
        print("intercom: board '%s' is not available here: %s" % (board, error), file=sys.stderr)
        return EXIT_FAILURE
    return module.run(
        effective,
        log_mode=arguments.log,
        exit_after_call=arguments.exit_after_call,
        local_host=arguments.local_host,
    )


def _add_run_command(commands):
    run = commands.add_parser("run", help="run the door station")
    run.add_argument("-c", "--config", required=True, metavar="FILE", help="config file")
    run.add_argument("--board", choices=schema.BOARDS, help="board to run (default: device.board)")
    run.add_argument(
        "--log",
        choices=("json", "text"),
        default="text",
        help="events as JSON lines on stdout, or text on stderr (text)",
    )
    run.add_argument(
        "--exit-after-call", action="store_true", help="stop after the first call ends"
    )
    run.add_argument(
        "--local-host",
        metavar="ADDRESS",
        help="our address as peers reach us (default: found from the route)",
    )
    run.set_defaults(handler=run_device)


def run_doctor(arguments):
    from boards.cli import doctor

    return doctor.run(arguments.config, arguments.timeout)


def _add_doctor_command(commands):
    doctor = commands.add_parser(
        "doctor", help="check the config, SIP server, audio devices and pins; say what to fix"
    )
    doctor.add_argument("-c", "--config", required=True, metavar="FILE", help="config file")
    doctor.add_argument(
        "--timeout", type=float, default=2.0, metavar="S", help="wait S s for SIP answers (2)"
    )
    doctor.set_defaults(handler=run_doctor)


def _add_config_commands(commands):
    config_parser = commands.add_parser(
        "config", help="check a config file or convert it for a Pico W"
    )
    actions = config_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate FILE and print the effective config (secrets masked)"
    )
    check.add_argument("file", metavar="FILE", help="config file (.toml, or .json)")
    check.add_argument(
        "--format", choices=("toml", "json"), default="toml", help="output format (toml)"
    )
    check.set_defaults(handler=run_config_check)
    to_json = actions.add_parser(
        "to-json", help="print FILE as the config.json of a Pico W (includes secrets)"
    )
    to_json.add_argument("file", metavar="FILE", help="config file (.toml)")
    to_json.set_defaults(handler=run_config_to_json)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="intercom", description="SIP door intercom firmware (CPython boards)."
    )
    parser.add_argument("--version", action="version", version="intercom " + intercom.__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_config_commands(commands)
    _add_run_command(commands)
    _add_doctor_command(commands)
    return parser


def main(argv=None):
    parser = build_parser()
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    return arguments.handler(arguments)
