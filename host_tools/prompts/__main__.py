"""python -m host_tools.prompts [--language en|de] [--out DIR]: the
voicemail's default prompts (host_tools/prompts/generate.py)."""

import argparse
import sys

from host_tools.prompts.generate import PROMPTS, PromptError, generate


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host_tools.prompts", description=__doc__)
    parser.add_argument("--language", choices=sorted(PROMPTS), default="en")
    parser.add_argument("--out", help="folder (default: firmware/boards/audio/prompts)")
    arguments = parser.parse_args(argv)
    try:
        written = generate(arguments.out, arguments.language)
    except PromptError as error:
        print("prompts: %s" % error, file=sys.stderr)
        return 1
    for path in written:
        print("prompts: wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
