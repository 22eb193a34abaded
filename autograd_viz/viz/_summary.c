/* The summary of one large recorded value: statistics and histogram counts, in C.
 *
 * autograd_viz/viz/preview.py summarises every large value a recording keeps (min, max,
 * mean, std, a histogram of HIST_BINS bins, the edge elements). With NumPy calls that is
 * about a dozen passes over the elements, float64 temporaries and a bincount, and for a
 * recorded training loop those summaries are most of what `graph()` costs. This module
 * computes the statistics and the histogram counts of a C-contiguous float32 or float64
 * buffer in a few tight loops. Each element's bin is computed with the float64 arithmetic
 * of preview._binned ((x - lo) * scale, truncated), so the counts are NumPy's path's; the
 * mean and std are float64 sums in NumPy's pairwise order, so for up to 65536 elements
 * (where preview._stats sums one float64 copy) they are its values to the bit, and for
 * more (where it sums in blocks) within ~1e-15.
 *
 * summarise(buffer, bins) -> None | (min, max, mean, std, counts | None)
 *   None:   an empty buffer, one holding a NaN or an infinity, or one whose max - min
 *           overflows or is so small (subnormal) that bins / (max - min) overflows
 *           (preview.py's NumPy path takes those: it bins the finite values only, and
 *           halves values whose range overflows).
 *   counts: a tuple of `bins` ints; None where min == max (the NumPy path then bins the
 *           value in a range widened around it).
 *
 * The buffer protocol only (no NumPy C API), so it builds without NumPy's headers. The
 * extension is optional: preview.py falls back to NumPy where it was not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

#define BLOCK 256  /* elements whose bins are computed (vector code) before they are counted */

/* The loops below are built twice by GCC on x86-64 with glibc, which picks one when the
 * module loads: AVX2 (twice the vector width) where the CPU has it, else the baseline.
 * Both do the same operations in the same order (no FMA: see setup.py), so their results
 * are the same to the bit. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define MULTI __attribute__((target_clones("avx2", "default")))
#else
#define MULTI
#endif
#define MAX_BINS 1024

/* min and max: NaN never wins a comparison here (SSE's min/max keep the other operand);
 * the sum, which a NaN or an infinity makes non-finite, tells the caller. Two vectors of
 * each kind at a time (V: the SSE2 type, W elements each; SET1/LOAD/MIN/MAX/STORE: its
 * intrinsics), then the rest one by one. */
#ifdef HAVE_SSE2
#define MINMAX_VECTORS(T, V, W, SET1, LOAD, MIN, MAX, STORE)                               \
    V a = SET1(mn), b = a, c = a, d = a;                                                   \
    for (; i + 2 * (W) <= n; i += 2 * (W)) {                                               \
        V v = LOAD(x + i), w = LOAD(x + i + (W));                                          \
        a = MIN(v, a); b = MAX(v, b);                                                      \
        c = MIN(w, c); d = MAX(w, d);                                                      \
    }                                                                                      \
    T m[W], M[W];                                                                          \
    STORE(m, MIN(a, c));                                                                   \
    STORE(M, MAX(b, d));                                                                   \
    for (int j = 0; j < (W); j++) {                                                        \
        mn = m[j] < mn ? m[j] : mn;                                                        \
        mx = M[j] > mx ? M[j] : mx;                                                        \
    }
#else
#define MINMAX_VECTORS(T, V, W, SET1, LOAD, MIN, MAX, STORE)
#endif

#define DEFINE_MINMAX(NAME, T, V, W, SET1, LOAD, MIN, MAX, STORE)                          \
    MULTI static void NAME##_minmax(const T *x, Py_ssize_t n, double *lo, double *hi)     \
    {                                                                                      \
        Py_ssize_t i = 0;                                                                  \
        T mn = x[0], mx = x[0];                                                            \
        MINMAX_VECTORS(T, V, W, SET1, LOAD, MIN, MAX, STORE)                               \
        for (; i < n; i++) {                                                               \
            mn = x[i] < mn ? x[i] : mn;                                                    \
            mx = x[i] > mx ? x[i] : mx;                                                    \
        }                                                                                  \
        *lo = mn; *hi = mx;                                                                \
    }

DEFINE_MINMAX(f32, float, __m128, 4, _mm_set1_ps, _mm_loadu_ps, _mm_min_ps, _mm_max_ps,
              _mm_storeu_ps)
DEFINE_MINMAX(f64, double, __m128d, 2, _mm_set1_pd, _mm_loadu_pd, _mm_min_pd, _mm_max_pd,
              _mm_storeu_pd)

/* The float64 sum of the elements, and of their squared deviations from `mean`, each as
 * NumPy's pairwise summation adds up a contiguous float64 array (np.add.reduce: blocks of
 * at most 128 elements summed in eight interleaved partial sums, halves added
 * recursively), which is how preview._stats sums the float64 copy of a value: the same
 * additions in the same order, so the same mean and std, to the bit. */
#define PAIRWISE_BLOCK 128
#define DEFINE_SUMS(NAME, T)                                                               \
    MULTI static double NAME##_sum(const T *x, Py_ssize_t n)                              \
    {                                                                                      \
        if (n < 8) {                                                                       \
            double res = 0.;                                                               \
            for (Py_ssize_t i = 0; i < n; i++)                                             \
                res += (double)x[i];                                                       \
            return res;                                                                    \
        }                                                                                  \
        if (n <= PAIRWISE_BLOCK) {                                                         \
            double r[8], res;                                                              \
            Py_ssize_t i, j;                                                               \
            for (j = 0; j < 8; j++)                                                        \
                r[j] = (double)x[j];                                                       \
            for (i = 8; i < n - (n % 8); i += 8)                                           \
                for (j = 0; j < 8; j++)                                                    \
                    r[j] += (double)x[i + j];                                              \
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));       \
            for (; i < n; i++)                                                             \
                res += (double)x[i];                                                       \
            return res;                                                                    \
        }                                                                                  \
        Py_ssize_t n2 = n / 2;                                                             \
        n2 -= n2 % 8;                                                                      \
        return NAME##_sum(x, n2) + NAME##_sum(x + n2, n - n2);                             \
    }                                                                                      \
                                                                                           \
    MULTI static double NAME##_squares(const T *x, Py_ssize_t n, double mean)             \
    {                                                                                      \
        if (n < 8) {                                                                       \
            double res = 0.;                                                               \
            for (Py_ssize_t i = 0; i < n; i++) {                                           \
                double d = (double)x[i] - mean;                                            \
                res += d * d;                                                              \
            }                                                                              \
            return res;                                                                    \
        }                                                                                  \
        if (n <= PAIRWISE_BLOCK) {                                                         \
            double r[8], res;                                                              \
            Py_ssize_t i, j;                                                               \
            for (j = 0; j < 8; j++) {                                                      \
                double d = (double)x[j] - mean;                                            \
                r[j] = d * d;                                                              \
            }                                                                              \
            for (i = 8; i < n - (n % 8); i += 8)                                           \
                for (j = 0; j < 8; j++) {                                                  \
                    double d = (double)x[i + j] - mean;                                    \
                    r[j] += d * d;                                                         \
                }                                                                          \
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));       \
            for (; i < n; i++) {                                                           \
                double d = (double)x[i] - mean;                                            \
                res += d * d;                                                              \
            }                                                                              \
            return res;                                                                    \
        }                                                                                  \
        Py_ssize_t n2 = n / 2;                                                             \
        n2 -= n2 % 8;                                                                      \
        return NAME##_squares(x, n2, mean) + NAME##_squares(x + n2, n - n2, mean);         \
    }                                                                                      \
                                                                                           \
    /* each element's slot, 0 .. bins (preview._binned: (x - lo) in float64, times scale, \
     * truncated; the values at the top edge land in slot `bins`) */                      \
    MULTI static void NAME##_slots(const T *x, int len, double lo, double scale, int bins, \
                             int *k)                                                       \
    {                                                                                      \
        for (int i = 0; i < len; i++) {                                                    \
            int q = (int)(((double)x[i] - lo) * scale);                                    \
            q = q < bins ? q : bins;                                                       \
            k[i] = q > 0 ? q : 0;  /* (never outside the tables, whatever rounding does) */\
        }                                                                                  \
    }

DEFINE_SUMS(f32, float)
DEFINE_SUMS(f64, double)

/* counts of each slot in k, in four tables taken in turn (consecutive elements in one bin
 * then never wait for each other's increment) */
static void
count_slots(const int *k, int len, Py_ssize_t *c0, Py_ssize_t stride)
{
    Py_ssize_t *c1 = c0 + stride, *c2 = c1 + stride, *c3 = c2 + stride;
    int i = 0;
    for (; i + 4 <= len; i += 4) {
        c0[k[i]]++; c1[k[i + 1]]++; c2[k[i + 2]]++; c3[k[i + 3]]++;
    }
    for (; i < len; i++)
        c0[k[i]]++;
}

static PyObject *
counts_tuple(const Py_ssize_t *tables, int bins)
{
    Py_ssize_t stride = bins + 1;
    PyObject *out = PyTuple_New(bins);
    if (out == NULL)
        return NULL;
    for (int b = 0; b < bins; b++) {
        Py_ssize_t c = 0;
        for (int t = 0; t < 4; t++) {
            c += tables[t * stride + b];
            if (b == bins - 1)  /* the top edge's slot belongs to the last bin */
                c += tables[t * stride + bins];
        }
        PyObject *v = PyLong_FromSsize_t(c);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, b, v);
    }
    return out;
}

static PyObject *
summarise(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    int bins;
    if (!PyArg_ParseTuple(args, "Oi:summarise", &obj, &bins))
        return NULL;
    if (bins < 1 || bins > MAX_BINS) {
        PyErr_Format(PyExc_ValueError, "bins must be in 1..%d, got %d", MAX_BINS, bins);
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char *fmt = view.format ? view.format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@')
        fmt++;
    int is32 = strcmp(fmt, "f") == 0 && view.itemsize == 4;
    if (!is32 && !(strcmp(fmt, "d") == 0 && view.itemsize == 8)) {
        PyErr_Format(PyExc_TypeError, "summarise() takes float32 or float64 values, not '%s'",
                     view.format ? view.format : "B");
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t n = view.len / view.itemsize;
    if (n == 0) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    Py_ssize_t stride = bins + 1;
    Py_ssize_t *tables = PyMem_Calloc((size_t)(4 * stride), sizeof(Py_ssize_t));
    if (tables == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    const void *buf = view.buf;
    double lo, hi, sum, mean = 0, ss = 0;
    int finite, binned = 0;

    Py_BEGIN_ALLOW_THREADS
    if (is32) {
        f32_minmax(buf, n, &lo, &hi);
        sum = f32_sum(buf, n);
    }
    else {
        f64_minmax(buf, n, &lo, &hi);
        sum = f64_sum(buf, n);
    }
    /* (a range that overflows: NumPy's path, which halves the values, takes it all) */
    finite = isfinite(sum) && isfinite(lo) && isfinite(hi) && isfinite(hi - lo);
    if (finite) {
        mean = sum / (double)n;
        ss = is32 ? f32_squares(buf, n, mean) : f64_squares(buf, n, mean);
        binned = lo < hi;
    }
    /* a range so narrow (subnormal) that bins / range overflows: NumPy's path takes it */
    if (binned && !isfinite((double)bins / (hi - lo)))
        finite = binned = 0;
    if (binned) {
        double scale = (double)bins / (hi - lo);  /* preview._binned's, to the bit */
        int k[BLOCK];
        for (Py_ssize_t b0 = 0; b0 < n; b0 += BLOCK) {
            int len = (int)(n - b0 < BLOCK ? n - b0 : BLOCK);
            if (is32)
                f32_slots((const float *)buf + b0, len, lo, scale, bins, k);
            else
                f64_slots((const double *)buf + b0, len, lo, scale, bins, k);
            count_slots(k, len, tables, stride);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);

    PyObject *result = NULL;
    if (!finite) {
        result = Py_None;
        Py_INCREF(result);
    }
    else if (!binned) {
        result = Py_BuildValue("ddddO", lo, hi, mean, sqrt(ss / (double)n), Py_None);
    }
    else {
        PyObject *counts = counts_tuple(tables, bins);
        if (counts != NULL)
            result = Py_BuildValue("ddddN", lo, hi, mean, sqrt(ss / (double)n), counts);
    }
    PyMem_Free(tables);
    return result;
}

static PyMethodDef methods[] = {
    {"summarise", summarise, METH_VARARGS,
     "summarise(buffer, bins) -> None | (min, max, mean, std, counts | None)\n\n"
     "Statistics and histogram counts of a C-contiguous float32/float64 buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_summary",
    "Statistics and histogram counts of large recorded values (see preview.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__summary(void)
{
    return PyModule_Create(&module);
}
