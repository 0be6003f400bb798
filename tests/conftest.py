# Fixtures and checks for every test folder.
#
# `owned`: what a test starts (doors, peers, flat phones, relays) is
# registered with it and stopped at teardown, the last started first, also
# when the test fails. `opensips_build` and `building_proxy`: the building
# proxy we ship on Kamailio and on OpenSIPS (tests/integration/kamailio,
# tests/pbx).
#
# Every test under tests/integration/ carries the `integration` marker
# (slow: real peers, attackers, a damaged network), so that
# `pytest -m "not integration"` (make test-fast) leaves all of them out;
# tests elsewhere that start a third-party peer carry it too.

import functools
import pathlib

import pytest
from support.kamailio import BuildingProxy
from support.opensips import OpensipsBuildingProxy, OpensipsMissingError, built_opensips
from support.processes import Owned

INTEGRATION = pathlib.Path(__file__).resolve().parent / "integration"


@pytest.fixture
def owned():
    """owned(thing) -> thing; thing.stop() runs at teardown."""
    registry = Owned()
    yield registry
    registry.stop_all()


@pytest.fixture(scope="session")
def opensips_build(tmp_path_factory):
    """OpenSIPS built once per session from OPENSIPS_ARCHIVE (support.opensips);
    fails, never skips, when the variable is unset."""
    try:
        return built_opensips(tmp_path_factory.mktemp("opensips-build"))
    except OpensipsMissingError as error:
        pytest.fail(str(error))


@pytest.fixture(params=["kamailio", "opensips"])
def building_proxy(request):
    """building_proxy(rundir, users) -> the building proxy we ship (not
    started), on Kamailio (deploy/kamailio) or on OpenSIPS (deploy/opensips):
    a test using it runs on both. Same logged decisions, bindings() and
    wait_registered()."""
    if request.param == "kamailio":
        return BuildingProxy
    return functools.partial(OpensipsBuildingProxy, request.getfixturevalue("opensips_build"))


def pytest_collection_modifyitems(config, items):
    unmarked = [
        item.nodeid
        for item in items
        if INTEGRATION in item.path.resolve().parents
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests under tests/integration/ need the integration marker: %s" % ", ".join(unmarked)
        )
