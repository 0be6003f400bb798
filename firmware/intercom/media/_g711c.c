/* G.711 u-law and A-law for CPython: the optional C path of intercom.media.g711.
 *
 * Same API, results and ValueError rules as intercom.media.g711's public
 * functions (the tests compare every input and code with the Python paths):
 *
 *   ulaw_encode(pcm) -> bytes          alaw_encode(pcm) -> bytes
 *   ulaw_decode(codes) -> bytes        alaw_decode(codes) -> bytes
 *   ulaw_encode_into(pcm, dst) -> n    alaw_encode_into(pcm, dst) -> n
 *   ulaw_decode_into(codes, dst) -> n  alaw_decode_into(codes, dst) -> n
 *
 * Arguments are any C-contiguous buffer (bytes, bytearray, memoryview, ...),
 * read as bytes; dst must be writable. PCM is 16-bit signed little-endian
 * mono, codes are one byte per sample. An odd PCM byte count, or a dst
 * shorter than the output, raises ValueError.
 *
 * Tables, filled once at module initialisation from the ITU-T G.191 (g711.c)
 * algorithm, so every result is bit-exact to it:
 *
 *   ulaw_encode_table[u >> 2]   16384 codes  (u = sample as unsigned 16-bit)
 *   alaw_encode_table[u >> 4]    4096 codes
 *   *_decode_table[code]          256 samples
 *
 * G.191 reads a negative sample x as its one's complement ~x before dropping
 * 2 (u-law) or 4 (A-law) bits, and ~x >> n == ~(x >> n), so a code depends
 * only on u >> n: one table entry per 4 or 16 samples covers every input.
 *
 * CPython only: MicroPython cannot load this, and intercom.media.g711
 * imports it inside try/except ImportError (the Python paths give the same
 * bytes). The build is optional (pyproject.toml), so installing never fails
 * without a compiler.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define ULAW_ENCODE_SHIFT 2
#define ALAW_ENCODE_SHIFT 4

/* Written only by the module's exec slot, always to the same values. */
static uint8_t ulaw_encode_table[65536 >> ULAW_ENCODE_SHIFT];
static uint8_t alaw_encode_table[65536 >> ALAW_ENCODE_SHIFT];
static int16_t ulaw_decode_table[256];
static int16_t alaw_decode_table[256];

/* G.191 ulaw_compress for one sample. */
static uint8_t
ulaw_code_of(int sample)
{
    /* 14-bit magnitude plus the bias of 33, clipped to 13 bits. */
    int biased = ((sample < 0 ? ~sample : sample) >> 2) + 33;
    if (biased > 0x1FFF) {
        biased = 0x1FFF;
    }
    /* Segment number 1..8: one more than the bit length of biased >> 6. */
    int segment = 1;
    for (int rest = biased >> 6; rest != 0; rest >>= 1) {
        segment++;
    }
    int high_nibble = 8 - segment;
    int low_nibble = 0xF - ((biased >> segment) & 0xF);
    int code = (high_nibble << 4) | low_nibble;
    return (uint8_t)(sample >= 0 ? code | 0x80 : code);
}

/* G.191 alaw_compress for one sample. */
static uint8_t
alaw_code_of(int sample)
{
    int magnitude = (sample < 0 ? ~sample : sample) >> 4;
    if (magnitude > 15) {
        int exponent = 1;
        while (magnitude > 16 + 15) {
            magnitude >>= 1;
            exponent++;
        }
        magnitude = magnitude - 16 + (exponent << 4);
    }
    if (sample >= 0) {
        magnitude |= 0x80;
    }
    return (uint8_t)(magnitude ^ 0x55); /* even bits inverted on the line */
}

/* G.191 ulaw_expand for one code. */
static int16_t
ulaw_sample_of(int code)
{
    int inverted = ~code & 0xFF;
    int exponent = (inverted >> 4) & 7;
    int mantissa = inverted & 0xF;
    int step = 4 << (exponent + 1);
    int magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    return (int16_t)(code < 0x80 ? -magnitude : magnitude);
}

/* G.191 alaw_expand for one code. */
static int16_t
alaw_sample_of(int code)
{
    int line = (code ^ 0x55) & 0x7F;
    int exponent = line >> 4;
    int mantissa = line & 0xF;
    if (exponent > 0) {
        mantissa += 16;
    }
    mantissa = (mantissa << 4) + 8;
    if (exponent > 1) {
        mantissa <<= exponent - 1;
    }
    return (int16_t)(code > 0x7F ? mantissa : -mantissa);
}

static void
fill_tables(void)
{
    for (int index = 0; index < (65536 >> ULAW_ENCODE_SHIFT); index++) {
        ulaw_encode_table[index] = ulaw_code_of((int16_t)(uint16_t)(index << ULAW_ENCODE_SHIFT));
    }
    for (int index = 0; index < (65536 >> ALAW_ENCODE_SHIFT); index++) {
        alaw_encode_table[index] = alaw_code_of((int16_t)(uint16_t)(index << ALAW_ENCODE_SHIFT));
    }
    for (int code = 0; code < 256; code++) {
        ulaw_decode_table[code] = ulaw_sample_of(code);
        alaw_decode_table[code] = alaw_sample_of(code);
    }
}

static void
encode_samples(const uint8_t *pcm, Py_ssize_t count, uint8_t *codes, const uint8_t *table,
               int shift)
{
    for (Py_ssize_t index = 0; index < count; index++) {
        unsigned int unsigned_sample = pcm[2 * index] | ((unsigned int)pcm[2 * index + 1] << 8);
        codes[index] = table[unsigned_sample >> shift];
    }
}

static void
decode_codes(const uint8_t *codes, Py_ssize_t count, uint8_t *pcm, const int16_t *table)
{
    for (Py_ssize_t index = 0; index < count; index++) {
        uint16_t sample = (uint16_t)table[codes[index]];
        pcm[2 * index] = (uint8_t)(sample & 0xFF);
        pcm[2 * index + 1] = (uint8_t)(sample >> 8);
    }
}

static int
check_arguments(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd positional argument%s but %zd were given",
                     name, expected, expected == 1 ? "" : "s", nargs);
        return -1;
    }
    return 0;
}

/* Samples in a PCM buffer of `size` bytes, or -1 with ValueError if odd. */
static Py_ssize_t
pcm_samples(Py_ssize_t size)
{
    if (size & 1) {
        PyErr_Format(PyExc_ValueError,
                     "PCM length %zd is odd: a 16-bit sample takes 2 bytes", size);
        return -1;
    }
    return size >> 1;
}

static int
check_room(const Py_buffer *dst, Py_ssize_t needed)
{
    if (dst->len < needed) {
        PyErr_Format(PyExc_ValueError, "destination holds %zd bytes, %zd needed", dst->len,
                     needed);
        return -1;
    }
    return 0;
}

static PyObject *
encode(const char *name, PyObject *const *args, Py_ssize_t nargs, const uint8_t *table,
       int shift)
{
    Py_buffer pcm;
    if (check_arguments(name, nargs, 1) < 0
        || PyObject_GetBuffer(args[0], &pcm, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = pcm_samples(pcm.len);
    if (count >= 0) {
        result = PyBytes_FromStringAndSize(NULL, count);
        if (result != NULL) {
            encode_samples(pcm.buf, count, (uint8_t *)PyBytes_AS_STRING(result), table, shift);
        }
    }
    PyBuffer_Release(&pcm);
    return result;
}

static PyObject *
encode_into(const char *name, PyObject *const *args, Py_ssize_t nargs, const uint8_t *table,
            int shift)
{
    Py_buffer pcm;
    Py_buffer dst;
    if (check_arguments(name, nargs, 2) < 0
        || PyObject_GetBuffer(args[0], &pcm, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &dst, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&pcm);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t count = pcm_samples(pcm.len);
    if (count >= 0 && check_room(&dst, count) == 0) {
        encode_samples(pcm.buf, count, dst.buf, table, shift);
        result = PyLong_FromSsize_t(count);
    }
    PyBuffer_Release(&dst);
    PyBuffer_Release(&pcm);
    return result;
}

static PyObject *
decode(const char *name, PyObject *const *args, Py_ssize_t nargs, const int16_t *table)
{
    Py_buffer codes;
    if (check_arguments(name, nargs, 1) < 0
        || PyObject_GetBuffer(args[0], &codes, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, codes.len * 2);
    if (result != NULL) {
        decode_codes(codes.buf, codes.len, (uint8_t *)PyBytes_AS_STRING(result), table);
    }
    PyBuffer_Release(&codes);
    return result;
}

static PyObject *
decode_into(const char *name, PyObject *const *args, Py_ssize_t nargs, const int16_t *table)
{
    Py_buffer codes;
    Py_buffer dst;
    if (check_arguments(name, nargs, 2) < 0
        || PyObject_GetBuffer(args[0], &codes, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &dst, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&codes);
        return NULL;
    }
    PyObject *result = NULL;
    if (check_room(&dst, codes.len * 2) == 0) {
        decode_codes(codes.buf, codes.len, dst.buf, table);
        result = PyLong_FromSsize_t(codes.len * 2);
    }
    PyBuffer_Release(&dst);
    PyBuffer_Release(&codes);
    return result;
}

static PyObject *
ulaw_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return encode("ulaw_encode", args, nargs, ulaw_encode_table, ULAW_ENCODE_SHIFT);
}

static PyObject *
alaw_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return encode("alaw_encode", args, nargs, alaw_encode_table, ALAW_ENCODE_SHIFT);
}

static PyObject *
ulaw_encode_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return encode_into("ulaw_encode_into", args, nargs, ulaw_encode_table, ULAW_ENCODE_SHIFT);
}

static PyObject *
alaw_encode_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return encode_into("alaw_encode_into", args, nargs, alaw_encode_table, ALAW_ENCODE_SHIFT);
}

static PyObject *
ulaw_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return decode("ulaw_decode", args, nargs, ulaw_decode_table);
}

static PyObject *
alaw_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return decode("alaw_decode", args, nargs, alaw_decode_table);
}

static PyObject *
ulaw_decode_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return decode_into("ulaw_decode_into", args, nargs, ulaw_decode_table);
}

static PyObject *
alaw_decode_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return decode_into("alaw_decode_into", args, nargs, alaw_decode_table);
}

static PyMethodDef g711c_methods[] = {
    {"ulaw_encode", (PyCFunction)(void (*)(void))ulaw_encode, METH_FASTCALL,
     "ulaw_encode(pcm) -> bytes: u-law codes for 16-bit little-endian PCM."},
    {"alaw_encode", (PyCFunction)(void (*)(void))alaw_encode, METH_FASTCALL,
     "alaw_encode(pcm) -> bytes: A-law codes for 16-bit little-endian PCM."},
    {"ulaw_decode", (PyCFunction)(void (*)(void))ulaw_decode, METH_FASTCALL,
     "ulaw_decode(codes) -> bytes: 16-bit little-endian PCM for u-law codes."},
    {"alaw_decode", (PyCFunction)(void (*)(void))alaw_decode, METH_FASTCALL,
     "alaw_decode(codes) -> bytes: 16-bit little-endian PCM for A-law codes."},
    {"ulaw_encode_into", (PyCFunction)(void (*)(void))ulaw_encode_into, METH_FASTCALL,
     "ulaw_encode_into(pcm, dst) -> n: u-law codes into dst[0:n], n = len(pcm) // 2."},
    {"alaw_encode_into", (PyCFunction)(void (*)(void))alaw_encode_into, METH_FASTCALL,
     "alaw_encode_into(pcm, dst) -> n: A-law codes into dst[0:n], n = len(pcm) // 2."},
    {"ulaw_decode_into", (PyCFunction)(void (*)(void))ulaw_decode_into, METH_FASTCALL,
     "ulaw_decode_into(codes, dst) -> n: PCM into dst[0:n], n = 2 * len(codes)."},
    {"alaw_decode_into", (PyCFunction)(void (*)(void))alaw_decode_into, METH_FASTCALL,
     "alaw_decode_into(codes, dst) -> n: PCM into dst[0:n], n = 2 * len(codes)."},
    {NULL, NULL, 0, NULL},
};

static int
g711c_exec(PyObject *module)
{
    fill_tables();
    return 0;
}

static PyModuleDef_Slot g711c_slots[] = {
    {Py_mod_exec, g711c_exec},
    {0, NULL},
};

static struct PyModuleDef g711c_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "intercom.media._g711c",
    .m_doc = "G.711 u-law/A-law encode and decode, bit-exact to ITU-T G.191 (C path).",
    .m_size = 0,
    .m_methods = g711c_methods,
    .m_slots = g711c_slots,
};

PyMODINIT_FUNC
PyInit__g711c(void)
{
    return PyModuleDef_Init(&g711c_module);
}
