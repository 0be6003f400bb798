# Ladder diagrams drawn from recorded datagrams.

from host_tools.ladder import render_svg, render_text, sip_arrows, sip_label

DOOR = ("127.0.0.1", 5062)
FLAT = ("127.0.0.1", 5064)
NAMES = {DOOR: "door", FLAT: "flat"}

RECORDS = [
    (10.5, FLAT, DOOR, b"SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n"),
    (10.0, DOOR, FLAT, b"INVITE sip:flat@127.0.0.1 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"),
    (10.2, DOOR, FLAT, b"\x80\x00\x00\x01" + bytes(168)),
    (11.0, DOOR, FLAT, b"\r\n\r\n"),
]


def test_sip_label_names_requests_and_responses_and_ignores_the_rest():
    assert sip_label(b"BYE sip:x@y SIP/2.0\r\n\r\n") == "BYE"
    assert sip_label(b"SIP/2.0 486 Busy Here\r\n\r\n") == "486 Busy Here"
    assert sip_label(b"\x80\x00\x00\x01") is None
    assert sip_label(b"\r\n\r\n") is None


def test_arrows_are_time_ordered_sip_only():
    assert sip_arrows(RECORDS, NAMES) == [
        (10.0, "door", "flat", "INVITE"),
        (10.5, "flat", "door", "180 Ringing"),
    ]


def test_text_ladder_points_the_right_way():
    lines = render_text(sip_arrows(RECORDS, NAMES), ["door", "flat"], 10.0).splitlines()
    assert lines[0].split() == ["t", "(s)", "door", "flat"]
    assert lines[1].startswith("    0.000") and "INVITE" in lines[1] and lines[1].endswith(">")
    assert lines[2].startswith("    0.500") and "<" in lines[2] and "180 Ringing" in lines[2]
    assert lines[1].index("-") < lines[1].index("INVITE")


def test_svg_is_deterministic_and_escapes_labels():
    arrows = sip_arrows(RECORDS, NAMES) + [(12.0, "door", "flat", "MESSAGE <&>")]
    first = render_svg(arrows, ["door", "flat"], 10.0, "call")
    assert first == render_svg(arrows, ["door", "flat"], 10.0, "call")
    assert first.startswith("<svg") and first.rstrip().endswith("</svg>")
    assert "MESSAGE &lt;&amp;&gt;" in first
    assert first.count('marker-end="url(#head)"') == 3
