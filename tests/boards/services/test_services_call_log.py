# The call log: bounded to its last 200 entries, written atomically next to
# the door state file, read back after a restart (a real sim door too).

import json

from boards.services.call_log import LIMIT, CallLog, path_next_to
from status_api import http_json
from support.config import service_door_sections
from support.door import http_listen, start_door
from support.ports import retry_when_taken


def test_the_log_keeps_the_last_entries_across_a_reload(tmp_path):
    path = str(tmp_path / "call_log.json")
    log = CallLog(path)
    assert log.entries() == [] and log.problem is None
    for number in range(LIMIT + 25):
        log.add({"ts_ms": number, "event": "button", "state": "pressed"}, 1700000000000 + number)
    assert log.save() is True
    assert log.save() is False  # unchanged: no second write
    again = CallLog(path)
    entries = again.entries()
    assert len(entries) == LIMIT
    assert entries[0]["ts_ms"] == 25 and entries[-1]["ts_ms"] == LIMIT + 24
    assert entries[-1]["time_ms"] == 1700000000000 + LIMIT + 24
    assert not (tmp_path / "call_log.json.tmp").exists()


def test_a_damaged_log_starts_empty_and_says_so(tmp_path):
    path = tmp_path / "call_log.json"
    path.write_text('{"version": 1, "entries": [')
    log = CallLog(str(path))
    assert log.entries() == []
    assert "unreadable" in log.problem
    path.write_text(json.dumps({"version": 99, "entries": []}))
    assert "unknown format" in CallLog(str(path)).problem


def test_the_log_lives_next_to_the_door_state_file():
    assert path_next_to("/var/lib/intercom/door_state.json") == "/var/lib/intercom/call_log.json"


def test_a_restarted_door_shows_the_events_of_its_previous_run(tmp_path, owned):
    def sections():
        state = {"state_file": "state/door_state.json"}
        return service_door_sections(door=state, http=http_listen())

    (tmp_path / "state").mkdir()
    door = retry_when_taken(lambda: start_door(owned, tmp_path, sections(), status_page=True))
    door.send("press")
    door.wait_for("call_started")
    door.send("quit")
    assert door.wait() == 0
    saved = json.loads((tmp_path / "state" / "call_log.json").read_text())
    assert [entry["event"] for entry in saved["entries"]][:3] == [
        "started",
        "button",
        "call_started",
    ]

    door = retry_when_taken(lambda: start_door(owned, tmp_path, sections(), status_page=True))
    names = [entry["event"] for entry in http_json(door.http_port(), "/api/log")["entries"]]
    assert names[:3] == ["started", "button", "call_started"]
    assert "call_ended" in names  # the stop hung the first call up
    assert names[-1] == "started"  # this run
    assert names.count("started") == 2
    door.send("quit")
    assert door.wait() == 0
