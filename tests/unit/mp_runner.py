# Runs the portable test modules under MicroPython (it also runs on CPython).
#
#   MICROPYPATH=firmware:tests/unit micropython tests/unit/mp_runner.py tests/unit [MODULE ...]
#
# Imports every test_*.py in DIR (or only the named modules), calls each
# test_* function in name order, prints each failure with its traceback and
# ends with the line "N passed, N failed". Exit status 1 on any failure or
# when nothing ran. The modules are found through MICROPYPATH, which must
# hold the firmware and DIR (make test and make test-micropython set it);
# this file sits in tests/unit so that the interpreter's first path entry
# (the script's folder) holds nothing named like a firmware package.

import gc
import os
import sys


def print_traceback(exc):
    if hasattr(sys, "print_exception"):
        sys.print_exception(exc)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)


def module_names(directory, wanted):
    if wanted:
        return wanted
    names = []
    for name in os.listdir(directory):
        if name.startswith("test_") and name.endswith(".py"):
            names.append(name[:-3])
    names.sort()
    return names


def run_module(name):
    passed = 0
    failed = 0
    try:
        module = __import__(name)
    except Exception as exc:
        print("ERROR importing %s (MICROPYPATH: the firmware and the test folder?)" % name)
        print_traceback(exc)
        return 0, 1
    test_names = [n for n in dir(module) if n.startswith("test_")]
    test_names.sort()
    for test_name in test_names:
        test = getattr(module, test_name)
        if not callable(test):
            continue
        try:
            test()
        except Exception as exc:
            failed += 1
            print("FAIL %s.%s" % (name, test_name))
            print_traceback(exc)
        else:
            passed += 1
    return passed, failed


def main(argv):
    if len(argv) < 2:
        print("usage: mp_runner.py DIR [MODULE ...]")
        return 2
    directory = argv[1].rstrip("/")
    passed = 0
    failed = 0
    for name in module_names(directory, argv[2:]):
        module_passed, module_failed = run_module(name)
        print("%s: %d passed, %d failed" % (name, module_passed, module_failed))
        passed += module_passed
        failed += module_failed
        gc.collect()
    print("%s %d passed, %d failed" % (sys.implementation.name + ":", passed, failed))
    return 1 if failed or not passed else 0


sys.exit(main(sys.argv))
