/*
 * attn_kernel: one tile of masked cross-attention.
 *
 * For a block of queries and a tile of keys, scores are
 *     s_ij = scale * (2 q_i.k_j - |k_j|^2) + bias_j + qbias_i + tile_bias
 *            - lambda * |pos_j - c_i|^2            (positional prior)
 * and keys outside query i's window (|pos_j - round(c_i)| > radius on
 * either axis) are left out. ATTN_LANES queries at a time (a lane each),
 * one pass over a key-major score tile takes q.k (from a register-blocked
 * kernel of its own for dense tiles of up to 27 features, which also adds
 * the keys' terms; from one OpenBLAS sgemm per tile otherwise), scaling,
 * biases, window and prior, and
 * the online softmax (running max, sum, entropy sum and value accumulator,
 * FlashAttention style; its exps in base 2, the log2(e) and the max in the
 * one FMA that takes the exponent) with the values a second, the key's
 * values being scalars all lanes share. A scale of 0 leaves appearance out (no GEMM; the
 * features are not read). Tiles may come in any number; the state carries the
 * softmax across them, so several key sets share one joint softmax.
 *
 * Windows over a rectangle of pixels run faster in attn_rows, a query per
 * lane; tiles here serve dense key sets (and windows, for comparison).
 */
#ifndef ATTN_KERNEL_H
#define ATTN_KERNEL_H

#include <stddef.h>

/* Keys and values are padded to a multiple of this many. */
#define ATTN_LANES 16

/* Values per key, at most. */
#define ATTN_VAL_MAX 16

/* Score of a key that is left out (finite, so arithmetic stays defined). */
#define ATTN_NEG (-1e30f)

/* Online-softmax state of a block of queries; all arrays borrowed. */
struct attn_state {
	int nq;
	int dv;
	float *max;             /* nq: running max score */
	float *sum;             /* nq: sum of exp(s - max) */
	float *ent;             /* nq: sum of exp(s - max) * (s - max) */
	float *acc;             /* nq * dv: sum of exp(s - max) * v */
};

struct attn_tile {
	const float *q;         /* nq x d query features, row-major */
	const float *k;         /* nk_pad x d key features (padding rows zero) */
	const float *kterm;     /* nk_pad: -scale |k|^2 + bias_j, ATTN_NEG for padding */
	const float *vt;        /* nk_pad x dv values, key-major (padding zero) */
	const float *kx, *ky;   /* nk_pad key positions; NULL: no window, no prior */
	const float *cx, *cy;   /* nq window centres / prior centres */
	int nq, nk, d;          /* nk real keys, nk_pad = ATTN_PAD(nk) */
	const float *qbias;     /* nq per-query score bias, or NULL */
	float scale;
	float tile_bias;
	int radius;             /* < 0: no window */
	float lambda;           /* 0: no prior */
};

static inline int attn_pad(int n)
{
	return (n + ATTN_LANES - 1) / ATTN_LANES * ATTN_LANES;
}

/*
 * Fills kterm from |k|^2 and an optional bias (NULL: none); pads. Feature c
 * of key j is k[j * key_stride + c * feat_stride] (row-major keys: d and 1;
 * feature-major: 1 and the row length).
 */
void attn_kterm(const float *k, int key_stride, int feat_stride, const float *bias,
		int nk, int d, float scale, float *kterm);

/* max = ATTN_NEG, sums and accumulator zero. */
void attn_state_reset(struct attn_state *st);

/*
 * Folds one tile into st. scores is scratch of nk * (attn_pad(nq) + ATTN_LANES)
 * floats.
 * Returns how many scores fell inside the windows (the useful ones);
 * *computed (may be NULL) gets how many were computed (nq * nk).
 */
long attn_tile_update(const struct attn_tile *tile, float *scores,
		      struct attn_state *st, long *computed);

/* Moves query i's running state to a higher max. */
void attn_state_rescale(struct attn_state *st, int i, float new_max);

/*
 * exp(s - max) of query i's n scores (n a multiple of ATTN_LANES; scores of
 * keys left out must be ATTN_NEG or far below the max) added into its sum
 * and entropy sum, and the values weighted by them (value c of key j at
 * values[c * stride + j]) into its accumulator.
 */
void attn_state_fold(struct attn_state *st, int i, const float *s,
		     const float *values, size_t stride, int n);

/*
 * out (nq * dv): the attention output, zero where no key was seen.
 * entropy (nq, may be NULL): -sum p log p per query.
 */
void attn_state_finish(const struct attn_state *st, float *out, float *entropy);

#endif
