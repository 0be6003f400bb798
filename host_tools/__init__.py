# Desktop-side tools (CPython only): benchmarks, and later the sim scenario,
# flashing, ladder/pcap export. Nothing here is shipped to a device.
