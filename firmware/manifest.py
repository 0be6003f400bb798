# What runs on the Pico W: the one list of modules a Pico W gets, in
# MicroPython's own manifest format (py/manifestfile: package(), module();
# paths relative to this file's folder). Everything that ships to a Pico or
# checks what ships reads this file:
#
#   make firmware        freezes these modules into the RPI_PICO_W image
#                        (its manifest includes the board's own, then this)
#   make flash TARGET=pico   compiles these with mpy-cross and copies them
#   make lint            type-checks these against the Pico W stubs only
#   tests/test_portability.py   imports each under MicroPython
#
# Left out on purpose: the CPython command line (intercom/__main__.py, the
# boards/cli package but its config loader), the numpy and pure-Python
# G.711 paths (CPython only; the Pico encodes with g711_viper), the WAV
# reader/writer (only the desktop audio back-ends use it: the Pico W reads
# its voicemail prompt raw after the header make flash wrote), and the sim
# and rpi boards, the desktop audio back-ends and the CPython services.

package(
    "intercom",
    files=(
        "__init__.py",
        "compat.py",
        "config.py",
        "errors.py",
        "events.py",
        "pins.py",
        "sdes.py",
        "sdp.py",
        "tz.py",
        "app/__init__.py",
        "app/door.py",
        "app/door_contact.py",
        "app/doorbell.py",
        "app/identity.py",
        "app/quiet_hours.py",
        "app/relay.py",
        "app/station.py",
        "app/voicemail.py",
        "media/__init__.py",
        "media/dtmf.py",
        "media/dtmf_inband.py",
        "media/dtmf_inband_viper.py",
        "media/dtmf_mute.py",
        "media/g711.py",
        "media/g711_plain.py",
        "media/g711_tables.py",
        "media/g711_viper.py",
        "media/half_duplex.py",
        "media/half_duplex_viper.py",
        "media/jitter.py",
        "media/plc.py",
        "media/plc_viper.py",
        "media/reception.py",
        "media/rtcp.py",
        "media/rtp.py",
        "media/session.py",
        "media/srtp.py",
        "media/srtp_viper.py",
        "media/tones.py",
        "media/tones_viper.py",
        "sip/__init__.py",
        "sip/agent.py",
        "sip/agent_settings.py",
        "sip/auth.py",
        "sip/backoff.py",
        "sip/call.py",
        "sip/client_transaction.py",
        "sip/context.py",
        "sip/credentials.py",
        "sip/dialog.py",
        "sip/fields.py",
        "sip/flow.py",
        "sip/framing.py",
        "sip/grammar.py",
        "sip/guard.py",
        "sip/headers.py",
        "sip/media_session.py",
        "sip/message.py",
        "sip/register.py",
        "sip/reliable.py",
        "sip/server_transaction.py",
        "sip/session_timer.py",
        "sip/timers.py",
        "sip/transfer.py",
        "sip/uri.py",
    ),
)
package(
    "boards",
    files=(
        "__init__.py",
        "audio/__init__.py",
        "audio/echo_control.py",
        "cli/__init__.py",
        "cli/config_file.py",
        "pico_w/__init__.py",
        "pico_w/audio.py",
        "pico_w/board.py",
        "runtime/__init__.py",
        "runtime/addresses.py",
        "runtime/debounce.py",
        "runtime/event_log.py",
        "runtime/led.py",
        "runtime/loop.py",
        "runtime/runtime.py",
        "runtime/service_loop.py",
        "runtime/srtp.py",
        "runtime/sntp.py",
        "runtime/state_file.py",
        "runtime/tcp.py",
        "runtime/udp.py",
        "services/__init__.py",
        "services/mqtt_pico.py",
        "services/mqtt_session.py",
        "services/mqtt_topics.py",
        "services/resolver.py",
        "services/start.py",
        "services/tcp_client.py",
    ),
)
module("main.py")
