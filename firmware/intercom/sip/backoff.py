# Randomised waits for SIP retries, from caller-supplied random bytes.
#
# RFC 5626 section 4.5 (flow recovery) defines the wait before the next
# attempt after `consecutive_failures` failed attempts in a row:
#
#     W = min(max_time, base_time * 2 ** consecutive_failures)
#     wait = a random value between 50 % and 100 % of W
#
# with base_time 30 s when every flow failed (a door has one flow, so it
# always is "every flow") or 90 s otherwise, and max_time 1800 s.
#
# RFC 5626 section 4.4.1 sends keep-alives at a random time between 80 % and
# 100 % of the recommended interval; randomised() serves both.

BACKOFF_BASE_MS = 30000  # RFC 5626 section 4.5 base-time, all flows failed
BACKOFF_CAP_MS = 1800000  # RFC 5626 section 4.5 max-time
BACKOFF_LOW_PERCENT = 50  # RFC 5626 section 4.5: 50 % .. 100 % of W

# 2 ** 16 times any sane base already exceeds any sane cap; shifting further
# would only build big integers on a microcontroller.
_MAX_SHIFT = 16


def randomised(value_ms, low_percent, random_bytes):
    """A value between low_percent % and 100 % of value_ms (integer ms).

    `random_bytes(n)` returns n random bytes; two are used, so a source that
    returns b"\\x00\\x00" gives the low end and b"\\xff\\xff" gives value_ms.
    """
    sample = random_bytes(2)
    fraction = (sample[0] << 8) | sample[1]  # 0 .. 65535
    low = value_ms * low_percent // 100
    return low + (value_ms - low) * fraction // 65535


def retry_delay_ms(
    consecutive_failures, random_bytes, base_ms=BACKOFF_BASE_MS, cap_ms=BACKOFF_CAP_MS
):
    """Wait before the next attempt after `consecutive_failures` (>= 1) failures."""
    if consecutive_failures < 1:
        raise ValueError("consecutive_failures must be at least 1")
    shift = consecutive_failures if consecutive_failures < _MAX_SHIFT else _MAX_SHIFT
    ceiling = base_ms << shift
    if ceiling > cap_ms:
        ceiling = cap_ms
    return randomised(ceiling, BACKOFF_LOW_PERCENT, random_bytes)
