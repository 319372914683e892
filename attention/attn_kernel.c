#include "attention/attn_kernel.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention/attn_simd.h"

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
		vent += e * vf_select(x > vf_set(-80.0f), x, vf_set(0.0f));
		for (int c = 0; c < dv; c++)
			vacc[c] += e * vf_load(values + c * stride + j);
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
			attn_state_rescale(st, i, row_max);
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
