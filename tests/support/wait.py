# Waiting for a condition with a generous deadline (never a fixed sleep).

import time


def wait_until(check, timeout=10.0, what="condition"):
    """check()'s first true value, polled every 50 ms up to timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.1f s" % (what, timeout))
        time.sleep(0.05)
