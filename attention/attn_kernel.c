#include "attention/attn_kernel.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention/attn_lanes.h"
#include "attention/attn_simd.h"

/* Dense tiles of up to this many features take q.k in dots_run, not sgemm */
#define DOTS_D_MAX 27
#define DOTS_KEYS 8             /* keys a dot block holds in registers (divides ATTN_LANES) */
#define DOTS_VECS 2             /* vectors of queries it holds */
#define DOTS_LANES (DOTS_VECS * ATTN_LANES)

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
	vf off = vf_set(-st->max[i] * ATTN_LOG2E), vsum = vf_set(0.0f), vent = vf_set(0.0f);
	vf vacc[ATTN_VAL_MAX];
	float *acc = st->acc + (size_t)i * dv;

	for (int c = 0; c < dv; c++)
		vacc[c] = vf_set(0.0f);
	for (int j = 0; j < n; j += ATTN_LANES) {
		vf e = attn_exp_take(vf_load(s + j), off, &vsum, &vent);

		for (int c = 0; c < dv; c++)
			vacc[c] = vf_fma(e, vf_load(values + c * stride + j), vacc[c]);
	}
	st->sum[i] += vf_hsum(vsum);
	st->ent[i] += ATTN_LN2 * vf_hsum(vent);
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
};

/*
 * Whether q.k comes from dots_run: for dense key sets of up to DOTS_D_MAX
 * features (sgemm's packing and its zeroing of the tile cost more than its
 * blocking saves there). Other tiles, windows among them (kept as the
 * blocked GEMM that attn_rows is measured against), run as one sgemm each.
 */
static int own_dots(const struct attn_tile *t)
{
	return t->scale != 0.0f && t->radius < 0 && t->d <= DOTS_D_MAX;
}

/*
 * Lanes [i0, i0 + DOTS_LANES) of the queries feature-major (feature c at
 * qt[c * DOTS_LANES]), times 2 scale; zero past the last query.
 */
static void dots_pack(const struct attn_tile *t, int i0, float *qt)
{
	const float *q = t->q + (size_t)i0 * t->d;
	vf s2 = vf_set(2.0f * t->scale);

	for (int v = 0; v < DOTS_VECS; v++) {
		vf lane = vf_lane_index() + (float)(v * ATTN_LANES);
		vi in = lane < (float)(t->nq - i0);
		/* a lane past the last query reads the first, then takes 0 */
		vi row = vi_select(in, __builtin_convertvector(lane, vi) * t->d, (vi){ 0 });

		for (int c = 0; c < t->d; c++)
			vf_store(qt + c * DOTS_LANES + v * ATTN_LANES,
				 vf_select(in, s2 * vf_gather(q + c, row), vf_set(0.0f)));
	}
}

/*
 * 2 scale q.k of keys [j, j + DOTS_KEYS) and nvec vectors of packed lanes
 * into their rows of s (ld floats a key; none past the last key), plus the
 * keys' terms and into each vector's running max with max (NULL: q.k
 * alone). Every product of the block is in registers, so that a feature
 * costs a load per vector and a broadcast per key for DOTS_KEYS * nvec
 * FMAs. Keys past the last are the tile's zero padding, their terms
 * ATTN_NEG.
 */
static inline __attribute__((always_inline)) void
dots_block(const struct attn_tile *t, const float *qt, int j, int nvec, float *s, int ld,
	   vf *max)
{
	const float *k = t->k + (size_t)j * t->d;
	vf acc[DOTS_KEYS][DOTS_VECS];

	for (int a = 0; a < DOTS_KEYS; a++)
		for (int v = 0; v < nvec; v++)
			acc[a][v] = vf_set(max ? t->kterm[j + a] : 0.0f);
	for (int c = 0; c < t->d; c++)
		for (int v = 0; v < nvec; v++) {
			vf q = vf_load(qt + c * DOTS_LANES + v * ATTN_LANES);

			for (int a = 0; a < DOTS_KEYS; a++)
				acc[a][v] = vf_fma(q, vf_set(k[(size_t)a * t->d + c]), acc[a][v]);
		}
	for (int a = 0; a < DOTS_KEYS && j + a < t->nk; a++)
		for (int v = 0; v < nvec; v++) {
			if (max)
				max[v] = vf_max(max[v], acc[a][v]);
			vf_store(s + (size_t)(j + a) * ld + v * ATTN_LANES, acc[a][v]);
		}
}

/* dots_block over every key of the tile and its padding. */
static inline __attribute__((always_inline)) void
dots_keys(const struct attn_tile *t, const float *qt, int nvec, float *s, int ld,
	  vf *max)
{
	for (int j = 0; j < t->nk; j += DOTS_KEYS)
		dots_block(t, qt, j, nvec, s, ld, max);
}

/*
 * q.k, 2 scale times, of lanes [i0, i0 + DOTS_LANES) (every one of
 * attn_pad(nq)) into s, their columns of a tile of ld floats a key; with
 * max (not NULL), plus the keys' terms, and their running max.
 */
static inline __attribute__((always_inline)) void
dots_run(const struct attn_tile *t, int i0, float *s, int ld, vf *max)
{
	float qt[DOTS_D_MAX * DOTS_LANES];

	dots_pack(t, i0, qt);
	if (t->nq - i0 > ATTN_LANES)
		dots_keys(t, qt, DOTS_VECS, s, ld, max);
	else
		dots_keys(t, qt, 1, s, ld, max);
}

static void group_make(const struct attn_tile *t, int i0, struct group *g)
{
	int n = t->nq - i0 < ATTN_LANES ? t->nq - i0 : ATTN_LANES;

	for (int l = 0; l < ATTN_LANES; l++)
		g->lane[l] = l < n ? i0 + l : -1;
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

/*
 * Final scores of the group's lanes (biases, window, prior) down column s
 * of the tile (ld floats a key), from its q.k there; returns each lane's
 * max and counts the keys in its window and not masked out.
 */
static inline __attribute__((always_inline)) vf
group_scores(const struct attn_tile *t, const struct group *g, float *s, int ld,
	     vi *useful, int positions)
{
	vf neg = vf_set(ATTN_NEG), vmax = neg;
	vf rad = vf_set(t->radius < 0 ? 1e30f : (float)t->radius);
	vf lam = vf_set(t->lambda);

	for (int j = 0; j < t->nk; j++, s += ld) {
		float kterm = t->kterm[j];
		vf v = vf_load(s) + kterm + g->bias;
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
 * exp of the group's scores, their exponents from off (attn_lanes_offset),
 * into its lanes' sums and accumulators. A key left out scores ATTN_NEG,
 * whose exp is 0 (as is its entropy term, 0 times a finite score); so is
 * every score of a lane that takes nothing from the tile (attn_lanes_base).
 */
static inline __attribute__((always_inline)) void
group_fold(const struct attn_tile *t, const float *s, int ld, vf off,
	   struct attn_lanes *ls, int dv)
{
	vf ent2 = vf_set(0.0f);

	/* two keys an iteration: the scheduler sees the next exp's chain sooner (2% faster) */
#pragma GCC unroll 2
	for (int j = 0; j < t->nk; j++, s += ld) {
		vf e = attn_exp_take(vf_load(s), off, &ls->sum, &ent2);

		for (int c = 0; c < dv; c++)
			ls->acc[c] = vf_fma(e, vf_set(t->vt[(size_t)j * dv + c]), ls->acc[c]);
	}
	attn_lanes_add_entropy(ls, ent2);
}

/* group_scores for the tile's kind: positions or not. */
static vf group_pass(const struct attn_tile *t, const struct group *g, float *s, int ld,
		     vi *useful)
{
	return t->kx ? group_scores(t, g, s, ld, useful, 1) :
		       group_scores(t, g, s, ld, useful, 0);
}

/*
 * The group's scores, whose max per lane is max, into its lanes' state;
 * bias is what the scores lack (zero: their final values).
 */
static inline __attribute__((always_inline)) void
group_fold_dv(const struct attn_tile *t, const struct group *g, const float *s, int ld,
	      vf max, vf bias, struct attn_state *st, int dv)
{
	struct attn_lanes ls;
	vf top = max + bias;
	/* a lane none of whose keys is in its window takes nothing from the tile */
	vi seen = top > 0.5f * ATTN_NEG;

	attn_lanes_load(st, g->lane, &ls, dv);
	attn_lanes_rescale(&ls, vf_select(seen, top, vf_set(ATTN_NEG)), dv);
	group_fold(t, s, ld, attn_lanes_offset(&ls, bias), &ls, dv);
	attn_lanes_store(st, g->lane, &ls, dv);
}

/* group_fold_dv for the state's dv. */
static void group_fold_any(const struct attn_tile *t, const struct group *g, const float *s,
			   int ld, vf max, vf bias, struct attn_state *st)
{
	switch (st->dv) {
	case 3:
		group_fold_dv(t, g, s, ld, max, bias, st, 3);
		break;
	case 6:
		group_fold_dv(t, g, s, ld, max, bias, st, 6);
		break;
	case 9:
		group_fold_dv(t, g, s, ld, max, bias, st, 9);
		break;
	default:
		group_fold_dv(t, g, s, ld, max, bias, st, st->dv);
		break;
	}
}

/* The group of queries from i0 against the tile's q.k in s; its useful scores. */
static long group_run(const struct attn_tile *t, float *s, int ld, struct attn_state *st,
		      int i0)
{
	struct group g;
	vi useful = { 0 };
	vf max;

	group_make(t, i0, &g);
	max = group_pass(t, &g, s, ld, &useful);
	group_fold_any(t, &g, s, ld, max, vf_set(0.0f), st);
	for (int l = 0; l < ATTN_LANES; l++)
		useful[l] = g.lane[l] < 0 ? 0 : useful[l];
	return vi_hsum(useful);
}

/*
 * A tile without positions whose dots are its own: the scores of
 * DOTS_LANES lanes at a time straight from dots_run, short of the lanes'
 * biases alone, which the fold adds to its exponents; every query takes
 * each key not masked out.
 */
static long tile_final(const struct attn_tile *t, float *scores, struct attn_state *st)
{
	struct group g[DOTS_VECS];
	long keys = 0;

	for (int j = 0; j < t->nk; j++)
		keys += t->kterm[j] > 0.5f * ATTN_NEG;
	for (int i0 = 0; i0 < t->nq; i0 += DOTS_LANES) {
		vf max[DOTS_VECS];
		int nvec = t->nq - i0 > ATTN_LANES ? DOTS_VECS : 1;

		for (int v = 0; v < nvec; v++) {
			group_make(t, i0 + v * ATTN_LANES, &g[v]);
			max[v] = vf_set(ATTN_NEG);
		}
		dots_run(t, i0, scores, DOTS_LANES, max);
		for (int v = 0; v < nvec; v++)
			group_fold_any(t, &g[v], scores + v * ATTN_LANES, DOTS_LANES, max[v],
				       g[v].bias, st);
	}
	return keys * t->nq;
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
	if (own_dots(t) && !t->kx)
		return tile_final(t, scores, st);
	if (own_dots(t)) {
		for (int i0 = 0; i0 < t->nq; i0 += DOTS_LANES)
			dots_run(t, i0, scores + i0, ld, NULL);
	} else if (t->scale != 0.0f) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t->nk, t->nq,
			    t->d, 2.0f * t->scale, t->k, t->d, t->q, t->d, 0.0f,
			    scores, ld);
		/* the lanes past the last query: defined, though nothing keeps them */
		for (int j = 0; lanes > t->nq && j < t->nk; j++)
			memset(scores + (size_t)j * ld + t->nq, 0,
			       sizeof(float) * (lanes - t->nq));
	} else {
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
