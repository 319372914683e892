#include "attention/attn_attend.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_kernel.h"
#include "attention/attn_rows.h"
#include "attention/attn_simd.h"

#define TILE_KEYS 512           /* default keys per GEMM tile */
/* default keys per window rectangle: 32x32 queries with windows of radius 2 fit in one */
#define RECT_KEYS 4096

/* --- query sets --- */

void attn_queries_free(attn_queries *q)
{
	if (!q)
		return;
	free(q->x);
	free(q->y);
	free(q->block);
	free(q);
}

static int queries_alloc(int n, int n_blocks, attn_queries **out)
{
	attn_queries *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->x = malloc(sizeof(int) * (n ? n : 1));
	q->y = malloc(sizeof(int) * (n ? n : 1));
	q->block = calloc(n_blocks + 1, sizeof(int));
	if (!q->x || !q->y || !q->block) {
		attn_queries_free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

int attn_queries_from_mask(const float *mask, int width, int height,
			   float threshold, int block_size, attn_queries **out)
{
	int bw = (width + block_size - 1) / block_size;
	int bh = (height + block_size - 1) / block_size;
	attn_queries *q;
	int n = 0, ret;

	if (block_size < 1 || width < 1 || height < 1)
		return -EINVAL;
	if (!mask)
		n = width * height;
	for (size_t i = 0; mask && i < (size_t)width * height; i++)
		n += mask[i] > threshold;
	ret = queries_alloc(n, bw * bh, &q);
	if (ret < 0)
		return ret;
	n = 0;
	for (int by = 0; by < bh; by++) {
		for (int bx = 0; bx < bw; bx++) {
			int y1 = (by + 1) * block_size < height ? (by + 1) * block_size : height;
			int x1 = (bx + 1) * block_size < width ? (bx + 1) * block_size : width;

			for (int y = by * block_size; y < y1; y++) {
				for (int x = bx * block_size; x < x1; x++) {
					if (mask && !(mask[(size_t)y * width + x] > threshold))
						continue;
					q->x[n] = x;
					q->y[n] = y;
					n++;
				}
			}
			if (n > q->block[q->n_blocks])
				q->block[++q->n_blocks] = n;
		}
	}
	q->n = n;
	*out = q;
	return 0;
}

/*
 * n floats, zero, with ATTN_LANES more before and after them that attn_rows
 * may read (NULL when out of memory). Freed by free_margined.
 */
static float *alloc_margined(size_t n)
{
	float *p = calloc(n + 2 * ATTN_LANES, sizeof(float));

	return p ? p + ATTN_LANES : NULL;
}

static void free_margined(float *p)
{
	if (p)
		free(p - ATTN_LANES);
}

/* --- key tiles: the dense ones prepared once and shared, a window one per worker --- */

struct ktile {
	int nk;
	float *k;               /* npad x d */
	float *kterm;           /* npad, margined */
	float *vt;              /* npad x dv, key-major (attn_tile), margined */
	float *kx, *ky;         /* npad, or NULL */
};

/* Buffers of one key tile of up to cap keys. */
static int ktile_alloc(struct ktile *t, int cap, int d, int dv, int with_pos)
{
	int npad = attn_pad(cap);

	t->k = calloc((size_t)npad * d, sizeof(float));
	t->kterm = alloc_margined(npad);
	t->vt = alloc_margined((size_t)npad * dv);
	t->kx = with_pos ? calloc(npad, sizeof(float)) : NULL;
	t->ky = with_pos ? calloc(npad, sizeof(float)) : NULL;
	if (!t->k || !t->kterm || !t->vt || (with_pos && (!t->kx || !t->ky)))
		return -ENOMEM;
	return 0;
}

static void ktile_release(struct ktile *t)
{
	free(t->k);
	free_margined(t->kterm);
	free_margined(t->vt);
	free(t->kx);
	free(t->ky);
}

static int dense_prepare(const struct attn_dense *src, int d, int dv, float scale,
			 int tile_keys, struct ktile **out, int *count)
{
	int n = (src->nk + tile_keys - 1) / tile_keys;
	struct ktile *tiles = calloc(n ? n : 1, sizeof(*tiles));

	if (!tiles)
		return -ENOMEM;
	for (int t = 0; t < n; t++) {
		int first = t * tile_keys;
		int nk = src->nk - first < tile_keys ? src->nk - first : tile_keys;
		struct ktile *kt = &tiles[t];

		kt->nk = nk;
		if (ktile_alloc(kt, nk, d, dv, src->kx != NULL) < 0) {
			for (int i = 0; i <= t; i++)
				ktile_release(&tiles[i]);
			free(tiles);
			return -ENOMEM;
		}
		memcpy(kt->k, src->k + (size_t)first * d, sizeof(float) * nk * d);
		attn_kterm(kt->k, d, 1, src->bias ? src->bias + first : NULL, nk, d,
			   scale, kt->kterm);
		memcpy(kt->vt, src->v + (size_t)first * dv, sizeof(float) * nk * dv);
		if (src->kx) {
			memcpy(kt->kx, src->kx + first, sizeof(float) * nk);
			memcpy(kt->ky, src->ky + first, sizeof(float) * nk);
		}
	}
	*out = tiles;
	*count = n;
	return 0;
}

/* --- per-worker scratch --- */

struct rect {
	int x0, y0, x1, y1;
};

struct scratch {
	float *qf;              /* block queries' features, row-major (GEMM tiles) */
	float *qt;              /* or those of their box as attn_rows reads them, margined */
	struct rect qbox;
	int q_pitch;
	float *kt;              /* window key features transposed (attn_rows), margined */
	const float *kt_first;  /* in it, the first key's first feature */
	int kt_row, *kt_off;    /* and their layout (struct attn_rect) */
	float *work;            /* attn_rows' scratch */
	int *keys;
	float *max, *sum, *ent, *acc;
	float *s;               /* score tile */
	float *kbias;           /* window key biases */
	float *vgather;         /* window values as gathered, for a GEMM tile (gemm_windows) */
	struct ktile win;       /* window key tile */
	long long scores, useful;
};

struct run {
	const struct attn_job *job;
	float log8[256];        /* log(m / 255) of an 8-bit mask, ATTN_NEG at 0 */
	int d, bmax;
	int qt_floats;          /* of scratch qt: a block's box, as attn_rows reads it */
	int row_major;          /* queries' features wanted row-major (qf) */
	int boxed;              /* and as their box, feature-major (qt) */
	int tile_keys;          /* keys per GEMM tile */
	int rect_keys;          /* keys per window rectangle (attn_rows) */
	struct ktile **dense_tiles;
	int *dense_count;
	struct scratch *scratch;
	int *order;             /* the blocks, largest first */
};

static void scratch_release(struct scratch *s)
{
	free(s->qf);
	free_margined(s->qt);
	free_margined(s->kt);
	free(s->kt_off);
	free(s->work);
	free(s->keys);
	free(s->max);
	free(s->sum);
	free(s->ent);
	free(s->acc);
	free(s->s);
	free(s->kbias);
	free(s->vgather);
	ktile_release(&s->win);
}

/*
 * A worker's buffers: GEMM tiles of up to tile_keys keys, window
 * rectangles of up to rect_keys.
 */
static int scratch_alloc(struct scratch *s, const struct run *r, int dv)
{
	int bmax = r->bmax, d = r->d, tile_keys = r->tile_keys;
	int cap = tile_keys > r->rect_keys ? tile_keys : r->rect_keys, npad = attn_pad(cap);

	s->qf = malloc(sizeof(float) * bmax * d);
	s->qt = alloc_margined((size_t)d * r->qt_floats);
	s->kt = alloc_margined((size_t)d * (npad + ATTN_LANES));
	s->kt_off = malloc(sizeof(int) * d);
	s->work = malloc(sizeof(float) * ATTN_ROWS_WORK);
	s->keys = malloc(sizeof(int) * ATTN_ROWS_CHUNK);
	if (!s->qt || !s->kt || !s->kt_off || !s->work || !s->keys)
		return -ENOMEM;
	s->max = malloc(sizeof(float) * bmax);
	s->sum = malloc(sizeof(float) * bmax);
	s->ent = malloc(sizeof(float) * bmax);
	s->acc = malloc(sizeof(float) * bmax * (dv ? dv : 1));
	s->s = malloc(sizeof(float) * (attn_pad(bmax) + ATTN_LANES) * tile_keys);
	s->kbias = malloc(sizeof(float) * npad);
	if (!s->qf || !s->max || !s->sum || !s->ent || !s->acc || !s->s || !s->kbias)
		return -ENOMEM;
	if (r->job->gemm_windows && !(s->vgather = malloc(sizeof(float) * npad * (dv ? dv : 1))))
		return -ENOMEM;
	return ktile_alloc(&s->win, cap, d, dv, 1);
}

/* The state of queries [a, b) of the block in scratch. */
static struct attn_state sub_state(struct scratch *s, int dv, int a, int b)
{
	return (struct attn_state){
		.nq = b - a, .dv = dv,
		.max = s->max + a, .sum = s->sum + a, .ent = s->ent + a,
		.acc = s->acc + (size_t)a * dv,
	};
}

static void fold(struct scratch *s, const struct attn_tile *t,
		 struct attn_state *st)
{
	long computed;

	s->useful += attn_tile_update(t, s->s, st, &computed);
	s->scores += computed;
}

static void run_dense(const struct run *r, struct scratch *s, int src, int q0,
		      int nq)
{
	const struct attn_dense *ds = &r->job->dense[src];
	struct attn_state st = sub_state(s, r->job->dv, 0, nq);

	for (int t = 0; t < r->dense_count[src]; t++) {
		const struct ktile *kt = &r->dense_tiles[src][t];
		struct attn_tile tile = {
			.q = s->qf, .k = kt->k, .kterm = kt->kterm, .vt = kt->vt,
			.kx = kt->kx, .ky = kt->ky,
			.cx = ds->cx ? ds->cx + q0 : NULL,
			.cy = ds->cy ? ds->cy + q0 : NULL,
			.qbias = ds->qbias ? ds->qbias + q0 : NULL,
			.nq = nq, .nk = kt->nk, .d = r->d, .scale = r->job->scale,
			.tile_bias = ds->bias_all, .radius = -1, .lambda = ds->lambda,
		};

		fold(s, &tile, &st);
	}
}

/*
 * The key biases of rect [x0, x1] x [y0, y1] of w into s->kbias, row by
 * row; 0 when it has none.
 */
static int gather_bias(const struct run *r, struct scratch *s,
		       const struct attn_window *w, int x0, int y0, int x1, int y1)
{
	int rw = x1 - x0 + 1;

	if (!w->bias && !w->mask && !w->mask8)
		return 0;
	for (int y = y0; y <= y1; y++) {
		size_t p = (size_t)y * w->keys.width + x0;
		float *o = s->kbias + (size_t)(y - y0) * rw;

		if (w->bias)
			memcpy(o, w->bias + p, sizeof(float) * rw);
		else if (w->mask)
			for (int x = 0; x < rw; x++)
				o[x] = w->mask[p + x] > 0.0f ? logf(w->mask[p + x]) : ATTN_NEG;
		else
			for (int x = 0; x < rw; x += ATTN_LANES) {
				int n = rw - x < ATTN_LANES ? rw - x : ATTN_LANES;

				vf_store_part(o + x, vf_gather(r->log8, vi_load_u8_part(w->mask8 + p + x, n)),
					      n);
			}
	}
	return 1;
}

/*
 * The values of rect [x0, x1] x [y0, y1] of w into vt: value c of key
 * (x, y) at vt[(y - y0) * row_stride + c * chan_stride + x - x0].
 */
static void gather_values(const struct attn_window *w, int dv, int x0, int y0,
			  int x1, int y1, float *vt, size_t row_stride,
			  size_t chan_stride)
{
	int rw = x1 - x0 + 1;

	if (w->values) {
		w->values(w->values_ctx, x0, y0, x1, y1, vt, row_stride, chan_stride);
		return;
	}
	for (int y = y0; y <= y1; y++, vt += row_stride) {
		size_t p = (size_t)y * w->keys.width + x0;

		for (int c = 0; c < dv; c++) {
			float *o = vt + c * chan_stride;

			if (w->value8[c])
				for (int x = 0; x < rw; x += ATTN_LANES) {
					int n = rw - x < ATTN_LANES ? rw - x : ATTN_LANES;
					vi v = vi_load_u8_part(w->value8[c] + p + x, n);

					vf_store_part(o + x, __builtin_convertvector(v, vf) *
							     (1.0f / 255.0f), n);
				}
			else
				memcpy(o, w->value[c] + p, sizeof(float) * rw);
		}
	}
}

/*
 * Whether the keys of w may be read as views of their plane: patches of
 * one plane whose mean, if removed, need not be, as the queries' patches
 * have theirs removed (a zero-mean query's dot product with a patch is the
 * same with or without the patch's mean).
 */
static int key_views(const struct run *r, const struct attn_window *w)
{
	const struct attn_feat *k = &w->keys, *q = r->job->queries;

	return r->job->scale != 0.0f && k->n == 1 &&
	       (!k->zero_mean[0] || (q->n == 1 && q->zero_mean[0] && q->radius == k->radius));
}

/*
 * The terms of a row's n keys, their patches' features at k + kt_off[c]:
 * -scale |k|^2 (the patch less its mean where f removes it) plus the bias
 * (or none); a vector of keys at a time, their sums in registers. out has
 * room for n rounded up to whole vectors.
 */
static void view_terms(const struct run *r, const struct scratch *s,
		       const struct attn_feat *f, const float *k, int n,
		       const float *bias, float *out)
{
	int side = 2 * f->radius + 1, d = side * side;
	vf inv_d = vf_set(f->zero_mean[0] ? 1.0f / (float)d : 0.0f);

	for (int x = 0; x < n; x += VF_LANES) {
		int m = n - x < VF_LANES ? n - x : VF_LANES;
		vf s1 = vf_set(0.0f), s2 = s1, t;

		for (int c = 0; c < d; c++) {
			vf v = vf_load_part(k + x + s->kt_off[c], m);

			s1 += v;
			s2 = vf_fma(v, v, s2);
		}
		t = vf_set(-r->job->scale) * (s2 - s1 * inv_d * s1) +
		    (bias ? vf_load_part(bias + x, m) : vf_set(0.0f));
		vf_store(out + x, t);
	}
}

/*
 * The keys of rect [x0, x1] x [y0, y1] of w (one plane's patches) as views
 * of the plane, weighted, into s->kt: the rect widened by the patch radius
 * on each side and by ATTN_LANES more across, samples outside the frame
 * clamped. Their terms into s->win.kterm, pitch apart, with the biases
 * gathered (or NULL).
 */
static void gather_views(const struct run *r, struct scratch *s,
			 const struct attn_window *w, int x0, int y0, int x1, int y1,
			 int pitch, const float *bias)
{
	const struct attn_feat *f = &w->keys;
	int rad = f->radius, side = 2 * rad + 1;
	int rw = x1 - x0 + 1, rh = y1 - y0 + 1, lp = rw + 2 * rad + 2 * ATTN_LANES;

	attn_feat_samples(f, 0, x0 - rad - ATTN_LANES, y0 - rad, x1 + rad + ATTN_LANES, y1 + rad,
			  s->kt, lp);
	s->kt_first = s->kt + (size_t)rad * lp + ATTN_LANES + rad;
	s->kt_row = lp;
	for (int c = 0; c < side * side; c++)
		s->kt_off[c] = (c / side - rad) * lp + c % side - rad;
	for (int yy = 0; yy < rh; yy++) {
		float *o = s->win.kterm + (size_t)yy * pitch;

		view_terms(r, s, f, s->kt_first + (size_t)yy * lp, rw,
			   bias ? bias + (size_t)yy * rw : NULL, o);
		for (int x = rw; x < attn_pad(rw); x++)
			o[x] = ATTN_NEG;
	}
}

/*
 * Gathers the window keys of rect [x0, x1] x [y0, y1] for attn_rows:
 * features into s->kt (their layout in s->kt_row and s->kt_off), terms and
 * values into s->win, in the rectangle's layout (struct attn_rect) with
 * the pitch returned.
 */
static int gather_rows(const struct run *r, struct scratch *s,
		       const struct attn_window *w, int x0, int y0, int x1, int y1)
{
	int rw = x1 - x0 + 1, pitch = rw + ATTN_LANES, d = r->d, biased;
	struct ktile *kt = &s->win;

	biased = gather_bias(r, s, w, x0, y0, x1, y1);
	gather_values(w, r->job->dv, x0, y0, x1, y1, kt->vt,
		      (size_t)r->job->dv * pitch, pitch);
	kt->nk = rw * (y1 - y0 + 1);
	if (key_views(r, w)) {
		gather_views(r, s, w, x0, y0, x1, y1, pitch, biased ? s->kbias : NULL);
		return pitch;
	}
	if (r->job->scale != 0.0f)
		attn_feat_rect(&w->keys, x0, y0, x1, y1, s->kt, (size_t)d * pitch, pitch);
	s->kt_first = s->kt;
	s->kt_row = d * pitch;
	for (int c = 0; c < d; c++)
		s->kt_off[c] = c * pitch;
	for (int y = 0; y <= y1 - y0; y++)
		attn_kterm(s->kt + (size_t)y * d * pitch, 1, pitch,
			   biased ? s->kbias + (size_t)y * rw : NULL, rw, d,
			   r->job->scale, kt->kterm + (size_t)y * pitch);
	return pitch;
}

/*
 * Gathers the window keys of rect [x0, x1] x [y0, y1] as a GEMM tile into
 * s->win (features row-major, positions, terms and values).
 */
static void gather_gemm(const struct run *r, struct scratch *s,
			const struct attn_window *w, int x0, int y0, int x1, int y1)
{
	int rw = x1 - x0 + 1, nk = rw * (y1 - y0 + 1), npad = attn_pad(nk);
	int stride = npad + ATTN_LANES, dv = r->job->dv, biased;
	struct ktile *kt = &s->win;

	if (r->job->scale != 0.0f)
		attn_feat_rect(&w->keys, x0, y0, x1, y1, s->kt, rw, stride);
	biased = gather_bias(r, s, w, x0, y0, x1, y1);
	gather_values(w, dv, x0, y0, x1, y1, s->vgather, rw, npad);
	for (int j = 0; j < nk; j++)
		for (int c = 0; c < dv; c++)
			kt->vt[(size_t)j * dv + c] = s->vgather[(size_t)c * npad + j];
	memset(kt->vt + (size_t)nk * dv, 0, sizeof(float) * (npad - nk) * dv);
	attn_kterm(s->kt, 1, stride, biased ? s->kbias : NULL, nk, r->d,
		   r->job->scale, kt->kterm);
	memset(kt->k, 0, sizeof(float) * npad * r->d);
	for (int c = 0; r->job->scale != 0.0f && c < r->d; c++)
		for (int j = 0; j < nk; j++)
			kt->k[(size_t)j * r->d + c] = s->kt[(size_t)c * stride + j];
	for (int j = 0; j < nk; j++) {
		kt->kx[j] = (float)(x0 + j % rw);
		kt->ky[j] = (float)(y0 + j / rw);
	}
	kt->nk = nk;
}

/* Bounding box of the windows of queries [a, b), clipped; empty: x0 > x1. */
static struct rect window_bbox(const struct attn_window *w, int q0, int a, int b)
{
	vi x0 = (vi){ 0 } + INT_MAX, y0 = x0, x1 = -x0, y1 = -x0;
	struct rect box;

	for (int i = a; i < b; i += VF_LANES) {
		int n = b - i < VF_LANES ? b - i : VF_LANES;
		vi cx = vf_round(vf_load_part(w->cx + q0 + i, n));
		vi cy = vf_round(vf_load_part(w->cy + q0 + i, n));
		vi in = vf_lane_index() < (float)n;

		x0 = vi_select(in & (cx < x0), cx, x0);
		y0 = vi_select(in & (cy < y0), cy, y0);
		x1 = vi_select(in & (cx > x1), cx, x1);
		y1 = vi_select(in & (cy > y1), cy, y1);
	}
	box.x0 = vi_hmin(x0) - w->radius;
	box.y0 = vi_hmin(y0) - w->radius;
	box.x1 = vi_hmax(x1) + w->radius;
	box.y1 = vi_hmax(y1) + w->radius;
	box.x0 = box.x0 < 0 ? 0 : box.x0;
	box.y0 = box.y0 < 0 ? 0 : box.y0;
	box.x1 = box.x1 > w->keys.width - 1 ? w->keys.width - 1 : box.x1;
	box.y1 = box.y1 > w->keys.height - 1 ? w->keys.height - 1 : box.y1;
	return box;
}

/* Queries [a, b) of the block at q0 against the keys of s->win as GEMM tiles. */
static void fold_gemm(const struct run *r, struct scratch *s,
		      const struct attn_window *w, int q0, int a, int b,
		      struct attn_state *st)
{
	struct attn_tile tile = {
		.q = s->qf + (size_t)a * r->d, .k = s->win.k, .kterm = s->win.kterm,
		.vt = s->win.vt, .kx = s->win.kx, .ky = s->win.ky,
		.cx = w->cx + q0 + a, .cy = w->cy + q0 + a,
		.qbias = w->qbias ? w->qbias + q0 + a : NULL,
		.nq = b - a, .nk = s->win.nk, .d = r->d, .scale = r->job->scale,
		.tile_bias = w->bias_all, .radius = w->radius, .lambda = w->lambda,
	};

	fold(s, &tile, st);
}

/*
 * The same a query per lane, the keys being the rect [x0, x1] x [y0, y1]
 * gathered with pitch.
 */
static void fold_rows(const struct run *r, struct scratch *s,
		      const struct attn_window *w, int q0, int a, int b,
		      struct attn_state *st, struct rect k, int pitch)
{
	struct attn_rect rect = {
		.x0 = k.x0, .y0 = k.y0, .w = k.x1 - k.x0 + 1, .h = k.y1 - k.y0 + 1,
		.pitch = pitch, .kt = s->kt_first, .kt_row = s->kt_row, .kt_off = s->kt_off,
		.kterm = s->win.kterm, .vt = s->win.vt,
	};
	struct attn_rows rows = {
		.qt = s->qt, .q_pitch = s->q_pitch, .qx0 = s->qbox.x0,
		.qy0 = s->qbox.y0, .qx = r->job->q->x + q0 + a,
		.qy = r->job->q->y + q0 + a, .cx = w->cx + q0 + a, .cy = w->cy + q0 + a,
		.qbias = w->qbias ? w->qbias + q0 + a : NULL, .nq = b - a, .d = r->d,
		.dv = r->job->dv, .scale = r->job->scale, .tile_bias = w->bias_all,
		.lambda = w->lambda, .radius = w->radius, .work = s->work,
		.keys = s->keys,
	};
	long computed;

	s->useful += attn_rows_update(&rows, &rect, st, &computed);
	s->scores += computed;
}

/*
 * Queries [a, b) of the block at q0 against the window keys in box, in
 * rectangles of up to a tile's keys (a query per lane: a tile's floats,
 * each run of keys padded by ATTN_LANES).
 */
static void run_window_rect(const struct run *r, struct scratch *s,
			    const struct attn_window *w, int q0, int a, int b,
			    struct rect box)
{
	int gemm = r->job->gemm_windows;
	int keys = gemm ? r->tile_keys : r->rect_keys;
	int bw = box.x1 - box.x0 + 1;
	int run = gemm ? keys : keys - ATTN_LANES;     /* keys of a run */
	int cw = bw < run ? bw : run;
	int ch = keys / (gemm ? cw : cw + ATTN_LANES);
	struct attn_state st = sub_state(s, r->job->dv, a, b);

	for (int y = box.y0; y <= box.y1; y += ch) {
		for (int x = box.x0; x <= box.x1; x += cw) {
			struct rect k = { x, y, x + cw - 1 < box.x1 ? x + cw - 1 : box.x1,
					  y + ch - 1 < box.y1 ? y + ch - 1 : box.y1 };

			if (gemm) {
				gather_gemm(r, s, w, k.x0, k.y0, k.x1, k.y1);
				fold_gemm(r, s, w, q0, a, b, &st);
			} else {
				fold_rows(r, s, w, q0, a, b, &st, k,
					  gather_rows(r, s, w, k.x0, k.y0, k.x1, k.y1));
			}
		}
	}
}

static struct rect query_box(const attn_queries *q, int q0, int n);

/*
 * Queries [a, b) of the block starting at q0 against window source w.
 * Blocks whose windows scatter (an object's edge, a motion boundary) are
 * split so the gathered box stays near the size of the queries' own box
 * widened by their windows.
 */
static void run_window(const struct run *r, struct scratch *s,
		       const struct attn_window *w, int q0, int a, int b)
{
	struct rect box = window_bbox(w, q0, a, b);
	struct rect qb = query_box(r->job->q, q0 + a, b - a);
	long area = (long)(box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1);
	long own = (long)(qb.x1 - qb.x0 + 2 * w->radius + 2) *
		   (qb.y1 - qb.y0 + 2 * w->radius + 2);

	if (box.x0 > box.x1 || box.y0 > box.y1)
		return;
	if (area > 4 * own && b - a > 1) {
		run_window(r, s, w, q0, a, (a + b) / 2);
		run_window(r, s, w, q0, (a + b) / 2, b);
		return;
	}
	run_window_rect(r, s, w, q0, a, b, box);
}

/* The box of queries [q0, q0 + n). */
static struct rect query_box(const attn_queries *q, int q0, int n)
{
	struct rect box = { q->x[q0], q->y[q0], q->x[q0], q->y[q0] };

	for (int i = q0 + 1; i < q0 + n; i++) {
		box.x0 = q->x[i] < box.x0 ? q->x[i] : box.x0;
		box.x1 = q->x[i] > box.x1 ? q->x[i] : box.x1;
		box.y1 = q->y[i] > box.y1 ? q->y[i] : box.y1;
	}
	return box;
}

/*
 * The features of queries [q0, q0 + nq) into s->qt, laid out as their box
 * (s->qbox) for attn_rows: the whole box when they fill most of it, else
 * each query's own (s->qf as scratch).
 */
static void query_features(const struct run *r, struct scratch *s, int q0, int nq)
{
	const attn_queries *q = r->job->q;
	struct rect b = s->qbox;
	size_t row = (size_t)r->d * s->q_pitch;

	if (2 * nq >= (b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1)) {
		attn_feat_rect(r->job->queries, b.x0, b.y0, b.x1, b.y1, s->qt, row,
			       s->q_pitch);
		return;
	}
	attn_feat_gather(r->job->queries, q->x + q0, q->y + q0, nq, s->qf);
	for (int i = 0; i < nq; i++) {
		float *o = s->qt + (q->y[q0 + i] - b.y0) * row + (q->x[q0 + i] - b.x0);

		for (int c = 0; c < r->d; c++)
			o[c * s->q_pitch] = s->qf[(size_t)i * r->d + c];
	}
}

static void run_block(void *ctx, int task, int worker)
{
	const struct run *r = ctx;
	const struct attn_job *job = r->job;
	int block = r->order[task];
	struct scratch *s = &r->scratch[worker];
	int q0 = job->q->block[block], nq = job->q->block[block + 1] - q0;
	struct attn_state st = sub_state(s, job->dv, 0, nq);

	if (job->scale != 0.0f && r->row_major)
		attn_feat_gather(job->queries, job->q->x + q0, job->q->y + q0, nq,
				 s->qf);
	if (r->boxed) {
		s->qbox = query_box(job->q, q0, nq);
		s->q_pitch = s->qbox.x1 - s->qbox.x0 + 1 + ATTN_LANES;
	}
	if (job->scale != 0.0f && r->boxed)
		query_features(r, s, q0, nq);
	attn_state_reset(&st);
	for (int i = 0; i < job->n_dense; i++)
		run_dense(r, s, i, q0, nq);
	for (int i = 0; i < job->n_windows; i++)
		run_window(r, s, &job->windows[i], q0, 0, nq);
	attn_state_finish(&st, job->out + (size_t)q0 * job->dv,
			  job->entropy ? job->entropy + q0 : NULL);
}

static int largest_block(const attn_queries *q)
{
	int m = 1;

	for (int b = 0; b < q->n_blocks; b++)
		if (q->block[b + 1] - q->block[b] > m)
			m = q->block[b + 1] - q->block[b];
	return m;
}

/* Floats a feature of the largest box of a block's queries takes in attn_rows' layout. */
static int largest_box(const attn_queries *q)
{
	int m = 1;

	for (int b = 0; b < q->n_blocks; b++) {
		struct rect box = query_box(q, q->block[b], q->block[b + 1] - q->block[b]);
		int n = (box.x1 - box.x0 + 1 + ATTN_LANES) * (box.y1 - box.y0 + 1);

		m = n > m ? n : m;
	}
	return m;
}

/* A block and its queries, to order blocks by. */
struct block_size {
	int n, block;
};

static int larger_first(const void *a, const void *b)
{
	const struct block_size *x = a, *y = b;

	return x->n != y->n ? y->n - x->n : x->block - y->block;
}

/*
 * The blocks in the order the threads take them: largest first, so that
 * the last ones taken are short and no thread waits long for another at
 * the end. NULL when out of memory.
 */
static int *block_order(const attn_queries *q)
{
	struct block_size *sz = malloc(sizeof(*sz) * (q->n_blocks + 1));
	int *order = malloc(sizeof(int) * (q->n_blocks + 1));

	if (sz && order) {
		for (int b = 0; b < q->n_blocks; b++)
			sz[b] = (struct block_size){ q->block[b + 1] - q->block[b], b };
		qsort(sz, q->n_blocks, sizeof(*sz), larger_first);
		for (int b = 0; b < q->n_blocks; b++)
			order[b] = sz[b].block;
	} else {
		free(order);
		order = NULL;
	}
	free(sz);
	return order;
}

static void run_release(struct run *r, int threads, int n_dense)
{
	for (int i = 0; i < n_dense && r->dense_tiles; i++) {
		for (int t = 0; t < r->dense_count[i]; t++)
			ktile_release(&r->dense_tiles[i][t]);
		free(r->dense_tiles[i]);
	}
	free(r->dense_tiles);
	free(r->dense_count);
	for (int i = 0; i < threads && r->scratch; i++)
		scratch_release(&r->scratch[i]);
	free(r->scratch);
	free(r->order);
}

static int run_prepare(struct run *r, const struct attn_job *job, int threads)
{
	int ret = -ENOMEM;

	r->job = job;
	r->log8[0] = ATTN_NEG;
	for (int m = 1; m < 256; m++)
		r->log8[m] = logf(m / 255.0f);
	r->d = attn_feat_dim(job->queries);
	r->bmax = largest_block(job->q);
	r->row_major = job->n_dense > 0 || (job->n_windows > 0 && job->gemm_windows);
	r->boxed = job->n_windows > 0 && !job->gemm_windows;
	r->qt_floats = r->boxed ? largest_box(job->q) : 0;
	r->tile_keys = job->tile_keys > 0 ? job->tile_keys : TILE_KEYS;
	r->rect_keys = job->tile_keys > 2 * ATTN_LANES ? job->tile_keys :
		       job->tile_keys > 0 ? 2 * ATTN_LANES : RECT_KEYS;
	r->dense_tiles = calloc(job->n_dense + 1, sizeof(*r->dense_tiles));
	r->dense_count = calloc(job->n_dense + 1, sizeof(int));
	r->scratch = calloc(threads, sizeof(*r->scratch));
	r->order = block_order(job->q);
	if (!r->dense_tiles || !r->dense_count || !r->scratch || !r->order)
		return ret;
	for (int i = 0; i < job->n_dense; i++) {
		ret = dense_prepare(&job->dense[i], r->d, job->dv, job->scale,
				    r->tile_keys, &r->dense_tiles[i],
				    &r->dense_count[i]);
		if (ret < 0)
			return ret;
	}
	for (int i = 0; i < threads; i++) {
		ret = scratch_alloc(&r->scratch[i], r, job->dv);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int attn_attend(attn_pool *pool, const struct attn_job *job,
		struct attn_stats *stats)
{
	int threads = attn_pool_threads(pool);
	struct run r = { 0 };
	int ret;

	if (job->dv < 0 || job->dv > ATTN_VAL_MAX)
		return -EINVAL;
	ret = run_prepare(&r, job, threads);
	if (ret < 0)
		goto out_release;
	attn_pool_run(pool, job->q->n_blocks, run_block, &r);
	if (stats) {
		for (int i = 0; i < threads; i++) {
			stats->scores += r.scratch[i].scores;
			stats->useful += r.scratch[i].useful;
			stats->flops += 2.0 * (r.d + job->dv) * r.scratch[i].useful;
		}
	}
out_release:
	run_release(&r, threads, job->n_dense);
	return ret;
}
