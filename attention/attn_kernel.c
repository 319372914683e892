#include "attention/attn_kernel.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention/attn_simd.h"

void attn_kterm(const float *k, const float *bias, int nk, int d, float scale,
		float *kterm)
{
	int j;

	for (j = 0; j < nk; j++) {
		const float *row = k + (size_t)j * d;
		float n2 = 0.0f;

		for (int c = 0; scale != 0.0f && c < d; c++)
			n2 += row[c] * row[c];
		kterm[j] = -scale * n2 + (bias ? bias[j] : 0.0f);
	}
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

/*
 * Final scores of row i in place (biases, window, prior); returns the row
 * max and counts the keys that are in i's window and not masked out.
 */
static float row_scores(const struct attn_tile *t, int i, float *s, long *useful)
{
	int npad = attn_pad(t->nk);
	vf neg = vf_set(ATTN_NEG), vmax = neg;
	float bias = t->tile_bias + (t->qbias ? t->qbias[i] : 0.0f);
	float cx = t->kx ? t->cx[i] : 0.0f, cy = t->kx ? t->cy[i] : 0.0f;
	vf rcx = vf_set(roundf(cx)), rcy = vf_set(roundf(cy));
	vf vcx = vf_set(cx), vcy = vf_set(cy);
	vf rad = vf_set(t->radius < 0 ? 1e30f : (float)t->radius);
	vf lam = vf_set(t->lambda);
	vi inside = { 0 };

	for (int j = 0; j < npad; j += ATTN_LANES) {
		vf kterm = vf_load(t->kterm + j);
		vf v = vf_load(s + j) + kterm + bias;
		vi in = kterm > 0.5f * ATTN_NEG;

		if (t->kx) {
			vf kx = vf_load(t->kx + j), ky = vf_load(t->ky + j);
			vf dx = kx - vcx, dy = ky - vcy;

			v -= lam * (dx * dx + dy * dy);
			in &= (vf_abs(kx - rcx) <= rad) & (vf_abs(ky - rcy) <= rad);
		}
		v = vf_select(in, v, neg);
		inside -= in;   /* a true lane is -1 */
		vf_store(s + j, v);
		vmax = vf_max(vmax, v);
	}
	*useful += vi_hsum(inside);
	return vf_hmax(vmax);
}

/* Moves row i's running state to a new max. */
static void rescale(struct attn_state *st, int i, float new_max)
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

/*
 * exp(s - max) of row i's n scores in place (n a multiple of the lanes);
 * adds into its sum and entropy sum.
 */
static void row_exp(struct attn_state *st, int i, float *s, int n)
{
	vf m = vf_set(st->max[i]);
	vf vsum = vf_set(0.0f), vent = vf_set(0.0f);

	for (int j = 0; j < n; j += ATTN_LANES) {
		vf x = vf_load(s + j) - m;
		vf e = vf_exp(x);

		vsum += e;
		vent += e * vf_select(x > vf_set(-80.0f), x, vf_set(0.0f));
		vf_store(s + j, e);
	}
	st->sum[i] += vf_hsum(vsum);
	st->ent[i] += vf_hsum(vent);
}

/* Adds the values (dv rows of stride) weighted by e into row i's accumulator. */
static void row_values(struct attn_state *st, int i, const float *e,
		       const float *values, int stride, int n)
{
	float *acc = st->acc + (size_t)i * st->dv;

	for (int c = 0; c < st->dv; c++) {
		const float *v = values + (size_t)c * stride;
		vf dot = vf_set(0.0f);

		for (int j = 0; j < n; j += ATTN_LANES)
			dot += vf_load(e + j) * vf_load(v + j);
		acc[c] += vf_hsum(dot);
	}
}

/* Bounds of query i's window inside the rectangle; empty: xa > xb. */
struct span {
	int xa, xb, ya, yb;
};

static struct span window_span(const struct attn_tile *t, int i)
{
	int rx = (int)roundf(t->cx[i]), ry = (int)roundf(t->cy[i]), r = t->radius;
	int x1 = t->rect_x0 + t->rect_w - 1, y1 = t->rect_y0 + t->rect_h - 1;

	return (struct span){
		.xa = rx - r > t->rect_x0 ? rx - r : t->rect_x0,
		.xb = rx + r < x1 ? rx + r : x1,
		.ya = ry - r > t->rect_y0 ? ry - r : t->rect_y0,
		.yb = ry + r < y1 ? ry + r : y1,
	};
}

/* Where a chunk of a window row writes: compact position n of s and cv. */
struct compact {
	float *s, *cv;
	int stride, n;
	vf max;
	vi useful;
};

/*
 * Up to ATTN_LANES keys of row y of query i's window, from x on, as one
 * vector: scores (ATTN_NEG for keys masked out) and values stored at the
 * compact position, which then moves past the len valid lanes (the next
 * store overwrites the rest).
 */
static void window_chunk(const struct attn_tile *t, int i, const float *q,
			 float bias, int x, int y, int len, struct compact *c)
{
	const vf lanes = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	int npad = attn_pad(t->nk);
	int j = (y - t->rect_y0) * t->rect_w + (x - t->rect_x0);
	vf dx = lanes + vf_set((float)x - t->cx[i]);
	float dy = (float)y - t->cy[i];
	vf kterm = vf_load(t->kterm + j), v = vf_set(0.0f);
	vi in = (kterm > 0.5f * ATTN_NEG) & (lanes < vf_set((float)len));

	for (int k = 0; t->scale != 0.0f && k < t->d; k++)
		v += q[k] * vf_load(t->kt + (size_t)k * t->kt_stride + j);
	v = vf_set(2.0f * t->scale) * v + kterm + bias;
	v -= vf_set(t->lambda) * (dx * dx + dy * dy);
	v = vf_select(in, v, vf_set(ATTN_NEG));
	c->useful -= in;        /* a true lane is -1 */
	c->max = vf_max(c->max, v);
	vf_store(c->s + c->n, v);
	for (int k = 0; k < t->dv; k++)
		vf_store(c->cv + (size_t)k * c->stride + c->n,
			 vf_load(t->vt + (size_t)k * npad + j));
	c->n += len;
}

/*
 * Row i's window, a vector per row chunk, compacted into s and cv (dv rows
 * of stride), padded to whole vectors. Returns the keys visited, *useful
 * those not masked out, *max the largest score.
 */
static int window_gather(const struct attn_tile *t, int i, struct span sp,
			 float *s, float *cv, int stride, long *useful, float *max)
{
	const float *q = t->q + (size_t)i * t->d;
	float bias = t->tile_bias + (t->qbias ? t->qbias[i] : 0.0f);
	struct compact c = { .s = s, .cv = cv, .stride = stride,
			     .max = vf_set(ATTN_NEG), .useful = { 0 } };

	for (int y = sp.ya; y <= sp.yb; y++)
		for (int x = sp.xa; x <= sp.xb; x += ATTN_LANES)
			window_chunk(t, i, q, bias, x, y,
				     sp.xb - x + 1 < ATTN_LANES ? sp.xb - x + 1 : ATTN_LANES,
				     &c);
	for (int k = c.n; k % ATTN_LANES; k++) {
		s[k] = ATTN_NEG;
		for (int v = 0; v < t->dv; v++)
			cv[(size_t)v * stride + k] = 0.0f;
	}
	*useful += vi_hsum(c.useful);
	*max = vf_hmax(c.max);
	return c.n;
}

/* Row i of a rectangle tile, visiting its window only; returns the keys seen. */
static long window_row(const struct attn_tile *t, struct attn_state *st, int i,
		       float *work)
{
	struct span sp = window_span(t, i);
	int stride = attn_direct_stride(t->radius);
	float *s = work, *cv = work + stride, row_max;
	long useful = 0;
	int n;

	if (sp.xa > sp.xb || sp.ya > sp.yb)
		return 0;
	n = window_gather(t, i, sp, s, cv, stride, &useful, &row_max);
	if (row_max <= 0.5f * ATTN_NEG)
		return useful;
	if (row_max > st->max[i])
		rescale(st, i, row_max);
	row_exp(st, i, s, attn_pad(n));
	row_values(st, i, s, cv, stride, attn_pad(n));
	return useful;
}

static int runs_direct(const struct attn_tile *t)
{
	return t->kt && t->work && attn_direct_fits(t->radius, t->rect_w, t->rect_h);
}

long attn_tile_update(const struct attn_tile *t, float *scores,
		      struct attn_state *st, long *computed)
{
	int npad = attn_pad(t->nk);
	long useful = 0;

	if (t->nq <= 0 || t->nk <= 0) {
		if (computed)
			*computed = 0;
		return 0;
	}
	if (runs_direct(t)) {
		for (int i = 0; i < t->nq; i++)
			useful += window_row(t, st, i, t->work);
		if (computed)
			*computed = useful;
		return useful;
	}
	if (t->scale != 0.0f)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t->nq, npad,
			    t->d, 2.0f * t->scale, t->q, t->d, t->k, t->d, 0.0f,
			    scores, npad);
	else
		memset(scores, 0, sizeof(float) * t->nq * npad);
	for (int i = 0; i < t->nq; i++) {
		float *s = scores + (size_t)i * npad;
		float row_max = row_scores(t, i, s, &useful);

		if (row_max <= 0.5f * ATTN_NEG) {
			/* no key of this tile is in i's window: it adds nothing */
			memset(s, 0, sizeof(float) * npad);
			continue;
		}
		if (row_max > st->max[i])
			rescale(st, i, row_max);
		row_exp(st, i, s, npad);
	}
	/* every row is rescaled to its new max: the weighted values in one GEMM */
	if (st->dv)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t->nq, st->dv,
			    npad, 1.0f, scores, npad, t->vt, npad, 1.0f, st->acc,
			    st->dv);
	if (computed)
		*computed = (long)t->nq * npad;
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
