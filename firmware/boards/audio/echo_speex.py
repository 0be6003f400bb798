# libspeexdsp's acoustic echo canceller and preprocessor through ctypes
# (CPython only): the Debian / Raspberry Pi OS package libspeexdsp1 provides
# libspeexdsp.so.1; nothing is compiled. The API is the one of
# <speex/speex_echo.h> and <speex/speex_preprocess.h> (speexdsp 1.2):
#
#   speex_echo_state_init(frame_size, filter_length)   frame and tail in samples
#   speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate)
#   speex_echo_cancellation(st, rec, play, out)         one frame, play = the
#                                                       far-end reference that
#                                                       lines up with rec
#   speex_preprocess_state_init(frame_size, rate)
#   speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_ECHO_STATE, st)   residual
#                                                       echo from the canceller
#   speex_preprocess_ctl(pp, SET_ECHO_SUPPRESS / SET_ECHO_SUPPRESS_ACTIVE, &dB)
#   speex_preprocess_ctl(pp, SET_NOISE_SUPPRESS, &dB)  (negative dB, the most
#                                                       each takes off)
#   speex_preprocess_run(pp, x)                         in place
#
# The preprocessor's residual echo suppression is part of its denoiser's
# spectral gain (preprocess.c sets every gain to 1 when denoising is off),
# so the denoiser stays on and noise suppression "off" is a 0 dB limit.
#
#   load()            the library (ctypes.CDLL) or None when it is not installed
#   SpeexEchoCanceller(library, frame_samples, tail_samples, sample_rate,
#                      echo_suppress_db, noise_suppress_db)
#       .process(mic, reference, out)    16-bit little-endian PCM, one frame
#                                        each; out may be a bytearray or a
#                                        ctypes buffer, it receives the mic
#                                        with the echo taken out
#       .close()                         frees the C states (idempotent)

import ctypes
import ctypes.util

LIBRARY_NAMES = ("libspeexdsp.so.1", "libspeexdsp.so")
SPEEX_ECHO_SET_SAMPLING_RATE = 24
SPEEX_PREPROCESS_SET_DENOISE = 0
SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18
SPEEX_PREPROCESS_SET_ECHO_SUPPRESS = 20
SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE = 22
SPEEX_PREPROCESS_SET_ECHO_STATE = 24


def _declare(library):
    pointer = ctypes.c_void_p
    samples = ctypes.POINTER(ctypes.c_int16)
    library.speex_echo_state_init.argtypes = (ctypes.c_int, ctypes.c_int)
    library.speex_echo_state_init.restype = pointer
    library.speex_echo_state_destroy.argtypes = (pointer,)
    library.speex_echo_state_destroy.restype = None
    library.speex_echo_cancellation.argtypes = (pointer, samples, samples, samples)
    library.speex_echo_cancellation.restype = None
    library.speex_echo_ctl.argtypes = (pointer, ctypes.c_int, pointer)
    library.speex_echo_ctl.restype = ctypes.c_int
    library.speex_preprocess_state_init.argtypes = (ctypes.c_int, ctypes.c_int)
    library.speex_preprocess_state_init.restype = pointer
    library.speex_preprocess_state_destroy.argtypes = (pointer,)
    library.speex_preprocess_state_destroy.restype = None
    library.speex_preprocess_run.argtypes = (pointer, samples)
    library.speex_preprocess_run.restype = ctypes.c_int
    library.speex_preprocess_ctl.argtypes = (pointer, ctypes.c_int, pointer)
    library.speex_preprocess_ctl.restype = ctypes.c_int
    return library


def load():
    """libspeexdsp through ctypes, or None when it is not installed."""
    names = list(LIBRARY_NAMES)
    found = ctypes.util.find_library("speexdsp")
    if found is not None and found not in names:
        names.append(found)
    for name in names:
        try:
            return _declare(ctypes.CDLL(name))
        except (OSError, AttributeError):  # not there, or not the library we know
            continue
    return None


class SpeexEchoCanceller:
    def __init__(
        self,
        library,
        frame_samples,
        tail_samples,
        sample_rate,
        echo_suppress_db,
        noise_suppress_db,
    ):
        self.library = library
        self.frame_samples = frame_samples
        self.frame_bytes = 2 * frame_samples
        frame = ctypes.c_int16 * frame_samples
        self._mic = frame()
        self._reference = frame()
        self._out = frame()
        self._echo = library.speex_echo_state_init(frame_samples, tail_samples)
        self._preprocess = None
        if not self._echo:
            raise MemoryError("speex_echo_state_init(%d, %d)" % (frame_samples, tail_samples))
        rate = ctypes.c_int(sample_rate)
        library.speex_echo_ctl(self._echo, SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        if echo_suppress_db or noise_suppress_db:
            self._open_preprocessor(sample_rate, echo_suppress_db, noise_suppress_db)

    def _open_preprocessor(self, sample_rate, echo_suppress_db, noise_suppress_db):
        library = self.library
        state = library.speex_preprocess_state_init(self.frame_samples, sample_rate)
        if not state:
            self.close()
            raise MemoryError("speex_preprocess_state_init(%d)" % self.frame_samples)
        self._preprocess = state

        def set_int(request, value):
            number = ctypes.c_int(value)
            library.speex_preprocess_ctl(state, request, ctypes.byref(number))

        set_int(SPEEX_PREPROCESS_SET_DENOISE, 1)
        set_int(SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, -noise_suppress_db)
        if echo_suppress_db:
            library.speex_preprocess_ctl(state, SPEEX_PREPROCESS_SET_ECHO_STATE, self._echo)
            set_int(SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, -echo_suppress_db)
            # while the near end talks: a third of the limit (speexdsp's
            # defaults are -40 and -15 dB), so speech over echo survives
            set_int(SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, -(echo_suppress_db * 3 // 8))

    def process(self, mic, reference, out):
        """out[:frame bytes] = mic with the echo of reference taken out."""
        size = self.frame_bytes
        ctypes.memmove(self._mic, bytes(mic[:size]), size)
        ctypes.memmove(self._reference, bytes(reference[:size]), size)
        self.library.speex_echo_cancellation(self._echo, self._mic, self._reference, self._out)
        if self._preprocess is not None:
            self.library.speex_preprocess_run(self._preprocess, self._out)
        out[:size] = bytes(self._out)

    def close(self):
        if self._preprocess is not None:
            self.library.speex_preprocess_state_destroy(self._preprocess)
            self._preprocess = None
        if self._echo:
            self.library.speex_echo_state_destroy(self._echo)
            self._echo = None
