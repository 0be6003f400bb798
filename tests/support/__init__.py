# Shared test helpers, importable as `support` (pyproject's pytest
# `pythonpath`): what more than one test folder needs, once.
#
#   paths        where the repository, the firmware and the tools are
#   ports        free ports for peers that must be told one, started again
#                on others when taken; holds_port() from /proc
#   processes    Owned (the `owned` fixture of tests/conftest.py): what a
#                test starts, stopped by PID at teardown; PeerProcess
#   wait         wait_until(): a condition with a generous deadline
#   config       the one door config writer (TOML sections, config.json)
#   door         the one door process (CPython or MicroPython, any board):
#                JSON events, stdin commands, the ports it bound
#   audio        the one WAV reader and writer, test signals, G.711 maths
#   peers        a peer's Debian package, installed when missing
#   kamailio sipp baresip mosquitto   the real peers, on 127.0.0.1
#   flat_peer    the flat of whole-call board tests: a SIPp UAS and its RTP
#   flat_phone   a flat phone on our own core (host_tools.sim) in a thread
#   alsa         libasound file/null plugin PCMs for a door process
#   gpio         the fake RPi.GPIO, installed in sys.modules
#   pico         the Pico W board under the MicroPython unix port
#
#   hardware/    the fake RPi.GPIO package (PYTHONPATH of an rpi door)
#   micropython/ machine, network and ROMFS stand-ins (MICROPYPATH), the
#                ROMFS boot shim and flash mapping of the Pico runs
#   scenarios/   SIPp scenarios more than one folder uses
#   kamailio/    the Kamailio configs of the tests (proxy, registrar)
