# Fixtures for tests/interop: `owned` collects every process a test starts
# (Kamailio, baresip, doors, SIPp) and stops each by its PID afterwards,
# also when the test fails.

import pytest


@pytest.fixture
def owned():
    """owned(thing) -> thing; thing.stop() or thing.kill() runs at teardown."""
    things = []

    def own(thing):
        things.append(thing)
        return thing

    yield own
    for thing in reversed(things):
        stop = getattr(thing, "stop", None) or thing.kill
        stop()
