# Board code: the only part of the firmware that touches sockets, clocks,
# audio devices and pins.
