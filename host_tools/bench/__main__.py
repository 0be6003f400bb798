# python -m host_tools.bench [--quick] [--only NAME ...] [--output PATH]
#
# Runs every benchmark section (or those --only names), prints what it ran
# and writes bench/results.md: one Markdown file, one "## " section per
# benchmark, each starting with the run it came from. --only replaces its
# own sections in the file and keeps the others as they were, so one
# section's figures can be refreshed without running them all. A section
# that fails keeps its earlier figures; the exit status is then 1.

import argparse
import datetime
import pathlib
import platform
import re
import sys
import traceback

from host_tools.bench import call, echo, g711, pico, profile_door, speaker, srtp

SECTIONS = {
    "g711": g711,
    "speaker": speaker,
    "call": call,
    "frame": profile_door,
    "pico": pico,
    "echo": echo,
    "srtp": srtp,
}
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


HEADER = """# Benchmark results

Written by `python -m host_tools.bench` (`make bench`; `--only NAME` refreshes
one section). Numbers are only comparable within one run: each section says
which run it comes from."""


def run_line():
    return "Run: %s UTC on %s, %s, Python %s." % (
        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        platform.machine(),
        platform.platform(terse=True),
        platform.python_version(),
    )


def sections_of(text):
    """{title: text} of the "## title" sections of a results file, in order."""
    parts = re.split(r"^## (.+)\n", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}


def report(old_text, new_sections):
    """The results file: old_text's sections, those in new_sections
    replaced (or added, in SECTIONS order)."""
    sections = sections_of(old_text)
    for title, text in new_sections.items():
        sections[title] = text
    order = [module.SECTION for module in SECTIONS.values()]
    titles = [title for title in order if title in sections]
    titles += [title for title in sections if title not in order]
    parts = [HEADER] + ["## %s\n\n%s" % (title, sections[title]) for title in titles]
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    """Runs the sections and writes the file. A section that fails (a peer
    that does not start on a busy machine, a tool missing) keeps in the file
    what an earlier run wrote, its error goes to stderr, the other sections
    are still run and written, and the exit status is 1."""
    options = parse_arguments(argv)
    names = options.only or list(SECTIONS)
    new_sections = {}
    failed = []
    for name in names:
        section = SECTIONS[name]
        print("running %s ..." % section.SECTION, file=sys.stderr)
        try:
            body = section.run(options)
        except Exception:  # the section's own failure: the others still run
            failed.append(name)
            print(traceback.format_exc(), file=sys.stderr)
            continue
        new_sections[section.SECTION] = "%s\n\n%s" % (run_line(), body)
        print("## %s\n\n%s\n" % (section.SECTION, new_sections[section.SECTION]))
    old_text = options.output.read_text() if options.output.is_file() else ""
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report(old_text, new_sections))
    print("written to %s" % options.output, file=sys.stderr)
    if failed:
        print(
            "failed: %s (their sections keep an earlier run's figures)" % ", ".join(failed),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
