#include "attention/attn_attend.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_kernel.h"

#define TILE_KEYS 512           /* default keys per GEMM tile */

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
	for (size_t i = 0; i < (size_t)width * height; i++)
		n += !mask || mask[i] > threshold;
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

/* --- prepared dense key tiles, shared read-only by all blocks --- */

struct ktile {
	int nk;
	float *k;               /* npad x d */
	float *kterm;           /* npad, and ATTN_LANES more (direct runs read on) */
	float *vt;              /* dv x npad, and ATTN_LANES more */
	float *kx, *ky;         /* npad, or NULL */
};

/* Buffers of one key tile of up to cap keys. */
static int ktile_alloc(struct ktile *t, int cap, int d, int dv, int with_pos)
{
	int npad = attn_pad(cap);

	t->k = calloc((size_t)npad * d, sizeof(float));
	t->kterm = calloc(npad + ATTN_LANES, sizeof(float));
	t->vt = calloc((size_t)npad * dv + ATTN_LANES, sizeof(float));
	t->kx = with_pos ? calloc(npad, sizeof(float)) : NULL;
	t->ky = with_pos ? calloc(npad, sizeof(float)) : NULL;
	if (!t->k || !t->kterm || !t->vt || (with_pos && (!t->kx || !t->ky)))
		return -ENOMEM;
	return 0;
}

static void ktile_release(struct ktile *t)
{
	free(t->k);
	free(t->kterm);
	free(t->vt);
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
		int npad = attn_pad(nk);
		struct ktile *kt = &tiles[t];

		kt->nk = nk;
		if (ktile_alloc(kt, nk, d, dv, src->kx != NULL) < 0) {
			for (int i = 0; i <= t; i++)
				ktile_release(&tiles[i]);
			free(tiles);
			return -ENOMEM;
		}
		memcpy(kt->k, src->k + (size_t)first * d, sizeof(float) * nk * d);
		attn_kterm(kt->k, src->bias ? src->bias + first : NULL, nk, d, scale,
			   kt->kterm);
		for (int c = 0; c < dv; c++)
			for (int j = 0; j < nk; j++)
				kt->vt[(size_t)c * npad + j] = src->v[(size_t)(first + j) * dv + c];
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

struct scratch {
	float *qf;              /* block queries' features */
	float *kt;              /* window key features transposed, for direct runs */
	float *work;            /* direct runs' scratch */
	float *max, *sum, *ent, *acc;
	float *s;               /* score tile */
	float *kbias;           /* window key biases */
	struct ktile win;       /* window key tile */
	long long scores, useful;
};

struct run {
	const struct attn_job *job;
	float log8[256];        /* log(m / 255) of an 8-bit mask, ATTN_NEG at 0 */
	int d, bmax;
	int tile_keys;
	struct ktile **dense_tiles;
	int *dense_count;
	struct scratch *scratch;
};

static void scratch_release(struct scratch *s)
{
	free(s->qf);
	free(s->kt);
	free(s->work);
	free(s->max);
	free(s->sum);
	free(s->ent);
	free(s->acc);
	free(s->s);
	free(s->kbias);
	ktile_release(&s->win);
}

static int scratch_alloc(struct scratch *s, int bmax, int d, int dv, int tile_keys,
			 int radius)
{
	int npad = attn_pad(tile_keys);

	s->qf = malloc(sizeof(float) * bmax * d);
	s->kt = calloc((size_t)d * (npad + ATTN_LANES), sizeof(float));
	s->work = malloc(sizeof(float) * attn_direct_work(radius, dv ? dv : 1));
	if (!s->kt || !s->work)
		return -ENOMEM;
	s->max = malloc(sizeof(float) * bmax);
	s->sum = malloc(sizeof(float) * bmax);
	s->ent = malloc(sizeof(float) * bmax);
	s->acc = malloc(sizeof(float) * bmax * (dv ? dv : 1));
	s->s = malloc(sizeof(float) * bmax * npad);
	s->kbias = malloc(sizeof(float) * npad);
	if (!s->qf || !s->max || !s->sum || !s->ent || !s->acc || !s->s || !s->kbias)
		return -ENOMEM;
	return ktile_alloc(&s->win, tile_keys, d, dv, 1);
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
 * Gathers the window keys of rect [x0, x1] x [y0, y1] into s->win, and
 * their features transposed into s->kt when the rect runs directly.
 */
static void gather_rect(const struct run *r, struct scratch *s,
			const struct attn_window *w, int x0, int y0, int x1, int y1,
			int direct)
{
	int nk = (x1 - x0 + 1) * (y1 - y0 + 1), npad = attn_pad(nk);
	int dv = r->job->dv, width = w->keys.width, j = 0;
	struct ktile *kt = &s->win;

	if (r->job->scale != 0.0f) {
		attn_feat_rect(&w->keys, x0, y0, x1, y1, kt->k);
		memset(kt->k + (size_t)nk * r->d, 0, sizeof(float) * (npad - nk) * r->d);
		for (int c = 0; direct && c < r->d; c++)
			for (int i = 0; i < nk; i++)
				s->kt[(size_t)c * (npad + ATTN_LANES) + i] = kt->k[(size_t)i * r->d + c];
	}
	for (int y = y0; y <= y1; y++) {
		for (int x = x0; x <= x1; x++, j++) {
			size_t p = (size_t)y * width + x;

			kt->kx[j] = (float)x;
			kt->ky[j] = (float)y;
			if (w->bias)
				s->kbias[j] = w->bias[p];
			else if (w->mask)
				s->kbias[j] = w->mask[p] > 0.0f ? logf(w->mask[p]) : ATTN_NEG;
			else if (w->mask8)
				s->kbias[j] = r->log8[w->mask8[p]];
			for (int c = 0; c < dv && !w->values; c++)
				kt->vt[(size_t)c * npad + j] = w->value8[c] ?
					w->value8[c][p] * (1.0f / 255.0f) : w->value[c][p];
		}
	}
	if (w->values)
		w->values(w->values_ctx, x0, y0, x1, y1, kt->vt, npad);
	for (; j < npad; j++)
		for (int c = 0; c < dv; c++)
			kt->vt[(size_t)c * npad + j] = 0.0f;
	attn_kterm(kt->k, w->bias || w->mask || w->mask8 ? s->kbias : NULL, nk,
		   r->d, r->job->scale, kt->kterm);
	kt->nk = nk;
}

struct rect {
	int x0, y0, x1, y1;
};

/* Bounding box of the windows of queries [a, b), clipped; empty: x0 > x1. */
static struct rect window_bbox(const struct attn_window *w, int q0, int a, int b)
{
	struct rect box = { w->keys.width, w->keys.height, -1, -1 };

	for (int i = a; i < b; i++) {
		int cx = (int)roundf(w->cx[q0 + i]), cy = (int)roundf(w->cy[q0 + i]);

		box.x0 = cx - w->radius < box.x0 ? cx - w->radius : box.x0;
		box.y0 = cy - w->radius < box.y0 ? cy - w->radius : box.y0;
		box.x1 = cx + w->radius > box.x1 ? cx + w->radius : box.x1;
		box.y1 = cy + w->radius > box.y1 ? cy + w->radius : box.y1;
	}
	box.x0 = box.x0 < 0 ? 0 : box.x0;
	box.y0 = box.y0 < 0 ? 0 : box.y0;
	box.x1 = box.x1 > w->keys.width - 1 ? w->keys.width - 1 : box.x1;
	box.y1 = box.y1 > w->keys.height - 1 ? w->keys.height - 1 : box.y1;
	return box;
}

static void run_window_rect(const struct run *r, struct scratch *s,
			    const struct attn_window *w, int q0, int a, int b,
			    struct rect box)
{
	int bw = box.x1 - box.x0 + 1;
	int cw = bw < r->tile_keys ? bw : r->tile_keys;
	int ch = r->tile_keys / cw;
	struct attn_state st = sub_state(s, r->job->dv, a, b);

	for (int y = box.y0; y <= box.y1; y += ch) {
		for (int x = box.x0; x <= box.x1; x += cw) {
			int x1 = x + cw - 1 < box.x1 ? x + cw - 1 : box.x1;
			int y1 = y + ch - 1 < box.y1 ? y + ch - 1 : box.y1;
			int rect_w = r->job->gemm_windows ? 0 : x1 - x + 1;
			struct attn_tile tile;

			gather_rect(r, s, w, x, y, x1, y1,
				    attn_direct_fits(w->radius, rect_w, y1 - y + 1));
			tile = (struct attn_tile){
				.q = s->qf + (size_t)a * r->d, .k = s->win.k,
				.kterm = s->win.kterm, .vt = s->win.vt,
				.kx = s->win.kx, .ky = s->win.ky,
				.cx = w->cx + q0 + a, .cy = w->cy + q0 + a,
				.qbias = w->qbias ? w->qbias + q0 + a : NULL,
				.nq = b - a, .nk = s->win.nk, .d = r->d,
				.scale = r->job->scale, .tile_bias = w->bias_all,
				.radius = w->radius, .lambda = w->lambda,
				.rect_x0 = x, .rect_y0 = y,
				.rect_w = rect_w,
				.rect_h = y1 - y + 1, .dv = r->job->dv,
				.kt = s->kt, .kt_stride = s->win.nk ? attn_pad(s->win.nk) + ATTN_LANES : 0,
				.work = s->work,
			};
			fold(s, &tile, &st);
		}
	}
}

/*
 * Queries [a, b) of the block starting at q0 against window source w.
 * Blocks whose windows scatter (an object's edge, a motion boundary) are
 * split so the gathered box stays near the size of one block's windows.
 */
static void run_window(const struct run *r, struct scratch *s,
		       const struct attn_window *w, int q0, int a, int b)
{
	struct rect box = window_bbox(w, q0, a, b);
	long side = 9 + 2L * w->radius;
	long area = (long)(box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1);

	if (box.x0 > box.x1 || box.y0 > box.y1)
		return;
	if (area > 4 * side * side && b - a > 1) {
		run_window(r, s, w, q0, a, (a + b) / 2);
		run_window(r, s, w, q0, (a + b) / 2, b);
		return;
	}
	run_window_rect(r, s, w, q0, a, b, box);
}

static void run_block(void *ctx, int block, int worker)
{
	const struct run *r = ctx;
	const struct attn_job *job = r->job;
	struct scratch *s = &r->scratch[worker];
	int q0 = job->q->block[block], nq = job->q->block[block + 1] - q0;
	struct attn_state st = sub_state(s, job->dv, 0, nq);

	if (job->scale != 0.0f)
		attn_feat_gather(job->queries, job->q->x + q0, job->q->y + q0, nq,
				 s->qf);
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

/* The largest window radius of the job's windows. */
static int largest_radius(const struct attn_job *job)
{
	int m = 0;

	for (int i = 0; i < job->n_windows; i++)
		if (job->windows[i].radius > m)
			m = job->windows[i].radius;
	return m;
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
	r->tile_keys = job->tile_keys > 0 ? job->tile_keys : TILE_KEYS;
	r->dense_tiles = calloc(job->n_dense + 1, sizeof(*r->dense_tiles));
	r->dense_count = calloc(job->n_dense + 1, sizeof(int));
	r->scratch = calloc(threads, sizeof(*r->scratch));
	if (!r->dense_tiles || !r->dense_count || !r->scratch)
		return ret;
	for (int i = 0; i < job->n_dense; i++) {
		ret = dense_prepare(&job->dense[i], r->d, job->dv, job->scale,
				    r->tile_keys, &r->dense_tiles[i],
				    &r->dense_count[i]);
		if (ret < 0)
			return ret;
	}
	for (int i = 0; i < threads; i++) {
		ret = scratch_alloc(&r->scratch[i], r->bmax, r->d, job->dv,
				    r->tile_keys, largest_radius(job));
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
