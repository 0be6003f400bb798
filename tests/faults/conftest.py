# Fixtures of tests/faults: everything a test starts (door processes, flat
# phones, relays, Kamailio, SIPp) is registered here and stopped by PID or
# closed in the finalizer, also when the test fails.

import pytest
from faults_rig import Started


@pytest.fixture
def rig():
    """rig.door(d) / rig.flat(**options) / rig.relay(seed, impairment) / rig.peer(p)."""
    started = Started()
    yield started
    started.close()
