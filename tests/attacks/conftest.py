# Fixtures of tests/attacks (the rig of tests/faults): everything a test
# starts (door processes, flat phones, relays, Kamailio, SIPp) is registered
# here and stopped by PID or closed in the finalizer, also when it fails.

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "faults"))

from faults_rig import Started  # noqa: E402


@pytest.fixture
def rig():
    """rig.door(d) / rig.flat(**options) / rig.relay(seed, impairment) / rig.peer(p)."""
    started = Started()
    yield started
    started.close()
