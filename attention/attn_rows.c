#include "attention/attn_rows.h"

#include <math.h>

#include "attention/attn_simd.h"

/* Key vectors of one window row whose dot products are taken together. */
#define ROWS_GROUP 4

static const vf lane_index = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/*
 * The queries of one vector: lane l is pixel (x + l, y) when it is a query
 * (lane[l] its index), all with their window centres rounded to
 * (x + l + ox, y + oy).
 */
struct segment {
	int lane[ATTN_LANES];   /* query index, -1: no query */
	vi active;
	int x, y, ox, oy;
	vf cx, cy, bias;
};

/* The online softmax of a segment's queries, a lane each. */
struct lane_state {
	vf max, sum, ent;
	vf acc[ATTN_VAL_MAX];
};

static int offset_x(const struct attn_rows *r, int i)
{
	return (int)roundf(r->cx[i]) - r->qx[i];
}

static int offset_y(const struct attn_rows *r, int i)
{
	return (int)roundf(r->cy[i]) - r->qy[i];
}

/*
 * The segment starting at query i: the queries after it on its row, less
 * than ATTN_LANES pixels to its right, with its window offset. Returns the
 * index of the first query left for the next segment.
 */
static int segment_build(const struct attn_rows *r, int i, struct segment *sg)
{
	int n;

	sg->x = r->qx[i];
	sg->y = r->qy[i];
	sg->ox = offset_x(r, i);
	sg->oy = offset_y(r, i);
	sg->active = (vi){ 0 };
	sg->cx = sg->cy = sg->bias = vf_set(0.0f);
	for (int l = 0; l < ATTN_LANES; l++)
		sg->lane[l] = -1;
	for (n = i; n < r->nq; n++) {
		int l = r->qx[n] - sg->x;

		if (r->qy[n] != sg->y || l < 0 || l >= ATTN_LANES || sg->lane[l] >= 0 ||
		    offset_x(r, n) != sg->ox || offset_y(r, n) != sg->oy)
			break;
		sg->lane[l] = n;
		sg->active[l] = -1;
		sg->cx[l] = r->cx[n];
		sg->cy[l] = r->cy[n];
		sg->bias[l] = r->tile_bias + (r->qbias ? r->qbias[n] : 0.0f);
	}
	return n;
}

static void state_load(const struct attn_state *st, const struct segment *sg,
		       struct lane_state *ls)
{
	ls->max = vf_set(ATTN_NEG);
	ls->sum = ls->ent = vf_set(0.0f);
	for (int c = 0; c < st->dv; c++)
		ls->acc[c] = vf_set(0.0f);
	for (int l = 0; l < ATTN_LANES; l++) {
		int i = sg->lane[l];

		if (i < 0)
			continue;
		ls->max[l] = st->max[i];
		ls->sum[l] = st->sum[i];
		ls->ent[l] = st->ent[i];
		for (int c = 0; c < st->dv; c++)
			ls->acc[c][l] = st->acc[(size_t)i * st->dv + c];
	}
}

static void state_store(struct attn_state *st, const struct segment *sg,
			const struct lane_state *ls)
{
	for (int l = 0; l < ATTN_LANES; l++) {
		int i = sg->lane[l];

		if (i < 0)
			continue;
		st->max[i] = ls->max[l];
		st->sum[i] = ls->sum[l];
		st->ent[i] = ls->ent[l];
		for (int c = 0; c < st->dv; c++)
			st->acc[(size_t)i * st->dv + c] = ls->acc[c][l];
	}
}

/* Scores of one chunk, where they are kept until folded. */
struct chunk {
	float *s;               /* ATTN_LANES per vector */
	int *key;               /* where each vector's lane 0 has its values in vt */
	int n;
	vf max;
	vi useful;
};

/*
 * The score vector of window keys kx.. (lane 0's) on row ky from their dot
 * products, kept in the chunk; yy, rel: their row and column in the
 * rectangle.
 */
static void score_keep(const struct attn_rows *r, const struct attn_rect *rc,
		       const struct segment *sg, vf dot, int kx, int ky, int yy,
		       int rel, struct chunk *ch)
{
	vf pos = lane_index + (float)kx;
	vf kterm = vf_load(rc->kterm + (size_t)yy * rc->pitch + rel);
	vf dx = pos - sg->cx, dy = vf_set((float)ky) - sg->cy;
	vi in = sg->active & (pos >= vf_set((float)rc->x0)) &
		(pos <= vf_set((float)(rc->x0 + rc->w - 1))) & (kterm > 0.5f * ATTN_NEG);
	vf s = vf_set(2.0f * r->scale) * dot + kterm + sg->bias -
	       vf_set(r->lambda) * (dx * dx + dy * dy);

	s = vf_select(in, s, vf_set(ATTN_NEG));
	ch->useful -= in;       /* a true lane is -1 */
	ch->max = vf_max(ch->max, s);
	vf_store(ch->s + (size_t)ch->n * ATTN_LANES, s);
	ch->key[ch->n++] = yy * r->dv * rc->pitch + rel;
}

/*
 * The dot products of the segment's queries (q, features pitch apart) with
 * ROWS_GROUP neighbouring key vectors from k (features pitch apart): one
 * query load and two key loads serve all of them, and their sums are
 * independent chains.
 */
static void group_dots(const struct attn_rows *r, const struct attn_rect *rc,
		       const float *q, const float *k, vf dot[ROWS_GROUP])
{
	for (int g = 0; g < ROWS_GROUP; g++)
		dot[g] = vf_set(0.0f);
	for (int c = 0; r->scale != 0.0f && c < r->d; c++) {
		vf qv = vf_load(q + (size_t)c * r->q_pitch);
		const float *kc = k + (size_t)c * rc->pitch;
		vf a = vf_load(kc), b = vf_load(kc + ATTN_LANES);

		for (int g = 0; g < ROWS_GROUP; g++)
			dot[g] += qv * vf_shift(a, b, g);
	}
}

static vf one_dot(const struct attn_rows *r, const struct attn_rect *rc,
		  const float *q, const float *k)
{
	vf dot = vf_set(0.0f);

	for (int c = 0; r->scale != 0.0f && c < r->d; c++)
		dot += vf_load(q + (size_t)c * r->q_pitch) *
		       vf_load(k + (size_t)c * rc->pitch);
	return dot;
}

/* Whether a key vector starting at column rel of the rectangle may touch it. */
static int touches(const struct attn_rect *rc, int rel)
{
	return rel + ATTN_LANES > 0 && rel < rc->w;
}

/*
 * Window offsets k0 .. k1-1 (row-major over the (2r+1)^2 of a window) of
 * the segment, whose features start at q: a vector of scores each, for
 * those whose keys may lie in the rectangle (a window row outside it is
 * skipped whole), ROWS_GROUP neighbours of a row at a time where they can.
 */
static void chunk_scores(const struct attn_rows *r, const struct attn_rect *rc,
			 const struct segment *sg, const float *q, int k0, int k1,
			 struct chunk *ch)
{
	int side = 2 * r->radius + 1;

	for (int k = k0; k < k1;) {
		int u = k % side, left = side - u < k1 - k ? side - u : k1 - k;
		int ky = sg->y + sg->oy + k / side - r->radius, yy = ky - rc->y0;
		int kx = sg->x + sg->ox + u - r->radius, rel = kx - rc->x0;
		const float *kt = rc->kt + (size_t)yy * r->d * rc->pitch + rel;
		vf dot[ROWS_GROUP];

		if (yy < 0 || yy >= rc->h) {
			k += left;
		} else if (left >= ROWS_GROUP && touches(rc, rel) &&
			   touches(rc, rel + ROWS_GROUP - 1)) {
			group_dots(r, rc, q, kt, dot);
			for (int g = 0; g < ROWS_GROUP; g++)
				score_keep(r, rc, sg, dot[g], kx + g, ky, yy, rel + g, ch);
			k += ROWS_GROUP;
		} else {
			if (touches(rc, rel))
				score_keep(r, rc, sg, one_dot(r, rc, q, kt), kx, ky, yy, rel,
					   ch);
			k++;
		}
	}
}

/* Moves the lanes whose chunk max is above their running max to it. */
static void lanes_rescale(struct lane_state *ls, vf chunk_max, int dv)
{
	vi grow = chunk_max > ls->max;
	vf new_max = vf_select(grow, chunk_max, ls->max);
	vf shift = ls->max - new_max;
	vf f = vf_select(grow, vf_exp(shift), vf_set(1.0f));

	ls->ent = f * (ls->ent + shift * ls->sum);
	ls->sum *= f;
	for (int c = 0; c < dv; c++)
		ls->acc[c] *= f;
	ls->max = new_max;
}

/* exp(s - max) of a chunk's scores into the lanes' sums and accumulators. */
static void chunk_fold(const struct attn_rect *rc, const struct chunk *ch, int dv,
		       struct lane_state *ls)
{
	for (int n = 0; n < ch->n; n++) {
		vf s = vf_load(ch->s + (size_t)n * ATTN_LANES);
		vf x = s - ls->max;
		vf e = vf_select(s > 0.5f * ATTN_NEG, vf_exp(x), vf_set(0.0f));
		const float *v = rc->vt + ch->key[n];

		ls->sum += e;
		ls->ent += e * vf_select(x > vf_set(-80.0f), x, vf_set(0.0f));
		for (int c = 0; c < dv; c++)
			ls->acc[c] += e * vf_load(v + (size_t)c * rc->pitch);
	}
}

/* One segment's windows, chunk by chunk; returns the useful scores. */
static long segment_run(const struct attn_rows *r, const struct attn_rect *rc,
			const struct segment *sg, struct attn_state *st,
			long *computed)
{
	int side = 2 * r->radius + 1, offsets = side * side;
	const float *q = r->qt + (size_t)(sg->y - r->qy0) * r->d * r->q_pitch +
			 (sg->x - r->qx0);
	struct chunk ch = { .s = r->work, .key = r->keys };
	struct lane_state ls;
	long useful = 0;

	state_load(st, sg, &ls);
	for (int k0 = 0; k0 < offsets; k0 += ATTN_ROWS_CHUNK) {
		int k1 = k0 + ATTN_ROWS_CHUNK < offsets ? k0 + ATTN_ROWS_CHUNK : offsets;

		ch.n = 0;
		ch.max = vf_set(ATTN_NEG);
		ch.useful = (vi){ 0 };
		chunk_scores(r, rc, sg, q, k0, k1, &ch);
		useful += vi_hsum(ch.useful);
		*computed += (long)ch.n * ATTN_LANES;
		if (!ch.n)
			continue;
		lanes_rescale(&ls, ch.max, r->dv);
		chunk_fold(rc, &ch, r->dv, &ls);
	}
	state_store(st, sg, &ls);
	return useful;
}

long attn_rows_update(const struct attn_rows *rows, const struct attn_rect *rect,
		      struct attn_state *st, long *computed)
{
	struct segment sg;
	long useful = 0, lanes = 0;

	for (int i = 0; i < rows->nq;) {
		int next = segment_build(rows, i, &sg);

		useful += segment_run(rows, rect, &sg, st, &lanes);
		i = next;
	}
	if (computed)
		*computed = lanes;
	return useful;
}
