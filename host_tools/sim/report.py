"""The scenario's verdict and the summary a person reads.

Checks are (description, passed, detail) rows; the summary prints the
timings, the measured audio delays, the RTP figures and every check, and
ends with one RESULT line. Nothing here measures: the numbers come in.
"""

DELAY_PEAK_MIN = 0.5  # normalised correlation a recognisable copy reaches
DELAY_MAX_MS = 500.0  # a mouth-to-ear delay above this is broken, not slow

LABEL_WIDTH = 34


def events_in_order(names, required):
    """(passed, detail): required appear in names in this order (others may interleave)."""
    position = 0
    for name in names:
        if position < len(required) and name == required[position]:
            position += 1
    if position == len(required):
        return True, " -> ".join(required)
    seen = " -> ".join(required[:position]) or "nothing"
    return False, "got %s, then no %s (events: %s)" % (
        seen,
        required[position],
        ", ".join(names) or "none",
    )


def delay_check(label, estimate, peak_min=DELAY_PEAK_MIN, max_ms=DELAY_MAX_MS):
    """A check row for one audio direction's MouthToEar (or None: not measured)."""
    description = "%s audio recognised, delay plausible" % label
    if estimate is None:
        return (description, False, "not measured")
    detail = "lag %.1f ms, correlation %.3f" % (estimate.lag_ms, estimate.peak)
    if estimate.peak < peak_min:
        return (description, False, detail + " (below %.2f)" % peak_min)
    if not 0.0 <= estimate.lag_ms < max_ms:
        return (description, False, detail + " (outside 0-%d ms)" % max_ms)
    return (description, True, detail)


def _milliseconds(value):
    if value is None:
        return "n/a"
    return "%d ms" % round(value)


def _row(label, text):
    return "  %s %s" % ((label + " ").ljust(LABEL_WIDTH, "."), text)


def format_summary(title, timings, delays, rtp_lines, checks, artifacts=None):
    """The summary text.

    timings: [(label, ms or None)]; delays: [(label, MouthToEar or None)];
    rtp_lines: [(label, text)]; checks: [(description, passed, detail)].
    """
    lines = [title, "=" * len(title), "", "Timings (from the button press)"]
    for label, value in timings:
        lines.append(_row(label, _milliseconds(value)))
    if delays:
        lines.append("")
        lines.append(
            "Mouth-to-ear delay (sent WAV found in what was played, median of 0.5 s pieces)"
        )
        for label, estimate in delays:
            if estimate is None:
                lines.append(_row(label, "not measured"))
            else:
                text = "%6.1f ms (%.1f to %.1f over %d pieces)   correlation peak %.3f" % (
                    estimate.lag_ms,
                    estimate.min_ms,
                    estimate.max_ms,
                    estimate.segments,
                    estimate.peak,
                )
                lines.append(_row(label, text))
    if rtp_lines:
        lines.append("")
        lines.append("RTP")
        for label, text in rtp_lines:
            lines.append(_row(label, text))
    lines.append("")
    lines.append("Checks")
    failed = 0
    for description, passed, detail in checks:
        if not passed:
            failed += 1
        lines.append("  [%s] %s: %s" % ("ok" if passed else "FAIL", description, detail))
    if artifacts is not None:
        lines.append("")
        lines.append("Artifacts: %s" % artifacts)
    lines.append("")
    if failed:
        lines.append("RESULT: FAIL (%d of %d checks failed)" % (failed, len(checks)))
    else:
        lines.append("RESULT: PASS (%d checks)" % len(checks))
    return "\n".join(lines) + "\n"


def failures(checks):
    """The failed rows' "description: detail" lines."""
    return ["%s: %s" % (row[0], row[2]) for row in checks if not row[1]]
