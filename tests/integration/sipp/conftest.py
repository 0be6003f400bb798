# The `owned` fixture of tests/interop: every process or socket a test
# starts is stopped by its PID at teardown, also when the test fails.

from tests.interop.conftest import owned  # noqa: F401 (a fixture, found by name)
