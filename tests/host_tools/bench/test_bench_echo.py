"""The echo section of `make bench` (host_tools/bench/echo.py): its door
calls run a real sim door process with each audio.echo, and its stages are
the ones the boards use (plus the WebRTC comparison through livekit)."""

from host_tools.bench import echo


def test_a_bench_door_call_runs_with_each_echo_control(tmp_path):
    for mode, line in (
        ("aec", "echo control aec (libspeexdsp)"),
        ("half_duplex", "echo control half-duplex"),
        ("off", None),
    ):
        cpu = echo.door_call_cpu(tmp_path / mode, mode, 2)
        assert cpu > 0
        log = (tmp_path / mode / "door.log").read_text()
        if line is None:
            assert "echo control" not in log
        else:
            assert line in log


def test_the_bench_compares_the_boards_stages_and_webrtc():
    names = [name for name, _ in echo.stages()]
    assert names == ["aec", "aec linear", "webrtc aec3", "half_duplex"]
    stage = dict(echo.stages())["webrtc aec3"]()
    frame = bytes(range(256)) + bytes(64)
    assert len(stage.process(frame)) == 320
    stage.played(frame)
