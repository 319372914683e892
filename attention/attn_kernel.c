#include "attention/attn_kernel.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention/attn_lanes.h"
#include "attention/attn_simd.h"

/* Feature counts whose q.k dense tiles take in the lanes: 3x3 patches of one plane, of three */
#define FUSED_D_ONE 9
#define FUSED_D_MAX 27          /* also the most features a group holds in registers */

void attn_kterm(const float *k, int key_stride, int feat_stride, const float *bias,
		int nk, int d, float scale, float *kterm)
{
	int j;

	for (j = 0; j < nk; j++)
		kterm[j] = 0.0f;
	for (int c = 0; scale != 0.0f && c < d; c++)
		for (j = 0; j < nk; j++) {
			float v = k[(size_t)j * key_stride + (size_t)c * feat_stride];

			kterm[j] += v * v;
		}
	for (j = 0; j < nk; j++)
		kterm[j] = -scale * kterm[j] + (bias ? bias[j] : 0.0f);
	for (; j < attn_pad(nk); j++)
		kterm[j] = ATTN_NEG;
}

void attn_state_reset(struct attn_state *st)
{
	for (int i = 0; i < st->nq; i++) {
		st->max[i] = ATTN_NEG;
		st->sum[i] = 0.0f;
		st->ent[i] = 0.0f;
	}
	memset(st->acc, 0, sizeof(float) * st->nq * st->dv);
}

void attn_state_rescale(struct attn_state *st, int i, float new_max)
{
	float shift = st->max[i] - new_max;
	float f = expf(shift);
	float *acc = st->acc + (size_t)i * st->dv;

	st->ent[i] = f * (st->ent[i] + shift * st->sum[i]);
	st->sum[i] *= f;
	for (int c = 0; c < st->dv; c++)
		acc[c] *= f;
	st->max[i] = new_max;
}

/* attn_state_fold for dv values, inlined for the usual dv so that its sums stay in registers. */
static inline __attribute__((always_inline)) void
state_fold_dv(struct attn_state *st, int i, const float *s, const float *values,
	      size_t stride, int n, int dv)
{
	vf m = vf_set(st->max[i]), vsum = vf_set(0.0f), vent = vf_set(0.0f);
	vf vacc[ATTN_VAL_MAX];
	float *acc = st->acc + (size_t)i * dv;

	for (int c = 0; c < dv; c++)
		vacc[c] = vf_set(0.0f);
	for (int j = 0; j < n; j += ATTN_LANES) {
		vf x = vf_load(s + j) - m;
		vf e = vf_exp(x);

		vsum += e;
		vent = vf_fma(e, vf_select(x > vf_set(-80.0f), x, vf_set(0.0f)), vent);
		for (int c = 0; c < dv; c++)
			vacc[c] = vf_fma(e, vf_load(values + c * stride + j), vacc[c]);
	}
	st->sum[i] += vf_hsum(vsum);
	st->ent[i] += vf_hsum(vent);
	for (int c = 0; c < dv; c++)
		acc[c] += vf_hsum(vacc[c]);
}

void attn_state_fold(struct attn_state *st, int i, const float *s,
		     const float *values, size_t stride, int n)
{
	switch (st->dv) {
	case 3:
		state_fold_dv(st, i, s, values, stride, n, 3);
		break;
	case 6:
		state_fold_dv(st, i, s, values, stride, n, 6);
		break;
	case 9:
		state_fold_dv(st, i, s, values, stride, n, 9);
		break;
	default:
		state_fold_dv(st, i, s, values, stride, n, st->dv);
		break;
	}
}

/*
 * A tile's scores are kept key-major, a key's row holding every query's
 * score, so that a vector is ATTN_LANES queries' scores for one key: each
 * query is a lane of its own (attn_lanes) and the key's term, position and
 * values are scalars broadcast to all of them.
 */
struct group {
	int lane[ATTN_LANES];   /* query index, -1: none */
	vf bias;                /* tile bias and the query's own */
	vf cx, cy, rcx, rcy;    /* prior centres, and rounded, window centres */
	vf q[FUSED_D_MAX];      /* with fused dots: feature c of each lane's query */
};

/*
 * Whether the lanes take q.k themselves, the group's features held in
 * registers and the key's broadcast (FMA, one rounding each): for dense
 * key sets with the usual feature counts (sgemm's packing and its zeroing
 * of the tile cost more than its blocking saves at d = 27). Other tiles,
 * windows among them (kept as the blocked GEMM that attn_rows is measured
 * against), run as one sgemm each.
 */
static int fused_dots(const struct attn_tile *t)
{
	return t->scale != 0.0f && t->radius < 0 &&
	       (t->d == FUSED_D_ONE || t->d == FUSED_D_MAX);
}

static void group_make(const struct attn_tile *t, int i0, struct group *g)
{
	int n = t->nq - i0 < ATTN_LANES ? t->nq - i0 : ATTN_LANES;

	for (int l = 0; l < ATTN_LANES; l++)
		g->lane[l] = l < n ? i0 + l : -1;
	if (fused_dots(t))
		for (int c = 0; c < t->d; c++)
			for (int l = 0; l < ATTN_LANES; l++)
				g->q[c][l] = l < n ? t->q[(size_t)(i0 + l) * t->d + c] : 0.0f;
	g->bias = vf_set(t->tile_bias);
	if (t->qbias)
		g->bias += vf_load_part(t->qbias + i0, n);
	g->cx = g->cy = g->rcx = g->rcy = vf_set(0.0f);
	if (t->kx) {
		g->cx = vf_load_part(t->cx + i0, n);
		g->cy = vf_load_part(t->cy + i0, n);
		g->rcx = __builtin_convertvector(vf_round(g->cx), vf);
		g->rcy = __builtin_convertvector(vf_round(g->cy), vf);
	}
}

/* 2 scale q.k of the group's lanes and key j, over d features (a multiple of 3). */
static inline __attribute__((always_inline)) vf
group_dot(const struct attn_tile *t, const struct group *g, int j, int d)
{
	const float *k = t->k + (size_t)j * d;
	/* three chains, a third of the features each, for the FMA latency */
	vf a0 = g->q[0] * k[0], a1 = g->q[1] * k[1], a2 = g->q[2] * k[2];

	for (int c = 3; c < d; c += 3) {
		a0 = vf_fma(g->q[c], vf_set(k[c]), a0);
		a1 = vf_fma(g->q[c + 1], vf_set(k[c + 1]), a1);
		a2 = vf_fma(g->q[c + 2], vf_set(k[c + 2]), a2);
	}
	return ((a0 + a1) + a2) * (2.0f * t->scale);
}

/*
 * Final scores of the group's lanes (biases, window, prior) down column s
 * of the tile (ld floats a key), from its q.k there or, with d > 0, from
 * the lanes' own dots; returns each lane's max and counts the keys in its
 * window and not masked out.
 */
static inline __attribute__((always_inline)) vf
group_scores(const struct attn_tile *t, const struct group *g, float *s, int ld,
	     vi *useful, int positions, int d)
{
	vf neg = vf_set(ATTN_NEG), vmax = neg;
	vf rad = vf_set(t->radius < 0 ? 1e30f : (float)t->radius);
	vf lam = vf_set(t->lambda);

	for (int j = 0; j < t->nk; j++, s += ld) {
		float kterm = t->kterm[j];
		vf v = (d ? group_dot(t, g, j, d) : vf_load(s)) + kterm + g->bias;
		vi in = (vi){ 0 } - (kterm > 0.5f * ATTN_NEG);

		if (positions) {
			vf kx = vf_set(t->kx[j]), ky = vf_set(t->ky[j]);
			vf dx = kx - g->cx, dy = ky - g->cy;

			v -= lam * (dx * dx + dy * dy);
			in &= (vf_abs(kx - g->rcx) <= rad) & (vf_abs(ky - g->rcy) <= rad);
		}
		v = vf_select(in, v, neg);
		*useful -= in;  /* a true lane is -1 */
		vf_store(s, v);
		vmax = vf_max(vmax, v);
	}
	return vmax;
}

/*
 * exp(s - base) of the group's final scores into its lanes' sums and
 * accumulators. A key left out scores ATTN_NEG, whose exp is 0 (as is
 * its entropy term, 0 times a finite score); so is every score of a lane
 * that takes nothing from the tile (attn_lanes_base).
 */
static inline __attribute__((always_inline)) void
group_fold(const struct attn_tile *t, const float *s, int ld, vf base,
	   struct attn_lanes *ls, int dv)
{
	int npad = attn_pad(t->nk);

	for (int j = 0; j < t->nk; j++, s += ld) {
		vf x = vf_load(s) - base;
		vf e = vf_exp(x);

		ls->sum += e;
		ls->ent = vf_fma(e, x, ls->ent);
		for (int c = 0; c < dv; c++)
			ls->acc[c] = vf_fma(e, vf_set(t->vt[(size_t)c * npad + j]), ls->acc[c]);
	}
}

/* group_scores for the tile's kind: positions or not, dots fused or not. */
static vf group_pass(const struct attn_tile *t, const struct group *g, float *s, int ld,
		     vi *useful)
{
	int d = fused_dots(t) ? t->d : 0;

	if (t->kx)
		return d == FUSED_D_ONE ? group_scores(t, g, s, ld, useful, 1, FUSED_D_ONE) :
		       d ? group_scores(t, g, s, ld, useful, 1, FUSED_D_MAX) :
			   group_scores(t, g, s, ld, useful, 1, 0);
	return d == FUSED_D_ONE ? group_scores(t, g, s, ld, useful, 0, FUSED_D_ONE) :
	       d ? group_scores(t, g, s, ld, useful, 0, FUSED_D_MAX) :
		   group_scores(t, g, s, ld, useful, 0, 0);
}

/* The group's final scores, whose max per lane is max, into its lanes' state. */
static inline __attribute__((always_inline)) void
group_fold_dv(const struct attn_tile *t, const struct group *g, const float *s, int ld,
	      vf max, struct attn_state *st, int dv)
{
	struct attn_lanes ls;
	/* a lane none of whose keys is in its window takes nothing from the tile */
	vi seen = max > 0.5f * ATTN_NEG;

	attn_lanes_load(st, g->lane, &ls, dv);
	attn_lanes_rescale(&ls, vf_select(seen, max, vf_set(ATTN_NEG)), dv);
	group_fold(t, s, ld, attn_lanes_base(&ls), &ls, dv);
	attn_lanes_store(st, g->lane, &ls, dv);
}

/* The group of queries from i0 against the tile; its useful scores. */
static long group_run(const struct attn_tile *t, float *s, int ld, struct attn_state *st,
		      int i0)
{
	struct group g;
	vi useful = { 0 };
	vf max;

	group_make(t, i0, &g);
	max = group_pass(t, &g, s, ld, &useful);
	switch (st->dv) {
	case 3:
		group_fold_dv(t, &g, s, ld, max, st, 3);
		break;
	case 6:
		group_fold_dv(t, &g, s, ld, max, st, 6);
		break;
	case 9:
		group_fold_dv(t, &g, s, ld, max, st, 9);
		break;
	default:
		group_fold_dv(t, &g, s, ld, max, st, st->dv);
		break;
	}
	for (int l = 0; l < ATTN_LANES; l++)
		useful[l] = g.lane[l] < 0 ? 0 : useful[l];
	return vi_hsum(useful);
}

long attn_tile_update(const struct attn_tile *t, float *scores,
		      struct attn_state *st, long *computed)
{
	/* a key's row is not a power of two long: rows 1 KB apart would fall in few cache sets */
	int lanes = attn_pad(t->nq), ld = lanes + ATTN_LANES;
	long useful = 0;

	if (computed)
		*computed = t->nq > 0 && t->nk > 0 ? (long)t->nq * t->nk : 0;
	if (t->nq <= 0 || t->nk <= 0)
		return 0;
	if (t->scale != 0.0f && !fused_dots(t)) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t->nk, t->nq,
			    t->d, 2.0f * t->scale, t->k, t->d, t->q, t->d, 0.0f,
			    scores, ld);
		/* the lanes past the last query: defined, though nothing keeps them */
		for (int j = 0; lanes > t->nq && j < t->nk; j++)
			memset(scores + (size_t)j * ld + t->nq, 0,
			       sizeof(float) * (lanes - t->nq));
	} else if (t->scale == 0.0f) {
		memset(scores, 0, sizeof(float) * t->nk * ld);
	}
	for (int i0 = 0; i0 < t->nq; i0 += ATTN_LANES)
		useful += group_run(t, scores + i0, ld, st, i0);
	return useful;
}

void attn_state_finish(const struct attn_state *st, float *out, float *entropy)
{
	for (int i = 0; i < st->nq; i++) {
		float sum = st->sum[i];
		const float *acc = st->acc + (size_t)i * st->dv;
		float inv = sum > 0.0f ? 1.0f / sum : 0.0f;

		for (int c = 0; c < st->dv; c++)
			out[(size_t)i * st->dv + c] = acc[c] * inv;
		if (entropy)
			entropy[i] = sum > 0.0f ? logf(sum) - st->ent[i] * inv : 0.0f;
	}
}
