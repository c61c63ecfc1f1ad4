"""C source of the native kernels (compiled with the system C compiler at first use; see ``_native.py``).

Kept as a Python string so that it ships with the package whatever the packaging (no package-data needed).

Exactness contract (the lattice kernels): every operation mirrors ``quantproof.math.lattice`` step for step in
IEEE double precision — ``floor(x + 0.5)``, the parity of the tree-ordered sum (numpy's pairwise order for 8
elements: ``((v0+v1)+(v2+v3))+((v4+v5)+(v6+v7))``), first-index argmax of ``|x − f|``, ``step = +1`` iff the
chosen error is ``>= 0``, the coset ``x − 0.5`` and ``g + 0.5``, tree-ordered squared distances and ``d1 < d0``
(ties go to the integer coset). It is compiled with ``-ffp-contract=off`` and without ``-ffast-math`` so the
compiler may vectorise but not fuse or reassociate; the results are bit-identical to the reference.
"""

C_SOURCE = r"""
/* QuantProof native kernels. Build: cc -O3 -ffp-contract=off -fno-fast-math -fopenmp-simd -shared -fPIC -pthread */
#include <math.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define QP_ABI 9
#define LANES 16
#define QP_NONFINITE 1
#define QP_INEXACT32 2

int qp_abi(void) { return QP_ABI; }

/* ------------------------------------------------------------------------------------------------------ */
/* threads                                                                                                  */

typedef void (*qp_range_fn)(void *ctx, int64_t lo, int64_t hi, int *flags);

/* Dynamic scheduling: the items are cut into chunks that the threads (the caller's included) take from a shared
   counter, so a thread that the OS does not schedule (a busy machine) delays nothing: the others take its share.
   Every item is processed independently, so the result does not depend on the split. */
typedef struct { qp_range_fn fn; void *ctx; int64_t n, chunk, next; int flags; } qp_pool;

static void *qp_worker(void *p) {
    qp_pool *P = (qp_pool *)p;
    int f = 0;
    for (;;) {
        int64_t lo = __atomic_fetch_add(&P->next, P->chunk, __ATOMIC_RELAXED);
        if (lo >= P->n) break;
        int64_t hi = lo + P->chunk < P->n ? lo + P->chunk : P->n;
        P->fn(P->ctx, lo, hi, &f);
    }
    __atomic_fetch_or(&P->flags, f, __ATOMIC_RELAXED);
    return NULL;
}

/* [0, n) with up to `threads` threads, chunks of at least `min_chunk` items (a multiple of it); OR of the flags. */
static int qp_parallel(qp_range_fn fn, void *ctx, int64_t n, int threads, int64_t min_chunk) {
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    if (min_chunk < 1) min_chunk = 1;
    if (n < 2 * min_chunk) threads = 1;
    if (threads <= 1) { int f = 0; fn(ctx, 0, n, &f); return f; }
    int64_t chunk = n / ((int64_t)threads * 16);
    chunk = chunk < min_chunk ? min_chunk : (chunk / min_chunk) * min_chunk;
    qp_pool P = {fn, ctx, n, chunk, 0, 0};
    pthread_t tid[64];
    int started[64];
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, qp_worker, &P) == 0;
    qp_worker(&P);
    for (int t = 1; t < threads; t++)
        if (started[t]) pthread_join(tid[t], NULL);
    return P.flags;
}

/* ------------------------------------------------------------------------------------------------------ */
/* lattice: D8 and E8 nearest points (Conway & Sloane), mirrored from quantproof.math.lattice              */
/* Eight 8-vectors at a time, transposed so that lane l of vector register k holds coordinate k of vector l  */
/* (GCC/Clang generic vectors: AVX-512 on this kind of machine, split into AVX2/SSE/NEON elsewhere).         */

typedef double vd __attribute__((vector_size(64)));
typedef long long vl __attribute__((vector_size(64)));
typedef float vf __attribute__((vector_size(32)));
#define BD(v) ((vd){(v), (v), (v), (v), (v), (v), (v), (v)})
#define BL(v) ((vl){(v), (v), (v), (v), (v), (v), (v), (v)})

static inline vd vsel(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); }
static inline vd vabs(vd x) { return (vd)((vl)x & BL(0x7fffffffffffffffLL)); }

/* Exact floor: for |x| < 2^52, round |x| to the nearest integer by adding and subtracting 2^52, restore the
   sign and step down where that overshot; |x| >= 2^52 is already an integer. (Round-to-nearest mode.) */
#if defined(__AVX512F__) && !defined(QP_GENERIC)
#include <immintrin.h>
static inline vd vfloor(vd x) { return (vd)_mm512_roundscale_pd((__m512d)x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
#elif defined(__AVX__) && !defined(QP_GENERIC)
#include <immintrin.h>
static inline vd vfloor(vd x) {
    __m256d lo, hi;
    memcpy(&lo, &x, 32);
    memcpy(&hi, (char *)&x + 32, 32);
    lo = _mm256_floor_pd(lo);
    hi = _mm256_floor_pd(hi);
    memcpy(&x, &lo, 32);
    memcpy((char *)&x + 32, &hi, 32);
    return x;
}
#else
static inline vd vfloor(vd x) {
    const vd C = BD(4503599627370496.0);
    vd ax = vabs(x);
    vd r = (ax + C) - C;
    vd t = (vd)((vl)r | ((vl)x & BL((long long)0x8000000000000000ULL)));
    vl over = t > x;
    vd fl = t - (vd)((vl)BD(1.0) & over);
    return vsel(ax >= C, x, fl);
}
#endif

static inline vd vtree8(const vd v[8]) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* nearest_dn on eight 8-vectors (transposed) */
static inline void vdn8(const vd x[8], vd f[8]) {
    vd e[8];
    for (int k = 0; k < 8; k++) f[k] = vfloor(x[k] + BD(0.5));
    vd s = vtree8(f);
    vd h = s * BD(0.5);
    vl odd = vfloor(h) != h;
    for (int k = 0; k < 8; k++) e[k] = x[k] - f[k];
    vd best = vabs(e[0]), ei = e[0];
    vl idx = BL(0);
    for (int k = 1; k < 8; k++) {
        vd a = vabs(e[k]);
        vl m = a > best;              /* strictly greater: the first maximal index wins (numpy argmax) */
        best = vsel(m, a, best);
        ei = vsel(m, e[k], ei);
        idx = (m & BL(k)) | (~m & idx);
    }
    vd step = vsel(ei >= BD(0.0), BD(1.0), BD(-1.0));
    for (int k = 0; k < 8; k++) f[k] = vsel(odd & (idx == BL(k)), f[k] + step, f[k]);
}

/* 8x8 transpose of eight vd registers (in place) */
static inline void vtranspose(vd r[8]) {
    typedef long long mi __attribute__((vector_size(64)));
    const mi A = {0, 8, 2, 10, 4, 12, 6, 14}, B = {1, 9, 3, 11, 5, 13, 7, 15};
    const mi C = {0, 1, 8, 9, 4, 5, 12, 13}, D = {2, 3, 10, 11, 6, 7, 14, 15};
    const mi E = {0, 1, 2, 3, 8, 9, 10, 11}, F = {4, 5, 6, 7, 12, 13, 14, 15};
    vd t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shuffle(r[i], r[i + 1], A);
        t[i + 1] = __builtin_shuffle(r[i], r[i + 1], B);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = __builtin_shuffle(t[i], t[i + 2], C);
        u[i + 2] = __builtin_shuffle(t[i], t[i + 2], D);
        u[i + 1] = __builtin_shuffle(t[i + 1], t[i + 3], C);
        u[i + 3] = __builtin_shuffle(t[i + 1], t[i + 3], D);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = __builtin_shuffle(u[i], u[i + 4], E);
        r[i + 4] = __builtin_shuffle(u[i], u[i + 4], F);
    }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(QP_GENERIC)
/* The same operations with AVX-512 mask registers (fewer instructions than the generic bit-select form). */
#define QP_LATTICE_IMPL "avx512"
static inline __m512d m_floor(__m512d x) { return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
static inline __m512d m_tree8(const __m512d v[8]) {
    return _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(v[0], v[1]), _mm512_add_pd(v[2], v[3])),
                         _mm512_add_pd(_mm512_add_pd(v[4], v[5]), _mm512_add_pd(v[6], v[7])));
}
static inline void m_dn8(const __m512d x[8], __m512d f[8]) {
    const __m512d half = _mm512_set1_pd(0.5);
    __m512d e[8];
    for (int k = 0; k < 8; k++) f[k] = m_floor(_mm512_add_pd(x[k], half));
    __m512d h = _mm512_mul_pd(m_tree8(f), half);
    __mmask8 odd = _mm512_cmp_pd_mask(m_floor(h), h, _CMP_NEQ_UQ);
    for (int k = 0; k < 8; k++) e[k] = _mm512_sub_pd(x[k], f[k]);
    __m512d best = _mm512_abs_pd(e[0]), ei = e[0];
    __m512i idx = _mm512_setzero_si512();
    for (int k = 1; k < 8; k++) {
        __m512d a = _mm512_abs_pd(e[k]);
        __mmask8 m = _mm512_cmp_pd_mask(a, best, _CMP_GT_OQ);   /* strictly greater: first maximal index wins */
        best = _mm512_mask_mov_pd(best, m, a);
        ei = _mm512_mask_mov_pd(ei, m, e[k]);
        idx = _mm512_mask_mov_epi64(idx, m, _mm512_set1_epi64(k));
    }
    __mmask8 pos = _mm512_cmp_pd_mask(ei, _mm512_setzero_pd(), _CMP_GE_OQ);
    __m512d step = _mm512_mask_blend_pd(pos, _mm512_set1_pd(-1.0), _mm512_set1_pd(1.0));
    for (int k = 0; k < 8; k++) {
        __mmask8 m = odd & _mm512_cmpeq_epi64_mask(idx, _mm512_set1_epi64(k));
        f[k] = _mm512_mask_add_pd(f[k], m, f[k], step);
    }
}
static inline void lattice_core(const vd xv[8], vd yv[8], int e8) {
    __m512d x[8], y0[8];
    for (int k = 0; k < 8; k++) x[k] = (__m512d)xv[k];
    m_dn8(x, y0);
    if (e8) {
        const __m512d half = _mm512_set1_pd(0.5);
        __m512d xm[8], y1[8], t0[8], t1[8];
        for (int k = 0; k < 8; k++) xm[k] = _mm512_sub_pd(x[k], half);
        m_dn8(xm, y1);
        for (int k = 0; k < 8; k++) y1[k] = _mm512_add_pd(y1[k], half);
        for (int k = 0; k < 8; k++) { __m512d u = _mm512_sub_pd(x[k], y0[k]); t0[k] = _mm512_mul_pd(u, u); }
        for (int k = 0; k < 8; k++) { __m512d u = _mm512_sub_pd(x[k], y1[k]); t1[k] = _mm512_mul_pd(u, u); }
        __mmask8 sel = _mm512_cmp_pd_mask(m_tree8(t1), m_tree8(t0), _CMP_LT_OQ);   /* ties: the integer coset */
        for (int k = 0; k < 8; k++) y0[k] = _mm512_mask_blend_pd(sel, y0[k], y1[k]);
    }
    for (int k = 0; k < 8; k++) yv[k] = (vd)y0[k];
}
#else
#define QP_LATTICE_IMPL "generic-vector"
static inline void lattice_core(const vd x[8], vd y0[8], int e8) {
    vdn8(x, y0);
    if (e8) {
        vd xm[8], y1[8], t0[8], t1[8];
        for (int k = 0; k < 8; k++) xm[k] = x[k] - BD(0.5);
        vdn8(xm, y1);
        for (int k = 0; k < 8; k++) y1[k] = y1[k] + BD(0.5);
        for (int k = 0; k < 8; k++) { vd u = x[k] - y0[k]; t0[k] = u * u; }
        for (int k = 0; k < 8; k++) { vd u = x[k] - y1[k]; t1[k] = u * u; }
        vl sel = vtree8(t1) < vtree8(t0);   /* ties: the integer coset */
        for (int k = 0; k < 8; k++) y0[k] = vsel(sel, y1[k], y0[k]);
    }
}
#endif

/* 1 when every |x| <= 2^22 (compared as the bits of |x|, so NaN and inf fail): then the input is finite and
   every coordinate of the nearest point (|y| <= 2^22 + 1, a multiple of 1/2) is exact in float32. */
#if defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(QP_GENERIC)
static inline int block_small(const vd x[8]) {
    const __m512i absmask = _mm512_set1_epi64(0x7fffffffffffffffLL);
    __m512i m = _mm512_and_si512((__m512i)x[0], absmask);
    for (int k = 1; k < 8; k++) m = _mm512_max_epu64(m, _mm512_and_si512((__m512i)x[k], absmask));
    return _mm512_cmp_epu64_mask(m, _mm512_set1_epi64(0x4150000000000000LL), _MM_CMPINT_LE) == 0xFF;
}
#else
static inline int block_small(const vd x[8]) {
    vl bad = BL(0);
    for (int k = 0; k < 8; k++) bad |= ((vl)x[k] & BL(0x7fffffffffffffffLL)) > BL(0x4150000000000000LL);
    long long any = 0;
    for (int l = 0; l < 8; l++) any |= bad[l];
    return any == 0;
}
#endif

const char *qp_lattice_impl(void) { return QP_LATTICE_IMPL; }

typedef struct { const void *in; void *out; int in64, out64, e8; } qp_lat_ctx;

static void qp_lat_range(void *vctx, int64_t lo, int64_t hi, int *flags) {
    const qp_lat_ctx *c = (const qp_lat_ctx *)vctx;
    const float *inf = (const float *)c->in;
    const double *ind = (const double *)c->in;
    float *outf = (float *)c->out;
    double *outd = (double *)c->out;
    vl finite = BL(-1), exact = BL(-1);
    for (int64_t b = lo; b < hi; b += 8) {
        int n = (hi - b) < 8 ? (int)(hi - b) : 8;
        vd x[8], y0[8];
        if (n == 8 && c->in64) {
            for (int l = 0; l < 8; l++) memcpy(&x[l], ind + (b + l) * 8, sizeof(vd));
        } else if (n == 8) {
            for (int l = 0; l < 8; l++) { vf v; memcpy(&v, inf + (b + l) * 8, sizeof(vf)); x[l] = __builtin_convertvector(v, vd); }
        } else {
            for (int l = 0; l < 8; l++) for (int k = 0; k < 8; k++)
                x[l][k] = l < n ? (c->in64 ? ind[(b + l) * 8 + k] : (double)inf[(b + l) * 8 + k]) : 0.0;
        }
        vtranspose(x);
        int small = block_small(x);   /* all |x| <= 2^22: finite, and every lattice point fits a float32 exactly */
        if (!small)
            for (int k = 0; k < 8; k++) finite &= vabs(x[k]) <= BD(DBL_MAX);
        lattice_core(x, y0, c->e8);
        if (!small && !c->out64)
            for (int k = 0; k < 8; k++) exact &= __builtin_convertvector(__builtin_convertvector(y0[k], vf), vd) == y0[k];
        vtranspose(y0);
        if (n == 8 && c->out64) {
            for (int l = 0; l < 8; l++) memcpy(outd + (b + l) * 8, &y0[l], sizeof(vd));
        } else if (n == 8) {
            for (int l = 0; l < 8; l++) { vf v = __builtin_convertvector(y0[l], vf); memcpy(outf + (b + l) * 8, &v, sizeof(vf)); }
        } else {
            for (int l = 0; l < n; l++) for (int k = 0; k < 8; k++) {
                if (c->out64) outd[(b + l) * 8 + k] = y0[l][k]; else outf[(b + l) * 8 + k] = (float)y0[l][k];
            }
        }
    }
    int nf = 0, ex = 0;
    for (int l = 0; l < 8; l++) { nf |= finite[l] == 0; ex |= exact[l] == 0; }
    *flags |= (nf ? QP_NONFINITE : 0) | (ex ? QP_INEXACT32 : 0);
}

/* n 8-vectors; in64/out64: 1 for double, 0 for float; e8: 1 for E8, 0 for D8. Returns QP_* flags. */
int qp_nearest8(const void *in, void *out, int64_t n, int in64, int out64, int e8, int threads) {
    qp_lat_ctx c = {in, out, in64, out64, e8};
    return qp_parallel(qp_lat_range, &c, n, threads, 8192);
}

/* ------------------------------------------------------------------------------------------------------ */
/* fast Walsh–Hadamard transform (Sylvester order, orthonormal), rows of length d (power of 2)              */
/* Same butterflies and order of floating-point operations as quantproof.math.rotations.fwht:               */
/* stage h: (a[j], a[j+h]) <- (a[j] + a[j+h], a[j] - a[j+h]); then a / sqrt(d).                              */

/* Passes over one row (in place): radix-4 (two stages) then radix-2, for stages h0, 2h0, ..., d/2. */
#define FWHT_PASSES(T, a, d, h0)                                                                             \
    do {                                                                                                     \
        int64_t h = (h0);                                                                                    \
        for (; 4 * h <= (d); h *= 4) {                                                                       \
            for (int64_t i = 0; i < (d); i += 4 * h) {                                                       \
                T *p0 = (a) + i, *p1 = (a) + i + h, *p2 = (a) + i + 2 * h, *p3 = (a) + i + 3 * h;             \
                _Pragma("omp simd")                                                                          \
                for (int64_t j = 0; j < h; j++) {                                                            \
                    T u0 = p0[j] + p1[j], u1 = p0[j] - p1[j], u2 = p2[j] + p3[j], u3 = p2[j] - p3[j];         \
                    p0[j] = u0 + u2; p2[j] = u0 - u2; p1[j] = u1 + u3; p3[j] = u1 - u3;                       \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        for (; h < (d); h *= 2) {                                                                            \
            for (int64_t i = 0; i < (d); i += 2 * h) {                                                       \
                T *p0 = (a) + i, *p1 = (a) + i + h;                                                          \
                _Pragma("omp simd")                                                                          \
                for (int64_t j = 0; j < h; j++) { T u = p0[j], v = p1[j]; p0[j] = u + v; p1[j] = u - v; }    \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

/* In-register stages h = 1, 2, 4 (, 8) of one vector register: lane j pairs with lane j^h; the lane with bit h
   clear gets u + v, the other u - v (u the lower lane) -- the same two IEEE operations as the scalar butterfly. */
typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));

static inline vf16 wht_lanes_f32(vf16 v) {
    const vi16 P1 = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
    const vi16 M1 = {0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1};
    const vi16 P2 = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
    const vi16 M2 = {0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1};
    const vi16 P4 = {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11};
    const vi16 M4 = {0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1};
    const vi16 P8 = {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7};
    const vi16 M8 = {0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1};
    vf16 p;
    p = __builtin_shuffle(v, P1); v = (vf16)(((vi16)(v + p) & ~M1) | ((vi16)(p - v) & M1));
    p = __builtin_shuffle(v, P2); v = (vf16)(((vi16)(v + p) & ~M2) | ((vi16)(p - v) & M2));
    p = __builtin_shuffle(v, P4); v = (vf16)(((vi16)(v + p) & ~M4) | ((vi16)(p - v) & M4));
    p = __builtin_shuffle(v, P8); v = (vf16)(((vi16)(v + p) & ~M8) | ((vi16)(p - v) & M8));
    return v;
}

static inline vd wht_lanes_f64(vd v) {
    const vl P1 = {1, 0, 3, 2, 5, 4, 7, 6}, M1 = {0, -1, 0, -1, 0, -1, 0, -1};
    const vl P2 = {2, 3, 0, 1, 6, 7, 4, 5}, M2 = {0, 0, -1, -1, 0, 0, -1, -1};
    const vl P4 = {4, 5, 6, 7, 0, 1, 2, 3}, M4 = {0, 0, 0, 0, -1, -1, -1, -1};
    vd p;
    p = __builtin_shuffle(v, P1); v = (vd)(((vl)(v + p) & ~M1) | ((vl)(p - v) & M1));
    p = __builtin_shuffle(v, P2); v = (vd)(((vl)(v + p) & ~M2) | ((vl)(p - v) & M2));
    p = __builtin_shuffle(v, P4); v = (vd)(((vl)(v + p) & ~M4) | ((vl)(p - v) & M4));
    return v;
}

/* scalar radix-2 stages h0..d/2 for tiny rows */
#define FWHT_SMALL(T, a, d)                                                                                  \
    for (int64_t h = 1; h < (d); h *= 2)                                                                     \
        for (int64_t i = 0; i < (d); i += 2 * h)                                                             \
            for (int64_t j = i; j < i + h; j++) { T u = (a)[j], v = (a)[j + h]; (a)[j] = u + v; (a)[j + h] = u - v; }

static void fwht_row_f64(const double *in, double *a, int64_t d, const double *sg, double s) {
    if (d >= 8) {
        for (int64_t i = 0; i < d; i += 8) {
            vd v;
            memcpy(&v, in + i, sizeof v);
            if (sg) { vd g; memcpy(&g, sg + i, sizeof g); v = v * g; }
            v = wht_lanes_f64(v);
            memcpy(a + i, &v, sizeof v);
        }
        FWHT_PASSES(double, a, d, 8);
    } else {
        for (int64_t j = 0; j < d; j++) a[j] = sg ? in[j] * sg[j] : in[j];
        FWHT_SMALL(double, a, d)
    }
    _Pragma("omp simd")
    for (int64_t j = 0; j < d; j++) a[j] = a[j] / s;
}

static void fwht_row_f32(const float *in, float *a, int64_t d, const float *sg, float s) {
    if (d >= 16) {
        for (int64_t i = 0; i < d; i += 16) {
            vf16 v;
            memcpy(&v, in + i, sizeof v);
            if (sg) { vf16 g; memcpy(&g, sg + i, sizeof g); v = v * g; }
            v = wht_lanes_f32(v);
            memcpy(a + i, &v, sizeof v);
        }
        FWHT_PASSES(float, a, d, 16);
    } else {
        for (int64_t j = 0; j < d; j++) a[j] = sg ? in[j] * sg[j] : in[j];
        FWHT_SMALL(float, a, d)
    }
    _Pragma("omp simd")
    for (int64_t j = 0; j < d; j++) a[j] = a[j] / s;
}

typedef struct { const void *in; void *out; const void *signs; int64_t d; int f64; } qp_fwht_ctx;

static void qp_fwht_range(void *vctx, int64_t lo, int64_t hi, int *flags) {
    const qp_fwht_ctx *c = (const qp_fwht_ctx *)vctx;
    (void)flags;
    int64_t d = c->d;
    if (c->f64) {
        double s = sqrt((double)d);
        for (int64_t r = lo; r < hi; r++)
            fwht_row_f64((const double *)c->in + r * d, (double *)c->out + r * d, d, (const double *)c->signs, s);
    } else {
        float s = (float)sqrt((double)d);
        for (int64_t r = lo; r < hi; r++)
            fwht_row_f32((const float *)c->in + r * d, (float *)c->out + r * d, d, (const float *)c->signs, s);
    }
}

/* `rows` contiguous rows of length d from `in` to `out` (may be the same buffer); optional per-column signs (the D
   of an SRHT), applied first. */
int qp_fwht(const void *in, void *out, const void *signs, int64_t rows, int64_t d, int f64, int threads) {
    if (d < 1 || (d & (d - 1)) != 0) return -1;
    qp_fwht_ctx c = {in, out, signs, d, f64};
    int64_t align = d >= (1 << 19) ? 1 : (1 << 19) / d;   /* >= 2^19 elements per thread, else one thread */
    return qp_parallel(qp_fwht_range, &c, rows, threads, align);
}

/* ------------------------------------------------------------------------------------------------------ */
/* multi-threaded memory copy (for the bandwidth figure of the benchmark)                                   */

typedef struct { char *dst; const char *src; } qp_copy_ctx;

static void qp_copy_range(void *vctx, int64_t lo, int64_t hi, int *flags) {
    const qp_copy_ctx *c = (const qp_copy_ctx *)vctx;
    (void)flags;
    memcpy(c->dst + lo, c->src + lo, (size_t)(hi - lo));
}

int qp_copy(void *dst, const void *src, int64_t nbytes, int threads) {
    qp_copy_ctx c = {(char *)dst, (const char *)src};
    return qp_parallel(qp_copy_range, &c, nbytes, threads, 1 << 16);
}
"""
