/*
 * attn_simd: 16-lane float vectors (GCC vector extensions; AVX-512 where the
 * target has it, pairs of AVX2 or SSE registers otherwise) and the few
 * operations the kernel needs, with a fixed reduction order so results
 * do not depend on anything but the inputs.
 */
#ifndef ATTN_SIMD_H
#define ATTN_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

/*
 * On targets without AVX-512, GCC warns that passing 64-byte vectors
 * changes the calling convention (the build turns that off: -Wno-psabi in
 * the Makefile). Every function here, and every kernel function that takes
 * or returns vectors, is static in one translation unit, so no such call
 * crosses an ABI boundary.
 */

#define VF_LANES 16

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));

/* 0, 1, .. 15: each lane's index. */
static inline vf vf_lane_index(void)
{
	return (vf){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
}

static inline vf vf_set(float x)
{
	return (vf){ x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x };
}

static inline vf vf_load(const float *p)
{
	vf v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void vf_store(float *p, vf v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * The n (0 .. VF_LANES) floats at p as a vector, zero past them; nothing
 * past them is read (AVX-512: one masked load, not a call to memcpy).
 */
static inline vf vf_load_part(const float *p, int n)
{
#ifdef __AVX512F__
	return (vf)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
#else
	vf v = vf_set(0.0f);

	memcpy(&v, p, sizeof(float) * n);
	return v;
#endif
}

static inline vi vi_load_part(const int *p, int n)
{
#ifdef __AVX512F__
	return (vi)_mm512_maskz_loadu_epi32((__mmask16)((1u << n) - 1u), p);
#else
	vi v = { 0 };

	memcpy(&v, p, sizeof(int) * n);
	return v;
#endif
}

/* The n (0 .. VF_LANES) bytes at p as ints, zero past them; nothing past them is read. */
static inline vi vi_load_u8_part(const uint8_t *p, int n)
{
#if defined(__AVX512BW__) && defined(__AVX512VL__)
	return (vi)_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1u), p));
#else
	vi v = { 0 };

	for (int l = 0; l < n; l++)
		v[l] = p[l];
	return v;
#endif
}

/* Lanes 0 .. n-1 of v to p (n 0 .. VF_LANES); nothing past them is written. */
static inline void vf_store_part(float *p, vf v, int n)
{
#ifdef __AVX512F__
	_mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), (__m512)v);
#else
	memcpy(p, &v, sizeof(float) * n);
#endif
}

/* table[idx] lane-wise (AVX-512: one gather). */
static inline vf vf_gather(const float *table, vi idx)
{
#ifdef __AVX512F__
	return (vf)_mm512_i32gather_ps((__m512i)idx, table, 4);
#else
	vf v;

	for (int l = 0; l < VF_LANES; l++)
		v[l] = table[idx[l]];
	return v;
#endif
}

/* roundf lane-wise (halves away from zero) as ints, for |x| < 2^31. */
static inline vi vf_round(vf x)
{
	vi t = __builtin_convertvector(x, vi);  /* towards zero */
	vf frac = x - __builtin_convertvector(t, vf);

	return t - (frac >= 0.5f) + (frac <= -0.5f);    /* a true lane is -1 */
}

/*
 * a * b + c rounded once, the same bits on every target: one instruction
 * with AVX-512, fmaf lane by lane otherwise (which GCC turns into FMA
 * instructions where the target has them). The compiler is never left to
 * contract a * b + c itself: where it would, results would depend on the
 * target and on how it optimised.
 */
static inline vf vf_fma(vf a, vf b, vf c)
{
#ifdef __AVX512F__
	return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#else
	vf r;

	for (int l = 0; l < VF_LANES; l++)
		r[l] = fmaf(a[l], b[l], c[l]);
	return r;
#endif
}

/* c - a * b rounded once, as vf_fma. */
static inline vf vf_fnma(vf a, vf b, vf c)
{
#ifdef __AVX512F__
	return (vf)_mm512_fnmadd_ps((__m512)a, (__m512)b, (__m512)c);
#else
	return vf_fma(-a, b, c);
#endif
}

/*
 * a where mask is set (all ones), else b. Casts reinterpret the bits.
 * AVX-512: one blend under a mask register, which the comparison that
 * made the mask writes directly.
 */
static inline vf vf_select(vi mask, vf a, vf b)
{
#ifdef __AVX512F__
	return (vf)_mm512_mask_blend_ps(_mm512_test_epi32_mask((__m512i)mask, (__m512i)mask),
					(__m512)b, (__m512)a);
#else
	return (vf)(((vi)a & mask) | ((vi)b & ~mask));
#endif
}

static inline vi vi_select(vi mask, vi a, vi b)
{
#ifdef __AVX512F__
	return (vi)_mm512_mask_blend_epi32(_mm512_test_epi32_mask((__m512i)mask, (__m512i)mask),
					   (__m512i)b, (__m512i)a);
#else
	return (a & mask) | (b & ~mask);
#endif
}

/* a where a > b, else b: the semantics of MAXPS, its one instruction on AVX-512. */
static inline vf vf_max(vf a, vf b)
{
#ifdef __AVX512F__
	return (vf)_mm512_max_ps((__m512)a, (__m512)b);
#else
	return vf_select(a > b, a, b);
#endif
}

static inline vf vf_abs(vf a)
{
	return (vf)((vi)a & 0x7fffffff);
}

/*
 * Lanes i + w moved down to lane i (the upper lanes repeat: unused).
 * __builtin_shufflevector, with constant lanes, is in GCC 12 and clang
 * alike (clang has no __builtin_shuffle).
 */
static inline vf vf_down(vf v, int w)
{
	switch (w) {
	case 8:
		return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15,
					       8, 9, 10, 11, 12, 13, 14, 15);
	case 4:
		return __builtin_shufflevector(v, v, 4, 5, 6, 7, 4, 5, 6, 7,
					       4, 5, 6, 7, 4, 5, 6, 7);
	case 2:
		return __builtin_shufflevector(v, v, 2, 3, 2, 3, 2, 3, 2, 3,
					       2, 3, 2, 3, 2, 3, 2, 3);
	default:
		return __builtin_shufflevector(v, v, 1, 1, 1, 1, 1, 1, 1, 1,
					       1, 1, 1, 1, 1, 1, 1, 1);
	}
}

/*
 * Lanes g .. g+15 of the 32 lanes a, b (g 0 to 3): a vector g floats on
 * from where a was loaded, without a load that crosses a cache line.
 */
static inline vf vf_shift(vf a, vf b, int g)
{
	switch (g) {
	case 1:
		return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					       11, 12, 13, 14, 15, 16);
	case 2:
		return __builtin_shufflevector(a, b, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
					       12, 13, 14, 15, 16, 17);
	case 3:
		return __builtin_shufflevector(a, b, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
					       13, 14, 15, 16, 17, 18);
	default:
		return a;
	}
}

static inline float vf_hmax(vf v)
{
	for (int w = 8; w >= 1; w /= 2)
		v = vf_max(v, vf_down(v, w));
	return v[0];
}

/* Pairwise sum in a fixed order: lane i + lane i + w, for w = 8, 4, 2, 1. */
static inline float vf_hsum(vf v)
{
	for (int w = 8; w >= 1; w /= 2)
		v += vf_down(v, w);
	return v[0];
}

static inline long vi_hsum(vi v)
{
	long n = 0;

	for (int i = 0; i < 16; i++)
		n += v[i];
	return n;
}

/* Whether any lane of the mask is set. */
static inline int vi_any(vi m)
{
#ifdef __AVX512F__
	return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0;
#else
	int32_t any = 0;

	for (int i = 0; i < VF_LANES; i++)
		any |= m[i];
	return any != 0;
#endif
}

/* The least lane (AVX-512: a tree of shuffles and minimums, not sixteen scalar steps). */
static inline int vi_hmin(vi v)
{
#ifdef __AVX512F__
	return _mm512_reduce_min_epi32((__m512i)v);
#else
	int m = v[0];

	for (int i = 1; i < VF_LANES; i++)
		m = v[i] < m ? v[i] : m;
	return m;
#endif
}

static inline int vi_hmax(vi v)
{
#ifdef __AVX512F__
	return _mm512_reduce_max_epi32((__m512i)v);
#else
	int m = v[0];

	for (int i = 1; i < VF_LANES; i++)
		m = v[i] > m ? v[i] : m;
	return m;
#endif
}

/*
 * p 2^floor(n) where x >= lo, else 0 (NaN too); lo keeps the product in the
 * normal range, which is where it is exact. AVX-512: one scalef under the
 * comparison's mask; elsewhere 2^n is built in the exponent bits, so n
 * must be integral and within it.
 */
static inline vf vf_scale_from(vf p, vf n, vf x, float lo)
{
#ifdef __AVX512F__
	return (vf)_mm512_maskz_scalef_ps(_mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(lo),
							     _CMP_GE_OQ),
					  (__m512)p, (__m512)n);
#else
	vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
	vf scale;

	memcpy(&scale, &bits, sizeof(scale));
	return vf_select(x >= lo, p * scale, vf_set(0.0f));
#endif
}

/*
 * exp(x) for x <= 0 (softmax arguments), relative error < 2.5e-7; 0 below
 * -87. Range reduction x = n ln2 + r, |r| <= ln2 / 2, then a degree-6
 * polynomial for exp(r) times 2^n.
 */
static inline vf vf_exp(vf x)
{
	const vf log2e = vf_set(1.44269504088896341f);
	const vf ln2_hi = vf_set(0.693359375f), ln2_lo = vf_set(-2.12194440e-4f);
	const vf shifter = vf_set(12582912.0f);   /* 1.5 * 2^23: round to int */
	vf xc = vf_max(x, vf_set(-87.0f));
	vf n = vf_fma(xc, log2e, shifter) - shifter;
	vf r = vf_fnma(n, ln2_lo, vf_fnma(n, ln2_hi, xc));
	vf p = vf_set(1.0f / 720.0f);

	p = vf_fma(p, r, vf_set(1.0f / 120.0f));
	p = vf_fma(p, r, vf_set(1.0f / 24.0f));
	p = vf_fma(p, r, vf_set(1.0f / 6.0f));
	p = vf_fma(p, r, vf_set(0.5f));
	p = vf_fma(p, r, vf_set(1.0f));
	p = vf_fma(p, r, vf_set(1.0f));
	return vf_scale_from(p, n, x, -87.0f);
}

/*
 * 2^x for x <= 0, relative error < 2e-7; 0 below -125 and for NaN. The
 * softmax folds take their exps this way, the score's log2(e) and the max
 * folded into one FMA (attn_exp_take); it costs fewer instructions
 * than vf_exp. x = n + f, n = floor(x), 0 <= f < 1, and a degree-5
 * polynomial for 2^f (fitted for least relative error, exact at 0) times
 * 2^n. AVX-512 takes f in one VREDUCEPS and scales by 2^floor(x) itself.
 */
static inline vf vf_exp2(vf x)
{
#if defined(__AVX512F__) && defined(__AVX512DQ__)
	vf n = x;
	vf f = (vf)_mm512_reduce_ps((__m512)x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
#else
	vf xc = vf_max(x, vf_set(-126.0f));
	vi t = __builtin_convertvector(xc, vi);    /* towards zero */
	vf n = __builtin_convertvector(t + (__builtin_convertvector(t, vf) > xc), vf);
	vf f = xc - n;
#endif
	vf p = vf_set(1.86713156e-3f);

	p = vf_fma(p, f, vf_set(9.01702698e-3f));
	p = vf_fma(p, f, vf_set(5.57999164e-2f));
	p = vf_fma(p, f, vf_set(2.40164444e-1f));
	p = vf_fma(p, f, vf_set(6.93151295e-1f));
	p = vf_fma(p, f, vf_set(1.0f));
	return vf_scale_from(p, n, x, -125.0f);
}

#endif
