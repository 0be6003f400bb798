# Shared by the tests of the core's state machines, which all hand out their
# events through next_event() (None when there are none left) and their
# timers through get_timer() (None when none is set) and handle_timer(now).


def drain(machine):
    """Every event the machine has waiting, oldest first."""
    out = []
    event = machine.next_event()
    while event is not None:
        out.append(event)
        event = machine.next_event()
    return out


def event_names(machine):
    """The names of every event the machine has waiting, oldest first."""
    return [event["event"] for event in drain(machine)]


def run_timers(machine, now_ms):
    """Fire every timer due up to now_ms, each at its own deadline."""
    deadline = machine.get_timer()
    while deadline is not None and deadline <= now_ms:
        machine.handle_timer(deadline)
        deadline = machine.get_timer()
