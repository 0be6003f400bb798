# Benchmarks: `python -m host_tools.bench` (what `make bench` runs).
#
# Each benchmark is a module in this package with a SECTION title and a
# run(options) function returning the Markdown body of its section; SECTIONS
# in __main__ lists them in order. Every section compares against a reference
# measured in the same run (audioop, a plain numpy lookup, ...) and reports
# ratios, never absolute pass/fail timings: speed is measured, not asserted.
