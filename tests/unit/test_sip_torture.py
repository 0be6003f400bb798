# RFC 4475 (SIP torture test messages) and RFC 5118 (IPv6 torture tests),
# typed from the RFC text. Each test is named after the RFC's message name.
#
# Notation: RFC 4475 section 2 writes <allOneLine>, <hex> and <repeat>; here
# the long lines are joined, hex bytes are \x escapes and repeats are built
# with `*` (longreq). Every line ends with an explicit \r\n.
#
# Where the RFC leaves the decision to the UA (420, 415, 501, 406, 483,
# discarding a response with two Vias), the test checks that the parser hands
# the UA what it needs and says so.

from intercom.sdp import parse_sdp
from intercom.sip.message import (
    Request,
    Response,
    SipParseError,
    error_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_via,
    unsupported_requirements,
)
from intercom.sip.uri import parse_uri


def handley_sdp(origin, connection=None, start_time=b"0"):
    """The SDP body most RFC 4475 messages carry: one audio and one
    video stream, origin (and, unless told otherwise, connection) at the
    given IPv4 address."""
    return (
        b"v=0\r\n"
        b"o=mhandley 29739 7272939 IN IP4 " + origin + b"\r\n"
        b"s=-\r\n"
        b"c=IN IP4 " + (connection or origin) + b"\r\n"
        b"t=" + start_time + b" 0\r\n"
        b"m=audio 49217 RTP/AVP 0 12\r\n"
        b"m=video 3227 RTP/AVP 31\r\n"
        b"a=rtpmap:31 LPC\r\n"
    )


def refused(data):
    """The SipParseError parse_message raises for data (fails if none)."""
    try:
        parse_message(data)
    except SipParseError as error:
        return error
    raise AssertionError("parsed a message the RFC calls invalid")


def answer_line(error):
    response = error_response(error)
    return response.to_bytes().split(b"\r\n", 1)[0]


# -- RFC 4475 section 3.1.1: valid messages ---------------------------------

WSINV = (
    b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    b"TO :\r\n"
    b" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
    b"  ;\r\n"
    b"  tag = 98asjd8\r\n"
    b"MaX-fOrWaRdS: 0068\r\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    b"Content-Length   : 150\r\n"
    b"cseq: 0009\r\n"
    b"  INVITE\r\n"
    b"Via  : SIP  /   2.0\r\n"
    b" /UDP\r\n"
    b"    192.0.2.2;branch=390skdjuw\r\n"
    b"s :\r\n"
    b"NewFangledHeader:   newfangled value\r\n"
    b" continued newfangled value\r\n"
    b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Route:\r\n"
    b" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
    b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
    b"  branch  =   z9hG4bK9ikj8  ,\r\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
    b" z9hG4bK30239\r\n"
    b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n'
    b"      newvalue ;\r\n"
    b"  secondparam ; q = 0.33\r\n"
    b"\r\n" + handley_sdp(b"192.0.2.3", connection=b"192.0.2.4")
)


def test_wsinv():
    request = parse_message(WSINV)
    assert request.method == "INVITE"
    uri = parse_uri(request.uri)
    assert (uri.user, uri.host, "unknownparam" in uri.params) == (
        "vivekg",
        "chair-dnrc.example.com",
        True,
    )
    to = parse_name_addr(request.headers.get("To"))
    assert to.uri == "sip:vivekg@chair-dnrc.example.com" and to.tag == "1918181833n"
    sender = parse_name_addr(request.headers.get("From"))
    assert sender.display == 'J Rosenberg \\"' and sender.tag == "98asjd8"
    assert request.headers.get("Max-Forwards") == "0068"
    assert parse_cseq(request.headers.get("CSeq")) == (9, "INVITE")
    vias = [parse_via(value) for value in request.headers.get_all("Via")]
    assert [(via.transport, via.host, via.branch) for via in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert request.headers.get("Subject") == ""
    assert request.headers.get("newfangledheader") == (
        "newfangled value continued newfangled value"
    )
    assert request.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    route = parse_name_addr(request.headers.get("Route"))
    assert parse_uri(route.uri).params["unknown-no-value"] is None
    contact = parse_name_addr(request.headers.get("Contact"))
    assert contact.display == 'Quoted string ""'
    assert contact.params["newparam"] == "newvalue"
    assert contact.params["secondparam"] is None and contact.params["q"] == "0.33"
    assert len(request.body) == 150 and request.body.endswith(b"a=rtpmap:31 LPC\r\n")


INTMETH = (
    b"!interesting-Method0123456789_*+`.%indeed'~ "
    b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    b":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
    b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" '
    b"<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
    b"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
    b";fromParam''~+*_!.-%="
    b'"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9"'
    b";tag=_token~1'+`*%!-.\r\n"
    b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
    b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
    b"Max-Forwards: 255\r\n"
    b"extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def test_intmeth():
    request = parse_message(INTMETH)
    assert request.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = parse_uri(request.uri)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com" and not uri.headers
    assert parse_via(request.headers.get("Via")).branch == "z9hG4bK-.!%66*_+`'~"
    to = parse_name_addr(request.headers.get("To"))
    assert to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    sender = parse_name_addr(request.headers.get("From"))
    assert sender.display == "token1~` token2'+_ token3*%!.-"
    assert (
        sender.params["fromparam''~+*_!.-%"]
        == '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"'
    )
    assert sender.tag == "_token~1'+`*%!-."
    assert request.headers.get("Call-ID") == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert parse_cseq(request.headers.get("CSeq"))[0] == 139122385
    assert request.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"


ESC01 = (
    b"INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n"
    b"To: sip:%75se%72@example.com\r\n"
    b"From: <sip:I%20have%20spaces@example.net>;tag=938\r\n"
    b"Max-Forwards: 87\r\n"
    b"i: esc01.239409asdfakjkn23onasd0-3234\r\n"
    b"CSeq: 234234 INVITE\r\n"
    b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n"
    b"C: application/sdp\r\n"
    b"Contact:\r\n"
    b"  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + handley_sdp(b"192.0.2.1")
)


def test_esc01():
    request = parse_message(ESC01)
    uri = parse_uri(request.uri)
    assert (uri.user, uri.host) == ("sips:user@example.com", "example.net")
    assert parse_uri(parse_name_addr(request.headers.get("To")).uri).user == "user"
    assert parse_uri(parse_name_addr(request.headers.get("From")).uri).user == "I have spaces"
    contact = parse_uri(parse_name_addr(request.headers.get("Contact")).uri)
    assert contact.user == "caller"
    # One level of unescaping only: "value%41" is not "valueA" (RFC 3986).
    assert contact.params["lr"] is None and contact.params["name"] == "value%41"
    assert request.headers.get("Content-Type") == "application/sdp"
    assert request.headers.get("Call-ID") == "esc01.239409asdfakjkn23onasd0-3234"


ESCNULL = (
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:null-%00-null@example.com\r\n"
    b"From: sip:null-%00-null@example.com;tag=839923423\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\n"
    b"CSeq: 14398234 REGISTER\r\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Contact: <sip:%00@host5.example.com>\r\n"
    b"Contact: <sip:%00%00@host5.example.com>\r\n"
    b"L:0\r\n"
    b"\r\n"
)


def test_escnull():
    request = parse_message(ESCNULL)
    to = parse_uri(parse_name_addr(request.headers.get("To")).uri)
    assert to.user == "null-\x00-null"  # not cut short at the NUL
    contacts = [parse_uri(parse_name_addr(c).uri) for c in request.headers.get_all("Contact")]
    assert [contact.user for contact in contacts] == ["\x00", "\x00\x00"]
    assert to.to_string() == "sip:null-%00-null@example.com"


ESC02 = (
    b"RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n"
    b'To: "%Z%45" <sip:resource@example.com>\r\n'
    b'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\r\n'
    b"Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n"
    b"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\r\n"
    b"CSeq: 29344 RE%47IST%45R\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:alias1@host1.example.com>\r\n"
    b"C%6Fntact: <sip:alias2@host2.example.com>\r\n"
    b"Contact: <sip:alias3@host3.example.com>\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_esc02():
    request = parse_message(ESC02)
    # An unknown method, not REGISTER: the UA answers 501 (its decision).
    assert request.method == "RE%47IST%45R"
    assert parse_name_addr(request.headers.get("To")).display == "%Z%45"
    assert parse_via(request.headers.get("Via")).branch == "z9hG4bK209%fzsnel234"
    assert request.headers.get_all("Contact") == [
        "<sip:alias1@host1.example.com>",
        "<sip:alias3@host3.example.com>",
    ]
    assert request.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


LWSDISP = (
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: caller<sip:caller@example.com>;tag=323\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: lwsdisp.1234abcd@funky.example.com\r\n"
    b"CSeq: 60 OPTIONS\r\n"
    b"Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_lwsdisp():
    sender = parse_name_addr(parse_message(LWSDISP).headers.get("From"))
    assert (sender.display, sender.uri, sender.tag) == ("caller", "sip:caller@example.com", "323")


def longreq_message():
    caller = b"amazinglylongcallername" * 5
    vias = [b"Via: SIP/2.0/TCP sip33.example.com\r\n"]
    names = [b"v", b"V", b"Via", b"ViA", b"VIa", b"VIA", b"via", b"viA", b"vIa", b"vIA"]
    for index, name in enumerate(names):
        vias.append(name + b": SIP/2.0/TCP sip%d.example.com\r\n" % (32 - index))
    spaced = [b"V :  ", b"v :  ", b"V  : ", b"v  : ", b"Via : ", b"Via  : "]
    for index, name in enumerate(spaced):
        vias.append(name + b"SIP/2.0/TCP sip%d.example.com\r\n" % (22 - index))
    for number in range(16, 0, -1):
        vias.append(b"Via: SIP/2.0/TCP sip%d.example.com\r\n" % number)
    return (
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b'To: "I have a user name of ' + b"extreme" * 10 + b' proportion"'
        b" <sip:user@example.com:6000;unknownparam1=very" + b"long" * 20 + b"value"
        b";longparam" + b"name" * 25 + b"=shortvalue"
        b";very" + b"long" * 25 + b"ParameterNameWithNoValue>\r\n"
        b"F: sip:" + caller + b"@example.net;tag=12" + b"982" * 50 + b"424"
        b";unknownheaderparam"
        + b"name" * 20
        + b"=unknowheaderparam"
        + b"value" * 15
        + b";unknownValueless"
        + b"paramname" * 10
        + b"\r\n"
        b"Call-ID: longreq.one" + b"really" * 20 + b"longcallid\r\n"
        b"CSeq: 3882340 INVITE\r\n"
        b"Unknown-" + b"Long" * 20 + b"-Name: unknown-" + b"long" * 20 + b"-value; "
        b"unknown-"
        + b"long" * 20
        + b"-parameter-name = unknown-"
        + b"long" * 20
        + b"-parameter-value\r\n"
        + b"".join(vias)
        + b"Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
        + b"long" * 50
        + b"branchvalue\r\n"
        b"Max-Forwards: 70\r\n"
        b"Contact: <sip:" + caller + b"@host5.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"l: 150\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.1")
    )


def test_longreq():
    request = parse_message(longreq_message())
    vias = [parse_via(value) for value in request.headers.get_all("Via")]
    assert len(vias) == 34
    assert [via.host for via in vias[:2]] == ["sip33.example.com", "sip32.example.com"]
    assert vias[-1].branch == "very" + "long" * 50 + "branchvalue"
    assert vias[-1].params["received"] == "192.0.2.5"
    to = parse_name_addr(request.headers.get("To"))
    assert to.display == "I have a user name of " + "extreme" * 10 + " proportion"
    assert parse_uri(to.uri).port == 6000
    sender = parse_name_addr(request.headers.get("From"))
    assert sender.tag == "12" + "982" * 50 + "424"
    assert ("unknownvalueless" + "paramname" * 10) in sender.params
    assert request.headers.get("Call-ID") == "longreq.one" + "really" * 20 + "longcallid"
    assert len(request.body) == 150


DBLREQ = (
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:j.user@example.com;tag=43251j3j324\r\n"
    b"Max-Forwards: 8\r\n"
    b"I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
    b"Contact: sip:j.user@host.example.com\r\n"
    b"CSeq: 8 REGISTER\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
    b"INVITE sip:joe@example.com SIP/2.0\r\n"
    b"t: sip:joe@example.com\r\n"
    b"From: sip:caller@example.net;tag=141334\r\n"
    b"Max-Forwards: 8\r\n"
    b"Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.15\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m =video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)


def test_dblreq():
    # Section 18.3: the octets after Content-Length are noise, not a request.
    request = parse_message(DBLREQ)
    assert request.method == "REGISTER" and request.body == b""
    assert request.headers.get("Call-ID") == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


SEMIURI = (
    b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"
    b"To: sip:j_user@example.com\r\n"
    b"From: sip:caller@example.org;tag=33242\r\n"
    b"Max-Forwards: 3\r\n"
    b"Call-ID: semiuri.0ha0isndaksdj\r\n"
    b"CSeq: 8 OPTIONS\r\n"
    b"Accept: application/sdp, application/pkcs7-mime,\r\n"
    b"        multipart/mixed, multipart/signed,\r\n"
    b"        message/sip, message/sipfrag\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_semiuri():
    request = parse_message(SEMIURI)
    uri = parse_uri(request.uri)
    assert (uri.user, uri.host, dict(uri.params)) == ("user;par=u@example.net", "example.com", {})
    assert request.headers.get_all("Accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


TRANSPORTS = (
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: <sip:caller@example.com>;tag=323\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID:  transports.kijh4akdnaqjkwendsasfdj\r\n"
    b"Accept: application/sdp\r\n"
    b"CSeq: 60 OPTIONS\r\n"
    b"Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n"
    b"Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n"
    b"Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n"
    b"Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_transports():
    request = parse_message(TRANSPORTS)
    vias = [parse_via(value) for value in request.headers.get_all("Via")]
    assert [via.transport for via in vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert request.headers.get("Call-ID") == "transports.kijh4akdnaqjkwendsasfdj"


MPART01_SIGNATURE_BASE64 = (
    b"MIIBUgYJKoZIhvcNAQcCoIIBQzCCAT8CAQExCTAHBgUrDgMCGjALBgkqhkiG9w0BBwExggEgMIIB"
    b"HAIBATB8MHAxCzAJBgNVBAYTAlVTMRMwEQYDVQQIEwpDYWxpZm9ybmlhMREwDwYDVQQHEwhTYW4g"
    b"Sm9zZTEOMAwGA1UEChMFc2lwaXQxKTAnBgNVBAsTIFNpcGl0IFRlc3QgQ2VydGlmaWNhdGUgQXV0"
    b"aG9yaXR5AggBlQBxAjMBEzAHBgUrDgMCGjANBgkqhkiG9w0BAQEFAASBgI70ZvlI8FIt0uWXjp2V"
    b"quny/hWgZllxYpLo2iqo2DUKaM7/rjy9K/8Wdd3VZI5ZPdZHKPJiIPfpQXSeMw2aFe2r25PRDEIQ"
    b"LntyidKcwMmuLvvHwM/5Fy87An5PwCfhVG3ktqo6uz5mzMtd1sZLg4MUnLjm/xgtlE/le2W8mdAF"
)


def mpart01_message():
    # The binary part is the 342-octet S/MIME signature the RFC prints in
    # <hex>; it is carried here in base64 to keep the source readable.
    import binascii

    signature = binascii.a2b_base64(MPART01_SIGNATURE_BASE64)
    return (
        b"MESSAGE sip:kumiko@example.org SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070"
        b";branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\r\n"
        b"Max-Forwards: 70\r\n"
        b"Route: <sip:127.0.0.1:5080>\r\n"
        b"Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq"
        b"37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfb"
        b"qMJmQFteeivUhkMWYUA=\r\n"
        b"Contact: <sip:fluffy@127.0.0.1:5070>\r\n"
        b"To: <sip:kumiko@example.org>\r\n"
        b"From: <sip:fluffy@example.com>;tag=2fb0dcc9\r\n"
        b"Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\r\n"
        b"CSeq: 1 MESSAGE\r\n"
        b"Content-Transfer-Encoding: binary\r\n"
        b"Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n"
        b"Date: Sat, 15 Oct 2005 04:44:56 GMT\r\n"
        b"User-Agent: SIPimp.org/0.2.5 (curses)\r\n"
        b"Content-Length: 553\r\n"
        b"\r\n"
        b"--7a9cbec02ceef655\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: binary\r\n"
        b"\r\n"
        b"Hello\r\n"
        b"--7a9cbec02ceef655\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n"
        b"\r\n" + signature + b"\r\n"
        b"--7a9cbec02ceef655--\r\n"
    )


def test_mpart01():
    request = parse_message(mpart01_message())
    assert len(request.body) == 553 and b"\x00" in request.body
    assert request.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert request.headers.get("Content-Type") == "multipart/mixed;boundary=7a9cbec02ceef655"
    assert parse_via(request.headers.get("Via")).params["rport"] is None


UNREASON = (
    b"SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe "
    b"\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe "
    b"\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - "
    b"\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
    b"Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n"
    b"CSeq: 35 INVITE\r\n"
    b"From: sip:user@example.com;tag=11141343\r\n"
    b"To: sip:user@example.edu;tag=2229\r\n"
    b"Content-Length: 154\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Contact: <sip:user@host198.example.com>\r\n"
    b"\r\n" + handley_sdp(b"192.0.2.198")
)


def test_unreason():
    response = parse_message(UNREASON)
    assert isinstance(response, Response) and response.status == 200
    assert response.reason == (
        "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e"
        "\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - "
        "\u043f\u0440\u043e\u0441\u0442\u043e\u0435"
    )
    assert len(response.body) == 154


NOREASON = (
    b"SIP/2.0 100 \r\n"
    b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
    b"Call-ID: noreason.asndj203insdf99223ndf\r\n"
    b"CSeq: 35 INVITE\r\n"
    b"From: <sip:user@example.com>;tag=39ansfi3\r\n"
    b"To: <sip:user@example.edu>;tag=902jndnke3\r\n"
    b"Content-Length: 0\r\n"
    b"Contact: <sip:user@host105.example.com>\r\n"
    b"\r\n"
)


def test_noreason():
    response = parse_message(NOREASON)
    assert (response.status, response.reason) == (100, "")
    # A liberal receiver also takes the line without the space.
    assert parse_message(NOREASON.replace(b"100 \r\n", b"100\r\n", 1)).status == 100


# -- RFC 4475 section 3.1.2: invalid messages -------------------------------


def test_badinv01():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=134161461246\r\n"
        b"Max-Forwards: 7\r\n"
        b"Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n"
        b'Contact: "Joe" <sip:joe@example.org>;;;;\r\n'
        b"Content-Length: 152\r\n"
        b"Content-Type: application/sdp\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.15")
    )
    assert error.status == 400
    assert answer_line(error).startswith(b"SIP/2.0 400 ")


def test_clerr():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"Max-Forwards: 80\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=93942939o2\r\n"
        b"Contact: <sip:caller@hungry.example.net>\r\n"
        b"Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 9999\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.155")
    )
    assert error.status == 400
    response = error_response(error)
    assert response.headers.get("Call-ID") == "clerr.0ha0isndaksdjweiafasdk3"
    assert response.headers.get("Via") == "SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523"


def test_ncl():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"Max-Forwards: 254\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=32394234\r\n"
        b"Call-ID: ncl.0ha0isndaksdj2193423r542w35\r\n"
        b"CSeq: 0 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\n"
        b"Contact: <sip:caller@example53.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: -999\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.53")
    )
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


def test_scalar02():
    error = refused(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\n"
        b"To: <sip:user@example.com>\r\n"
        b"From: <sip:user@example.com>;tag=239232jh3\r\n"
        b"CSeq: 36893488147419103232 REGISTER\r\n"
        b"Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n"
        b"Max-Forwards: 300\r\n"
        b"Expires: 1" + b"0" * 110 + b"\r\n"
        b"Contact: <sip:user@host129.example.com>;expires=280297596632815\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400  # the CSeq error alone asks for it


def test_scalarlg():
    error = refused(
        b"SIP/2.0 503 Service Unavailable\r\n"
        b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\r\n"
        b"To: <sip:user@example.com>\r\n"
        b"From: <sip:other@example.net>;tag=2easdjfejw\r\n"
        b"CSeq: 9292394834772304023312 OPTIONS\r\n"
        b"Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\r\n"
        b"Retry-After: 949302838503028349304023988\r\n"
        b'Warning: 1812 overture "In Progress"\r\n'
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    assert error.status == 0 and error_response(error) is None  # a response: dropped


def test_quotbal():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b'To: "Mr. J. User <sip:j.user@example.com>\r\n'
        b"From: sip:caller@example.net;tag=93334\r\n"
        b"Max-Forwards: 10\r\n"
        b"Call-ID: quotbal.aksdj\r\n"
        b"Contact: <sip:caller@host59.example.net>\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 152\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.15")
    )
    assert error.status == 400
    # The answer goes back to the Via, port 5050, with the To copied as sent.
    response = error_response(error)
    assert parse_via(response.headers.get("Via")).port == 5050
    assert response.headers.get("To") == '"Mr. J. User <sip:j.user@example.com>'


def test_ltgtruri():
    error = refused(
        b"INVITE <sip:user@example.com> SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.net;tag=39291\r\n"
        b"Max-Forwards: 23\r\n"
        b"Call-ID: ltgtruri.1@192.0.2.5\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.5\r\n"
        b"Contact: <sip:caller@host5.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 159\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.5", start_time=b"3149328700")
    )
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


def test_lwsruri():
    error = refused(
        b"INVITE sip:user@example.com; lr SIP/2.0\r\n"
        b"To: sip:user@example.com;tag=3xfe-9921883-z9f\r\n"
        b"From: sip:caller@example.net;tag=231413434\r\n"
        b"Max-Forwards: 5\r\n"
        b"Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\r\n"
        b"CSeq: 2130706432 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\r\n"
        b"Contact: <sip:caller@host1.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 159\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.1", start_time=b"3149328700")
    )
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


def test_lwsstart():
    error = refused(
        b"INVITE  sip:user@example.com  SIP/2.0\r\n"
        b"Max-Forwards: 8\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.net;tag=8814\r\n"
        b"Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\r\n"
        b"CSeq: 1893884 INVITE\r\n"
        b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\r\n"
        b"Contact: <sip:caller@host1.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 150\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.1")
    )
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


def test_trws():
    error = refused(
        b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"
        b"Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\r\n"
        b"To: <sip:remote-target@example.com>\r\n"
        b"From: <sip:local-resource@example.com>;tag=329429089\r\n"
        b"Call-ID: trws.oicu34958239neffasdhr2345r\r\n"
        b"Accept: application/sdp\r\n"
        b"CSeq: 238923 OPTIONS\r\n"
        b"Max-Forwards: 70\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400  # we take the RFC's "reject" branch, not "trim"


def test_escruri():
    error = refused(
        b"INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.net;tag=341518\r\n"
        b"Max-Forwards: 7\r\n"
        b"Contact: <sip:caller@host39923.example.net>\r\n"
        b"Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\r\n"
        b"CSeq: 149209342 INVITE\r\n"
        b"Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 150\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.1")
    )
    assert error.status == 400


def test_baddate():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.net;tag=2234923\r\n"
        b"Max-Forwards: 70\r\n"
        b"Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\r\n"
        b"CSeq: 1392934 INVITE\r\n"
        b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
        b"Date: Fri, 01 Jan 2010 16:00:00 EST\r\n"
        b"Contact: <sip:caller@host5.example.net>\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 150\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.5")
    )
    assert error.status == 400


def test_regbadct():
    error = refused(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:user@example.com;tag=998332\r\n"
        b"Max-Forwards: 70\r\n"
        b"Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\r\n"
        b"CSeq: 1 REGISTER\r\n"
        b"Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\r\n"
        b"Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400


def test_badaspec():
    error = refused(
        b"OPTIONS sip:user@example.org SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\r\n"
        b"Max-Forwards: 70\r\n"
        b'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\r\n'
        b'To: "Watson, Thomas" < sip:t.watson@example.org >\r\n'
        b"Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\r\n"
        b"Accept: application/sdp\r\n"
        b"CSeq: 3923239 OPTIONS\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400


def test_baddn():
    error = refused(
        b"OPTIONS sip:t.watson@example.org SIP/2.0\r\n"
        b"Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\r\n"
        b"Max-Forwards:      70\r\n"
        b"From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
        b"To:      Watson, Thomas <sip:t.watson@example.org>\r\n"
        b"Call-ID: baddn.31415@c.example.com\r\n"
        b"Accept: application/sdp\r\n"
        b"CSeq:    3923239 OPTIONS\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400


def test_badvers():
    error = refused(
        b"OPTIONS sip:t.watson@example.org SIP/7.0\r\n"
        b"Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"
        b"Max-Forwards:     70\r\n"
        b"From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n"
        b"To:      T. Watson <sip:t.watson@example.org>\r\n"
        b"Call-ID: badvers.31417@c.example.com\r\n"
        b"CSeq:    1 OPTIONS\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    assert error.status == 505
    assert answer_line(error) == b"SIP/2.0 505 Version Not Supported"


def test_mismatch01():
    error = refused(
        b"OPTIONS sip:user@example.com SIP/2.0\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=34525\r\n"
        b"Max-Forwards: 6\r\n"
        b"Call-ID: mismatch01.dj0234sxdfl3\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    assert error.status == 400


def test_mismatch02():
    error = refused(
        b"NEWMETHOD sip:user@example.com SIP/2.0\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=34525\r\n"
        b"Max-Forwards: 6\r\n"
        b"Call-ID: mismatch02.dj0234sxdfl3\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Contact: <sip:caller@host.example.net>\r\n"
        b"Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\r\n"
        b"Content-Type: application/sdp\r\n"
        b"l: 138\r\n"
        b"\r\n"
        b"v=0\r\n"
        b"o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
        b"c=IN IP4 192.0.2.1\r\n"
        b"m=audio 49217 RTP/AVP 0 12\r\n"
        b"m=video 3227 RTP/AVP 31\r\n"
        b"a=rtpmap:31 LPC\r\n"
    )
    assert error.status == 400 and "CSeq" in error.reason


def test_bigcode():
    error = refused(
        b"SIP/2.0 4294967301 better not break the receiver\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
        b"Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\r\n"
        b"CSeq: 353494 INVITE\r\n"
        b"From: <sip:user@example.com>;tag=39ansfi3\r\n"
        b"To: <sip:user@example.edu>;tag=902jndnke3\r\n"
        b"Content-Length: 0\r\n"
        b"Contact: <sip:user@host105.example.com>\r\n"
        b"\r\n"
    )
    assert error.status == 0 and error_response(error) is None


# -- RFC 4475 section 3.2: transaction layer semantics ----------------------


def test_badbranch():
    error = refused(
        b"OPTIONS sip:user@example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.org;tag=33242\r\n"
        b"Max-Forwards: 3\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n"
        b"Accept: application/sdp\r\n"
        b"Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n"
        b"CSeq: 8 OPTIONS\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    # The RFC allows 400 or RFC 2543 matching; we answer 400.
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


# -- RFC 4475 section 3.3: application layer semantics ----------------------


def test_insuf():
    error = refused(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"CSeq: 193942 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n"
        b"Content-Type: application/sdp\r\n"
        b"l: 152\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.95")
    )
    assert error.status == 400
    response = error_response(error)
    assert response.status == 400 and response.headers.get("CSeq") == "193942 INVITE"
    assert response.headers.get("Call-ID") is None


UNKSCM = (
    b"OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=384\r\n"
    b"Max-Forwards: 3\r\n"
    b"Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\r\n"
    b"CSeq: 3923423 OPTIONS\r\n"
    b"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def test_unkscm():
    error = refused(UNKSCM)
    assert error.status == 416
    assert answer_line(error) == b"SIP/2.0 416 Unsupported URI Scheme"
    assert error.partial.headers.get("Call-ID") == "unkscm.nasdfasser0q239nwsdfasdkl34"


def test_novelsc():
    error = refused(
        UNKSCM.replace(
            b"nobodyKnowsThisScheme:totallyopaquecontent", b"soap.beep://192.0.2.103:3002"
        ).replace(b"unkscm.nasdf", b"novelsc.asdf")
    )
    assert error.status == 416


def test_unksm2():
    request = parse_message(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"To: isbn:2983792873\r\n"
        b"From: <http://www.example.com>;tag=3234233\r\n"
        b"Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n"
        b"CSeq: 234902 REGISTER\r\n"
        b"Max-Forwards: 70\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n"
        b"Contact: <name:John_Smith>\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    # Well formed; a registrar would refuse the non-SIP AOR (its decision).
    assert parse_name_addr(request.headers.get("To")).uri == "isbn:2983792873"
    assert parse_name_addr(request.headers.get("From")).uri == "http://www.example.com"
    assert parse_name_addr(request.headers.get("Contact")).uri == "name:John_Smith"


def test_bext01():
    request = parse_message(
        b"OPTIONS sip:user@example.com SIP/2.0\r\n"
        b"To: sip:j_user@example.com\r\n"
        b"From: sip:caller@example.net;tag=242etr\r\n"
        b"Max-Forwards: 6\r\n"
        b"Call-ID: bext01.0ha0isndaksdj\r\n"
        b"Require: nothingSupportsThis, nothingSupportsThisEither\r\n"
        b"Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n"
        b"CSeq: 8 OPTIONS\r\n"
        b"Via: SIP/2.0/TCP fold-and-staple.example.com;branch=z9hG4bKkdjuw\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    # The UAS answers 420 listing the Require tags only (Proxy-Require is
    # for proxies): the helper gives it that list.
    assert unsupported_requirements(request, ["timer", "replaces"]) == [
        "nothingSupportsThis",
        "nothingSupportsThisEither",
    ]


def test_invut():
    request = parse_message(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"Contact: <sip:caller@host5.example.net>\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:caller@example.net;tag=8392034\r\n"
        b"Max-Forwards: 70\r\n"
        b"Call-ID: invut.0ha0isndaksdjadsfij34n23d\r\n"
        b"CSeq: 235448 INVITE\r\n"
        b"Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\r\n"
        b"Content-Type: application/unknownformat\r\n"
        b"Content-Length: 40\r\n"
        b"\r\n"
        b"<audio>\r\n"
        b' <pcmu port="443"/>\r\n'
        b"</audio>\r\n"
    )
    # 415 with Accept is the UA's answer; it needs the type and the body.
    assert request.headers.get("Content-Type") == "application/unknownformat"
    assert request.body == b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n'


def test_regaut01():
    request = parse_message(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"To: sip:j.user@example.com\r\n"
        b"From: sip:j.user@example.com;tag=87321hj23128\r\n"
        b"Max-Forwards: 8\r\n"
        b"Call-ID: regaut01.0ha0isndaksdj\r\n"
        b"CSeq: 9338 REGISTER\r\n"
        b"Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\r\n"
        b"Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"
        b"Content-Length:0\r\n"
        b"\r\n"
    )
    assert request.headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"


def test_multi01():
    error = refused(
        b"INVITE sip:user@company.com SIP/2.0\r\n"
        b"Contact: <sip:caller@host25.example.net>\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\r\n"
        b"Max-Forwards: 70\r\n"
        b"CSeq: 5 INVITE\r\n"
        b"Call-ID: multi01.98asdh@192.0.2.1\r\n"
        b"CSeq: 59 INVITE\r\n"
        b"Call-ID: multi01.98asdh@192.0.2.2\r\n"
        b"From: sip:caller@example.com;tag=3413415\r\n"
        b"To: sip:user@example.com\r\n"
        b"To: sip:other@example.net\r\n"
        b"From: sip:caller@example.net;tag=2923420123\r\n"
        b"Content-Type: application/sdp\r\n"
        b"l: 154\r\n"
        b"Contact: <sip:caller@host36.example.net>\r\n"
        b"Max-Forwards: 5\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.25")
    )
    assert error.status == 400


def test_mcl01():
    error = refused(
        b"OPTIONS sip:user@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:other@example.net;tag=3923942\r\n"
        b"Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\r\n"
        b"CSeq: 15932 OPTIONS\r\n"
        b"Content-Length: 13\r\n"
        b"Max-Forwards: 60\r\n"
        b"Content-Length: 5\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"There's no way to know how many octets are supposed to be here.\r\n"
    )
    assert error.status == 400


def test_bcast():
    response = parse_message(
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
        b"Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\r\n"
        b"Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\r\n"
        b"CSeq: 35 INVITE\r\n"
        b"From: sip:user@example.com;tag=11141343\r\n"
        b"To: sip:user@example.edu;tag=2229\r\n"
        b"Content-Length: 154\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Contact: <sip:user@host28.example.com>\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.198")
    )
    # Well formed. A UAC discards a response carrying more than one Via
    # (RFC 3261 section 8.1.3.3): the transaction layer sees two here.
    vias = response.headers.get_all("Via")
    assert len(vias) == 2 and parse_via(vias[1]).host == "255.255.255.255"


def test_zeromf():
    request = parse_message(
        b"OPTIONS sip:user@example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:caller@example.net;tag=3ghsd41\r\n"
        b"Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\r\n"
        b"CSeq: 39234321 OPTIONS\r\n"
        b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\r\n"
        b"Max-Forwards: 0\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    # A UAS answers it (only a proxy would say 483).
    assert request.headers.get("Max-Forwards") == "0"


def test_cparam01():
    request = parse_message(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n"
        b"To: sip:watson@example.com\r\n"
        b"Call-ID: cparam01.70710@saturn.example.com\r\n"
        b"CSeq: 2 REGISTER\r\n"
        b"Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    # Without <>, the parameter belongs to the Contact value, not the URI.
    contact = parse_name_addr(request.headers.get("Contact"))
    assert contact.uri == "sip:+19725552222@gw1.example.net"
    assert "unknownparam" in contact.params
    assert dict(parse_uri(contact.uri).params) == {}


def test_cparam02():
    request = parse_message(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: sip:watson@example.com;tag=838293\r\n"
        b"To: sip:watson@example.com\r\n"
        b"Call-ID: cparam02.70710@saturn.example.com\r\n"
        b"CSeq: 3 REGISTER\r\n"
        b"Contact: <sip:+19725552222@gw1.example.net;unknownparam>\r\n"
        b"l: 0\r\n"
        b"\r\n"
    )
    contact = parse_name_addr(request.headers.get("Contact"))
    assert dict(contact.params) == {}
    assert "unknownparam" in parse_uri(contact.uri).params


def test_regescrt():
    request = parse_message(
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:user@example.com;tag=8\r\n"
        b"Max-Forwards: 70\r\n"
        b"Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n"
        b"CSeq: 14398234 REGISTER\r\n"
        b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
        b"M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n"
        b"L:0\r\n"
        b"\r\n"
    )
    contact = parse_uri(parse_name_addr(request.headers.get("Contact")).uri)
    assert dict(contact.headers) == {"Route": "<sip:sip.example.com>"}


def test_sdp01():
    request = parse_message(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"To: sip:j_user@example.com\r\n"
        b"Contact: <sip:caller@host15.example.net>\r\n"
        b"From: sip:caller@example.net;tag=234\r\n"
        b"Max-Forwards: 5\r\n"
        b"Call-ID: sdp01.ndaksdj9342dasdd\r\n"
        b"Accept: text/nobodyKnowsThis\r\n"
        b"CSeq: 8 INVITE\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\r\n"
        b"Content-Length: 150\r\n"
        b"Content-Type: application/sdp\r\n"
        b"\r\n" + handley_sdp(b"192.0.2.5")
    )
    # Whether to answer 406 is the UA's call; it reads Accept from here.
    assert request.headers.get_all("Accept") == ["text/nobodyKnowsThis"]


# -- RFC 4475 section 3.4: backward compatibility ---------------------------


def test_inv2543():
    request = parse_message(
        b"INVITE sip:UserB@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP iftgw.example.com\r\n"
        b"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
        b"Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n"
        b"To: sip:+16505552222@ss1.example.net;user=phone\r\n"
        b"Call-ID: inv2543.1717@ift.client.example.com\r\n"
        b"CSeq: 56 INVITE\r\n"
        b"Content-Type: application/sdp\r\n"
        b"\r\n"
        b"v=0\r\n"
        b"o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
        b"s=-\r\n"
        b"c=IN IP4 192.0.2.5\r\n"
        b"t=0 0\r\n"
        b"m=audio 49217 RTP/AVP 0\r\n"
    )
    assert parse_via(request.headers.get("Via")).branch is None
    assert parse_name_addr(request.headers.get("From")).tag is None
    # No Content-Length over UDP: the body is the rest of the datagram.
    assert request.body.startswith(b"v=0\r\n") and request.body.endswith(b"RTP/AVP 0\r\n")
    # addr-spec To: ";user=phone" is a header parameter (section 20.10).
    assert parse_name_addr(request.headers.get("To")).params["user"] == "phone"
    assert request.headers.get("Max-Forwards") is None


# -- RFC 5118 section 4: IPv6 ---------------------------------------------


def ipv6_register(request_uri):
    return (
        b"REGISTER " + request_uri + b" SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b"Max-Forwards: 70\r\n"
        b'Contact: "Caller" <sip:caller@[2001:db8::1]>\r\n'
        b"CSeq: 98176 REGISTER\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )


def test_ipv6_good():
    request = parse_message(ipv6_register(b"sip:[2001:db8::10]"))
    assert parse_uri(request.uri).host == "2001:db8::10"
    via = parse_via(request.headers.get("Via"))
    assert (via.host, via.port) == ("2001:db8::9:1", None)
    assert parse_uri(parse_name_addr(request.headers.get("Contact")).uri).host == "2001:db8::1"


def test_ipv6_bad():
    error = refused(ipv6_register(b"sip:2001:db8::10"))
    assert error.status == 400 and answer_line(error).startswith(b"SIP/2.0 400 ")


def test_port_ambiguous():
    # Inside the brackets ":5070" is part of the address, not a port.
    uri = parse_uri(parse_message(ipv6_register(b"sip:[2001:db8::10:5070]")).uri)
    assert (uri.host, uri.port) == ("2001:db8::10:5070", None)


def test_port_unambiguous():
    uri = parse_uri(parse_message(ipv6_register(b"sip:[2001:db8::10]:5070")).uri)
    assert (uri.host, uri.port) == ("2001:db8::10", 5070)
    assert uri.to_string() == "sip:[2001:db8::10]:5070"


def test_via_received_param_with_delim():
    request = parse_message(
        b"BYE sip:[2001:db8::10] SIP/2.0\r\n"
        b"To: sip:user@example.com;tag=bd76ya\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b"Max-Forwards: 70\r\n"
        b"CSeq: 321 BYE\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    via = parse_via(request.headers.get("Via"))
    assert via.params["received"] == "[2001:db8::9:255]" and via.branch == "z9hG4bKas3-111"


def test_via_received_param_no_delim():
    request = parse_message(
        b"OPTIONS sip:[2001:db8::10] SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3\r\n"
        b"Call-ID: SSG95523997077@hlau_4100\r\n"
        b"Max-Forwards: 70\r\n"
        b'Contact: "Caller" <sip:caller@[2001:db8::9:1]>\r\n'
        b"CSeq: 921 OPTIONS\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    assert parse_via(request.headers.get("Via")).params["received"] == "2001:db8::9:255"


# RFC 5118 prints Content-Length 268, 181 and 236 for the three SDP
# messages below, but the bodies it prints are 251, 189 and 245 octets long;
# our copies carry the real length so that section 18.3 framing holds.


def test_ipv6_in_sdp():
    request = parse_message(
        b"INVITE sip:user@[2001:db8::10] SIP/2.0\r\n"
        b"To: sip:user@[2001:db8::10]\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b'Contact: "Caller" <sip:caller@[2001:db8::20]>\r\n'
        b"CSeq: 8612 INVITE\r\n"
        b"Max-Forwards: 70\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 251\r\n"
        b"\r\n"
        b"v=0\r\n"
        b"o=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n"
        b"s=Live video feed for today's meeting\r\n"
        b"c=IN IP6 2001:db8::20\r\n"
        b"t=3338481189 3370017201\r\n"
        b"m=audio 6000 RTP/AVP 2\r\n"
        b"a=rtpmap:2 G726-32/8000\r\n"
        b"m=video 6024 RTP/AVP 107\r\n"
        b"a=rtpmap:107 H263-1998/90000\r\n"
    )
    assert parse_uri(parse_name_addr(request.headers.get("To")).uri).host == "2001:db8::10"
    assert len(request.body) == 251
    session = parse_sdp(request.body)
    assert [session.connection_of(media) for media in session.media] == [
        ("IP6", "2001:db8::20"),
        ("IP6", "2001:db8::20"),
    ]


def test_mult_ip_in_header():
    request = parse_message(
        b"BYE sip:user@host.example.net SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144\r\n"
        b"Via: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200\r\n"
        b"Call-ID: 997077@lau_4100\r\n"
        b"Max-Forwards: 70\r\n"
        b"CSeq: 89187 BYE\r\n"
        b"To: sip:user@example.net;tag=9817--94\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )
    vias = [parse_via(value) for value in request.headers.get_all("Via")]
    assert [(via.host, via.port) for via in vias] == [
        ("2001:db8::9:1", 6050),
        ("192.0.2.1", None),
        ("2001:db8::9:255", None),
    ]
    assert vias[0].to_string() == "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111"
    assert vias[2].params["received"] == "192.0.2.200"


# RFC 5118 section 4.8's body: IPv4 at the audio level, IPv6 for video.
MULT_IP_SDP = (
    b"v=0\r\n"
    b"o=bob 280744730 28977631 IN IP4 host.example.com\r\n"
    b"s=\r\n"
    b"t=0 0\r\n"
    b"m=audio 22334 RTP/AVP 0\r\n"
    b"c=IN IP4 192.0.2.1\r\n"
    b"m=video 6024 RTP/AVP 107\r\n"
    b"c=IN IP6 2001:db8::1\r\n"
    b"a=rtpmap:107 H263-1998/90000\r\n"
)


def test_mult_ip_in_sdp():
    request = parse_message(
        b"INVITE sip:user@[2001:db8::10] SIP/2.0\r\n"
        b"To: sip:user@[2001:db8::10]\r\n"
        b"From: sip:user@example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b'Contact: "Caller" <sip:caller@[2001:db8::9:1]>\r\n'
        b"Max-Forwards: 70\r\n"
        b"CSeq: 8912 INVITE\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 189\r\n"
        b"\r\n" + MULT_IP_SDP
    )
    session = parse_sdp(request.body)
    assert [session.connection_of(media) for media in session.media] == [
        ("IP4", "192.0.2.1"),
        ("IP6", "2001:db8::1"),
    ]
    assert session.media[1].rtpmap["107"] == ("H263-1998", 90000)


def test_ipv4_mapped_ipv6():
    request = parse_message(
        b"INVITE sip:user@example.com SIP/2.0\r\n"
        b"To: sip:user@example.com\r\n"
        b"From: sip:user@east.example.com;tag=81x2\r\n"
        b"Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19\r\n"
        b"Via: SIP/2.0/UDP [::ffff:192.0.2.2];branch=z9hG4bKas3-111\r\n"
        b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
        b'Contact: "T. desk phone" <sip:ted@[::ffff:192.0.2.2]>\r\n'
        b"CSeq: 612 INVITE\r\n"
        b"Max-Forwards: 70\r\n"
        b"Content-Type: application/sdp\r\n"
        b"Content-Length: 245\r\n"
        b"\r\n"
        b"v=0\r\n"
        b"o=assistant 971731711378798081 0 IN IP6 ::ffff:192.0.2.2\r\n"
        b"s=Call me soon, please!\r\n"
        b"c=IN IP6 ::ffff:192.0.2.2\r\n"
        b"t=3338481189 3370017201\r\n"
        b"m=audio 6000 RTP/AVP 2\r\n"
        b"a=rtpmap:2 G726-32/8000\r\n"
        b"m=video 6024 RTP/AVP 107\r\n"
        b"a=rtpmap:107 H263-1998/90000\r\n"
    )
    vias = [parse_via(value) for value in request.headers.get_all("Via")]
    assert [(via.host, via.port) for via in vias] == [
        ("::ffff:192.0.2.10", 19823),
        ("::ffff:192.0.2.2", None),
    ]
    contact = parse_name_addr(request.headers.get("Contact"))
    assert contact.display == "T. desk phone" and parse_uri(contact.uri).host == "::ffff:192.0.2.2"
    assert parse_sdp(request.body).connection == ("IP6", "::ffff:192.0.2.2")


def options_to(address):
    return (
        b"OPTIONS sip:user@[" + address + b"] SIP/2.0\r\n"
        b"To: sip:user@[" + address + b"]\r\n"
        b"From: sip:user@example.com;tag=810x2\r\n"
        b"Via: SIP/2.0/UDP lab1.east.example.com;branch=z9hG4bKas3-111\r\n"
        b"Call-ID: G9559905523997077@hlau_4100\r\n"
        b"CSeq: 689 OPTIONS\r\n"
        b"Max-Forwards: 70\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )


def test_ipv6_bug_abnf_3_colons():
    # RFC 5118 section 4.10: the RFC 3261 ABNF allows it; be robust.
    request = parse_message(options_to(b"2001:db8:::192.0.2.1"))
    assert parse_uri(request.uri).host == "2001:db8:::192.0.2.1"


def test_ipv6_correct_abnf_2_colons():
    request = parse_message(options_to(b"2001:db8::192.0.2.1"))
    assert parse_uri(request.uri).host == "2001:db8::192.0.2.1"
    assert isinstance(request, Request)
