# Media core: G.711 codecs, RTP/RTCP, jitter buffer, DTMF, tones and WAV
# streaming. Sans-I/O like the rest of intercom: bytes and now_ms in, bytes out.
