# A secure call's parties for the tests (issue 20): Kamailio with its tls
# module and a certificate from a test CA, a sim door with sip.transport =
# "tls" and audio.srtp = "mandatory" registered as "door", baresip with
# its srtp module (mediaenc=srtp-mand) registered as "flat1", both over
# TLS; and tshark capturing the proxy's TLS port and the door's RTP ports
# on lo (support.capture). Each plays a steady tone: the door DOOR_TONE,
# baresip FLAT_TONE.

from support.audio import steady_tone, write_wav
from support.baresip import Baresip
from support.capture import Capture
from support.certificates import Authority
from support.door import start_registered_door
from support.kamailio import DOOR_PASSWORD, FLAT_PASSWORD, Kamailio, KamailioTls

DOOR_TONE = 700  # Hz, what the door's microphone hears
FLAT_TONE = 1100  # Hz, what baresip sends


def secure_call(tmp_path, owned, door_settings):
    """(proxy, baresip, door, capture): all registered over TLS, the capture
    running."""
    authority = Authority(tmp_path / "ca")
    certificate, key = authority.issue("proxy", addresses=["127.0.0.1"])
    folder = tmp_path / "kamailio"
    folder.mkdir()
    proxy = owned(Kamailio(folder, tls=KamailioTls(certificate, key))).start()
    door_folder = tmp_path / "door"
    door_folder.mkdir()
    write_wav(door_folder / "visitor.wav", steady_tone(30, DOOR_TONE))
    settings = {
        "sip": {"transport": "tls", "tls_ca": str(authority.certificate)},
        "audio": {"input": "file:visitor.wav", "srtp": "mandatory"},
    }
    settings.update(door_settings)
    door = start_registered_door(
        owned, door_folder, "Door", "door", DOOR_PASSWORD, proxy.tls_port, ["flat1"], **settings
    )
    ports = "tcp port %d or udp port %d or udp port %d" % (
        proxy.tls_port,
        door.rtp_port,
        door.rtp_port + 1,
    )
    capture = owned(Capture(tmp_path, "host 127.0.0.1 and (%s)" % ports)).start()
    flat_source = write_wav(tmp_path / "flat_tone.wav", steady_tone(60, FLAT_TONE))
    flat = Baresip(
        tmp_path / "baresip",
        "flat1",
        FLAT_PASSWORD,
        proxy.tls_port,
        flat_source,
        ca_file=authority.certificate,
        mediaenc="srtp-mand",
    )
    owned(flat).start()
    bound = proxy.wait_registered(["door", "flat1"])
    assert all(contact.endswith(";transport=tls") for contact in bound["door"] + bound["flat1"])
    return proxy, flat, door, capture
