"""Command line of `python -m host_tools.sim` (what `make sim ARGS=...` runs).

(no options)           the default scenario: door process + virtual flat
                       phone, checks, exit 0 on success (scenario.py)
--interactive          Enter rings, o sends the code, h hangs up, q quits
--audio alsa           the door uses the desktop's default ALSA mic and
                       speaker instead of the WAV files
--echo                 the call with the door's speaker coming back into its
                       mic (a simulated room), once per echo control: off,
                       half_duplex, aec (echo_scenario.py)
--server HOST[:PORT] --user U --password P --target T [--target T ...]
                       no flat phone: the door registers at a real PBX
                       and calls real phones (server.py)
--artifacts DIR        where everything is written (artifacts/sim-<time>/)
"""

import argparse
import signal
import sys

from host_tools.sim.door_config import AUDIO_MODES
from host_tools.sim.echo_scenario import EchoScenario
from host_tools.sim.scenario import DOOR_CODE, Scenario, default_artifacts
from host_tools.sim.server import ServerScenario


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m host_tools.sim",
        description="Run the simulated door (a real `intercom run --board sim` process) "
        "against a virtual flat phone, or against a real PBX, and report what happened.",
    )
    parser.add_argument(
        "--artifacts", metavar="DIR", help="folder for the artifacts (artifacts/sim-<time>/)"
    )
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="drive it by hand: Enter rings the door, o sends the code, h hangs up, q quits",
    )
    parser.add_argument(
        "--audio",
        choices=AUDIO_MODES,
        default="file",
        help="door audio: WAV files (default) or the desktop's ALSA default devices",
    )
    parser.add_argument(
        "--echo",
        action="store_true",
        help="a simulated room feeds the door's speaker back into its mic; the call runs "
        "with echo control off, half_duplex and aec, to listen to the flat's recordings",
    )
    server = parser.add_argument_group("real PBX (no virtual flat phone)")
    server.add_argument("--server", metavar="HOST[:PORT]", help="registrar/proxy to register at")
    server.add_argument("--user", help="the door's SIP user at the server")
    server.add_argument("--password", help="its SIP password")
    server.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="USER_OR_URI",
        help="whom the door calls (repeat for more, tried in order)",
    )
    server.add_argument(
        "--code", default=DOOR_CODE, help="the door code (DTMF) that opens the door (1234)"
    )
    return parser


def _interrupt(number, frame):
    raise KeyboardInterrupt  # the scenario stops its door and still reports


def main(argv=None):
    signal.signal(signal.SIGTERM, _interrupt)
    parser = build_parser()
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    artifacts = arguments.artifacts or default_artifacts()
    if arguments.echo:
        if arguments.server or arguments.interactive or arguments.audio != "file":
            parser.error("--echo runs the WAV scenario: no --server, --interactive, --audio alsa")
        return EchoScenario(artifacts, sys.stdout).run()
    if arguments.server is None:
        if arguments.user or arguments.password or arguments.target:
            parser.error("--user, --password and --target need --server")
        return Scenario(artifacts, sys.stdout, arguments.audio, arguments.interactive).run()
    if not arguments.user or not arguments.target:
        parser.error("--server needs --user and at least one --target")
    return ServerScenario(
        artifacts,
        sys.stdout,
        arguments.server,
        arguments.user,
        arguments.password,
        arguments.target,
        arguments.code,
        arguments.audio,
        arguments.interactive,
    ).run()
