# python -m host_tools.bench [--quick] [--only NAME ...] [--output PATH]
#
# Runs every benchmark section, prints the report and writes it to
# bench/results.md (one Markdown file, one section per benchmark).

import argparse
import datetime
import pathlib
import platform
import sys

from host_tools.bench import call, echo, g711, pico, speaker

SECTIONS = {"g711": g711, "speaker": speaker, "call": call, "pico": pico, "echo": echo}
ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "bench" / "results.md"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m host_tools.bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="sections to run")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (noisier)")
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(argv)
    options.rounds = 5 if options.quick else 31
    options.run_s = 0.005 if options.quick else 0.02
    return options


def header():
    return "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `python -m host_tools.bench` (`make bench`); numbers are only",
            "comparable within one run. Run: %s UTC on %s, %s, Python %s."
            % (
                datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
                platform.machine(),
                platform.platform(terse=True),
                platform.python_version(),
            ),
        ]
    )


def main(argv=None):
    options = parse_arguments(argv)
    names = options.only or list(SECTIONS)
    parts = [header()]
    for name in names:
        section = SECTIONS[name]
        print("running %s ..." % section.SECTION, file=sys.stderr)
        parts.append("## %s\n\n%s" % (section.SECTION, section.run(options)))
    report = "\n\n".join(parts) + "\n"
    print(report)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report)
    print("written to %s" % options.output, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
