# Fixtures of tests/faults: everything a test starts (door processes, flat
# phones, relays, Kamailio, SIPp) is registered here and stopped by PID or
# closed in the finalizer, also when the test fails.

import pytest
from faults_rig import Flat

from host_tools.netem_relay import Relay


@pytest.fixture
def rig():
    """rig.door(d) / rig.flat(**options) / rig.relay(seed, impairment) / rig.peer(p)."""
    started = Started()
    yield started
    started.close()


class Started:
    def __init__(self):
        self.items = []

    def door(self, door):
        self.items.append(("door", door))
        return door

    def flat(self, **options):
        flat = Flat(**options)
        self.items.append(("flat", flat))
        return flat

    def relay(self, seed, impairment=None):
        relay = Relay(seed, impairment)
        self.items.append(("relay", relay))
        return relay

    def peer(self, peer):
        """Anything with stop(): Kamailio, Sipp."""
        self.items.append(("peer", peer))
        return peer

    def close(self):
        for kind, item in reversed(self.items):
            if kind == "door":
                item.kill()
            elif kind == "flat":
                item.close()
            else:
                item.stop()
