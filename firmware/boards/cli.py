# The `intercom` command line (CPython only).

import argparse
import sys

import intercom


def build_parser():
    parser = argparse.ArgumentParser(
        prog="intercom", description="SIP door intercom firmware (CPython boards)."
    )
    parser.add_argument("--version", action="version", version="intercom " + intercom.__version__)
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None):
    parser = build_parser()
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    return 0
