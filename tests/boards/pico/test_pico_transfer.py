"""Call transfer on the Pico W board under the MicroPython unix port, its
code in a ROMFS image (as test_pico_call.py runs it, in the same bounded
heap): the flat the door calls (SIPp, support/scenarios/flat_transfers_door.xml)
answers and transfers the door by REFER to a second SIPp phone; the door
answers 202, NOTIFYs, calls the second phone, leaves the first and talks
on, without a MemoryError. The live heap is sampled every 250 ms: the
figure beside the plain call's says what a transfer costs on the Pico.

The heap: two calls at once (the visitor's and the new party's) need more
than the plain call's HEAP_ROMFS since the voicemail, the listen notice and
the call_ended media summary landed beside the transfer: 352 KiB failed 3
runs of 3 (MemoryError, a 4 KiB receive buffer), 368 KiB passed 3 of 3;
one 16 KiB step more.
"""

import pytest
from support.pico import BUTTON, build_romfs_image, control, start_pico_door, write_pico_config
from support.sipp import Sipp
from test_pico_call import romfs_boot_report

pytestmark = pytest.mark.integration  # SIPp are the flats
HEAP_ROMFS_TRANSFER = "384k"


def test_pico_w_transfers_a_call_in_the_heap_of_a_plain_call(tmp_path, owned):
    image = build_romfs_image(tmp_path, "x64", with_stand_ins=True)
    (tmp_path / "mic.raw").write_bytes(bytes(2 * 8000 * 20))  # the I2S mic: 20 s of silence
    flat2 = owned(
        Sipp(
            tmp_path,
            "flat2",
            "transfer_target_answers.xml",
            options=["-mi", "127.0.0.1"],
            fill={"EXPECT_HEADER": "Referred-By", "EXPECT_REGEXP": "sip:flat@127.0.0.1"},
        )
    ).start()
    flat2_uri = "sip:flat2@127.0.0.1:%d" % flat2.port
    flat1 = owned(
        Sipp(
            tmp_path,
            "flat1",
            "flat_transfers_door.xml",
            options=["-mi", "127.0.0.1"],
            fill={"REFER_TO": flat2_uri},
        )
    ).start()
    write_pico_config(tmp_path, flat1.port, call={"transfer_to": [flat2_uri]})
    door = start_pico_door(
        owned,
        tmp_path,
        HEAP_ROMFS_TRANSFER,
        env_extra={"PICO_HEAP_SAMPLE_MS": "250"},
        romfs_image=image,
    )
    control(tmp_path, "bounce %d pressed 5\n" % BUTTON)
    door.wait_for("answered", timeout=15)
    control(tmp_path, "release %d\n" % BUTTON)
    requested = door.wait_for("transfer_requested", timeout=15)
    assert requested["accepted"] is True, requested
    door.wait_for("transferred", timeout=15)
    assert flat1.wait(timeout_s=20) == 0, flat1.report()  # 202, NOTIFYs, the door's BYE
    control(tmp_path, "interrupt\n")  # Ctrl-C: the runtime stops, BYE to flat2
    assert door.wait(timeout=15) == 0, b"".join(door.garbage[-20:]).decode()  # its traceback
    assert flat2.wait(timeout_s=20) == 0, flat2.report()
    stderr = (tmp_path / "door.stderr").read_text()
    assert "MemoryError" not in stderr
    boot = romfs_boot_report(tmp_path)
    assert boot["outside_rom"] == []
    assert boot["samples"] >= 2
    assert 0 < boot["live_peak"] < int(HEAP_ROMFS_TRANSFER[:-1]) * 1024
    print("romfs transfer: %r" % boot)
