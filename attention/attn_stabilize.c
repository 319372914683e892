/*
 * stabilize: masked regions anchored to their reference look.
 *
 * Each query pixel of frame t attends to windows in its temporal
 * neighbours t-K..t+K and in the reference keyframes, each window placed
 * where the camera motion (attn_motion) says the same scene point is. A
 * strong positional prior keeps attention on that point, so flicker and
 * warps, which differ from frame to frame, average out instead of being
 * copied; features have their patch means removed, so flicker does not
 * move the match. Keys outside a neighbour's own mask are left out. Each
 * further step matches against the previous step's result (the guide),
 * which is stable, so the average gathers the same structure from every
 * frame rather than the same position.
 */
#include "attention/attn_engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_kernel.h"
#include "attention/attn_motion.h"
#include "attention/attn_private.h"

#define MOTION_CELL 48          /* pixels per motion cell */
#define MOTION_RANGE 48         /* search range per frame of distance */
#define REF_RANGE 192           /* search range to a reference keyframe */
#define EPS_COVER 1e-3f
#define BLOCK 32                /* query blocks: a row of one fills vectors (attn_rows) */
#define PRIOR_FIRST 4.0f        /* positional prior of the first step, per px^2 */
#define PRIOR_GUIDED 3.0f       /* and of the guided steps */
#define GUIDED_SOFTNESS 30.0f   /* guided steps match loosely: warps, not copies */
#define MAX_SOURCES (2 * 15 + 1 + ATTN_MAX_SLOTS)

struct stab_source {
	const struct attn_yuv8 *frame;  /* keys and values */
	int offset;                     /* frames from t; neighbours only */
	int is_ref;
	long long key;                  /* its motion cache key */
	const attn_motion_frame *mf;    /* its pyramid, from the cache */
	const uint8_t *mask;            /* its coverage, or NULL */
	attn_motion *motion;            /* from t to it, owned */
	float *cx, *cy;                 /* window centres per query, owned */
};

/*
 * Luma patches with their mean removed: structure, which warps move, and
 * not brightness, which flicker changes.
 */
static struct attn_feat flat_feat(const attn_frame *f)
{
	struct attn_feat ft = { .width = f->width, .height = f->height,
				.radius = 1, .n = 1 };

	ft.plane[0] = attn_plane(f, 0);
	ft.weight[0] = 1.0f;
	ft.zero_mean[0] = 1;
	return ft;
}

/* The same of a source's 8-bit planes. */
static struct attn_feat source_feat(const struct stab_source *s)
{
	struct attn_feat ft = { .width = s->frame->width,
				.height = s->frame->height, .radius = 1, .n = 1 };

	ft.plane8[0] = s->frame->plane[0];
	ft.weight[0] = 1.0f;
	ft.zero_mean[0] = 1;
	return ft;
}

static void source_release(struct stab_source *s)
{
	attn_motion_free(s->motion);
	free(s->cx);
	free(s->cy);
	memset(s, 0, sizeof(*s));
}

/*
 * What runs on each source (in the engine's threads, so touching that
 * source alone), with what every source shares.
 */
typedef int (*source_fn)(struct stab_source *s, const void *shared);

struct source_run {
	struct stab_source *src;
	source_fn fn;
	const void *shared;
	int ret[MAX_SOURCES];
};

static void source_task(void *ctx, int i, int worker)
{
	struct source_run *r = ctx;

	(void)worker;
	r->ret[i] = r->fn(&r->src[i], r->shared);
}

/* fn on every source, the sources spread over the engine's threads. */
static int each_source(attn_engine *e, struct stab_source *src, int n, source_fn fn,
		       const void *shared)
{
	struct source_run r = { .src = src, .fn = fn, .shared = shared };

	attn_pool_run(e->pool, n, source_task, &r);
	for (int i = 0; i < n; i++)
		if (r.ret[i] < 0)
			return r.ret[i];
	return 0;
}

/* A pyramid to build from a frame's luma and its mask (or none), into *out. */
struct pyramid_build {
	const struct attn_yuv8 *frame;
	const float *mask;
	attn_motion_frame **out;
	int ret;
};

static void pyramid_task(void *ctx, int i, int worker)
{
	struct pyramid_build *b = (struct pyramid_build *)ctx + i;

	(void)worker;
	b->ret = attn_motion_frame_create8(b->frame->plane[0], b->mask, b->frame->width,
					   b->frame->height, b->out);
}

void attn_motion_cache_release(attn_engine *e)
{
	for (int i = 0; i < ATTN_MOTION_CACHE; i++) {
		attn_motion_frame_free(e->motion[i].mf);
		e->motion[i].mf = NULL;
	}
}

/* Drops the cache's entries no source needs any more. */
static void cache_drop_unused(attn_engine *e, const struct stab_source *src, int n)
{
	struct attn_motion_entry *c = e->motion;

	for (int i = 0; i < ATTN_MOTION_CACHE; i++) {
		int used = 0;

		for (int j = 0; j < n && c[i].mf; j++)
			used |= src[j].key == c[i].key;
		if (c[i].mf && !used) {
			attn_motion_frame_free(c[i].mf);
			c[i].mf = NULL;
		}
	}
}

/*
 * Each source's cache slot: where its pyramid is, or a free one it is to
 * be built into (added to builds, *n of them).
 */
static int cache_slots(attn_engine *e, const struct stab_source *src, int n_src,
		       int *slot, struct pyramid_build *builds, int *n)
{
	struct attn_motion_entry *c = e->motion;
	int taken[ATTN_MOTION_CACHE] = { 0 };

	for (int j = 0; j < n_src; j++) {
		slot[j] = -1;
		for (int i = 0; i < ATTN_MOTION_CACHE && slot[j] < 0; i++)
			if (c[i].mf && c[i].key == src[j].key)
				slot[j] = i;
	}
	for (int j = 0; j < n_src; j++) {
		for (int i = 0; i < ATTN_MOTION_CACHE && slot[j] < 0; i++)
			if (!c[i].mf && !taken[i])
				slot[j] = i;
		if (slot[j] < 0)
			return -ENOSPC;
		if (c[slot[j]].mf)
			continue;
		taken[slot[j]] = 1;
		c[slot[j]].key = src[j].key;
		builds[(*n)++] = (struct pyramid_build){ src[j].frame, NULL, &c[slot[j]].mf, 0 };
	}
	return 0;
}

/*
 * Every source's pyramid, from the cache or built into it, and t's own,
 * which carries its mask, into *t_mf (the caller frees it); the builds
 * spread over the engine's threads.
 */
static int source_pyramids(attn_engine *e, struct stab_source *src, int n_src,
			   const struct attn_yuv8 *t_frame, const float *t_mask,
			   attn_motion_frame **t_mf)
{
	struct pyramid_build builds[MAX_SOURCES + 1];
	int slot[MAX_SOURCES], n = 0, ret;

	cache_drop_unused(e, src, n_src);
	ret = cache_slots(e, src, n_src, slot, builds, &n);
	if (ret < 0)
		return ret;
	builds[n++] = (struct pyramid_build){ t_frame, t_mask, t_mf, 0 };
	attn_pool_run(e->pool, n, pyramid_task, builds);
	for (int i = 0; i < n; i++)
		if (builds[i].ret < 0)
			return builds[i].ret;
	for (int j = 0; j < n_src; j++)
		src[j].mf = e->motion[slot[j]].mf;
	return 0;
}

/* Frame t and its pyramid, as every source's motion starts from them. */
struct motion_from {
	const struct attn_yuv8 *frame;
	const attn_motion_frame *mf;
};

/* Motion from t (shared, a struct motion_from) to the source. */
static int source_motion(struct stab_source *s, const void *shared)
{
	const struct motion_from *t = shared;
	int range = s->is_ref ? REF_RANGE : MOTION_RANGE * abs(s->offset);

	if (s->frame == t->frame)
		return attn_motion_zero(t->frame->width, t->frame->height, MOTION_CELL,
					&s->motion);
	return attn_motion_estimate(t->mf, s->mf, MOTION_CELL, range, &s->motion);
}

/* Every source's motion from t; t's own pyramid carries its mask. */
static int all_motions(attn_engine *e, struct stab_source *src, int n,
		       const struct attn_yuv8 *t_frame, const float *t_mask)
{
	attn_motion_frame *t_mf = NULL;
	int ret = source_pyramids(e, src, n, t_frame, t_mask, &t_mf);
	struct motion_from t = { t_frame, t_mf };

	if (ret >= 0)
		ret = each_source(e, src, n, source_motion, &t);
	attn_motion_frame_free(t_mf);
	return ret;
}

/*
 * The camera moves smoothly; warps and jitter change from frame to frame.
 * Per cell, a line through the neighbours' displacements against their
 * time offsets has at offset 0 the frame's own jitter (zero for a steady
 * frame): taking it out of every field places each window where the steady
 * camera would see the scene point, so t's own warp is not reproduced.
 */
static void remove_jitter(struct stab_source *src, int n)
{
	const attn_motion *g = src[0].motion;

	for (int c = 0; c < g->gw * g->gh; c++) {
		double so = 0, soo = 0, sx = 0, sy = 0, sox = 0, soy = 0, cnt = 0;
		double bx, by, ax, ay, var;

		for (int i = 0; i < n; i++) {
			if (src[i].is_ref)
				continue;
			so += src[i].offset;
			soo += (double)src[i].offset * src[i].offset;
			sx += src[i].motion->dx[c];
			sy += src[i].motion->dy[c];
			sox += src[i].offset * src[i].motion->dx[c];
			soy += src[i].offset * src[i].motion->dy[c];
			cnt++;
		}
		var = cnt * soo - so * so;
		if (cnt < 2 || var <= 0)
			continue;
		bx = (cnt * sox - so * sx) / var;
		by = (cnt * soy - so * sy) / var;
		ax = (sx - bx * so) / cnt;
		ay = (sy - by * so) / cnt;
		for (int i = 0; i < n; i++) {
			src[i].motion->dx[c] -= (float)ax;
			src[i].motion->dy[c] -= (float)ay;
		}
	}
}

/* Each query (of those shared) its window centre in the source. */
static int source_windows(struct stab_source *s, const void *shared)
{
	const attn_queries *q = shared;
	const attn_motion *m = s->motion;

	s->cx = malloc(sizeof(float) * (q->n ? q->n : 1));
	s->cy = malloc(sizeof(float) * (q->n ? q->n : 1));
	if (!s->cx || !s->cy)
		return -ENOMEM;
	for (int i = 0; i < q->n; i++) {
		float dx, dy;

		attn_motion_at(m, (float)q->x[i], (float)q->y[i], &dx, &dy);
		s->cx[i] = (float)q->x[i] + dx;
		s->cy[i] = (float)q->y[i] + dy;
	}
	return 0;
}

/*
 * One step: every query against every source, in one softmax, averaging
 * the first dv planes (1: luma alone, 3: all) into out. sigma2 0 leaves
 * appearance out (the first step is a motion-compensated average).
 */
static int stab_step(attn_engine *e, const attn_frame *query_frame,
		     const attn_queries *q, struct stab_source *src, int n_src,
		     float lambda, float sigma2, int dv, float *out, float *entropy,
		     struct attn_frame_info *info)
{
	struct attn_feat qf = flat_feat(query_frame);
	struct attn_window win[MAX_SOURCES];
	struct attn_job job = {
		.queries = &qf, .q = q, .dv = dv, .windows = win, .n_windows = n_src,
		.out = out, .entropy = entropy,
		.scale = sigma2 > 0.0f ? attn_score_scale(attn_feat_dim(&qf),
							  e->p.temperature, sigma2) : 0.0f,
	};

	for (int i = 0; i < n_src; i++) {
		win[i] = (struct attn_window){
			.keys = source_feat(&src[i]), .mask8 = src[i].mask,
			.cx = src[i].cx, .cy = src[i].cy, .radius = e->p.window,
			.lambda = lambda,
		};
		for (int c = 0; c < dv; c++)
			win[i].value8[c] = src[i].frame->plane[c];
	}
	return attn_attend(e->pool, &job, &info->stats);
}

/* The queries' dv planes of out into result. */
static void scatter_result(const attn_queries *q, const float *out, int dv,
			   attn_frame *result)
{
	size_t n = (size_t)result->width * result->height;

	for (int i = 0; i < q->n; i++) {
		size_t p = (size_t)q->y[i] * result->width + q->x[i];

		for (int c = 0; c < dv; c++)
			result->data[c * n + p] = out[(size_t)i * dv + c];
	}
}

static int collect_sources(int t, const struct attn_yuv8 *const *window, int k,
			   const struct attn_keyframe *refs, int n_refs,
			   struct stab_source *src)
{
	int n = 0;

	for (int j = 0; j <= 2 * k; j++) {
		if (!window[j])
			continue;
		src[n].frame = window[j];
		src[n].mask = window[j]->cover;
		src[n].offset = j - k;
		src[n].key = (long long)t + j - k;
		n++;
	}
	for (int r = 0; r < n_refs && r < ATTN_MAX_SLOTS; r++) {
		src[n].frame = refs[r].edit ? refs[r].edit : refs[r].source;
		src[n].mask = refs[r].source->cover;
		src[n].is_ref = 1;
		src[n].key = -1 - (long long)refs[r].index;
		n++;
	}
	return n;
}

/*
 * result starts as t; each step writes the covered pixels. The first step
 * reads no features; later ones match against the result so far, its luma
 * alone, so every step but the last averages luma alone.
 */
static int run_steps(attn_engine *e, const struct attn_yuv8 *t_frame,
		     const attn_queries *q, struct stab_source *src, int n_src,
		     attn_frame *result, struct attn_frame_info *info)
{
	float *out = malloc(sizeof(float) * (q->n ? q->n : 1) * 3);
	float *ent = malloc(sizeof(float) * (q->n ? q->n : 1));
	int ret = out && ent ? attn_frame_from_yuv8(t_frame, result) : -ENOMEM;
	float sigma2 = GUIDED_SOFTNESS * attn_content_scale(result, 1, NULL);

	for (int step = 0; ret >= 0 && step < e->p.steps; step++) {
		int dv = step == e->p.steps - 1 ? 3 : 1;

		ret = stab_step(e, result, q, src, n_src,
				step ? PRIOR_GUIDED : PRIOR_FIRST, step ? sigma2 : 0.0f,
				dv, out, ent, info);
		if (ret >= 0)
			scatter_result(q, out, dv, result);
	}
	for (int i = 0; ret >= 0 && i < q->n; i++) {
		info->entropy_sum += ent[i];
		if (info->entropy_map)
			info->entropy_map[(size_t)q->y[i] * result->width + q->x[i]] = ent[i];
	}
	if (ret >= 0)
		info->queries += q->n;
	free(out);
	free(ent);
	return ret;
}

int attn_stabilize(attn_engine *e, int t, const struct attn_yuv8 *const *window,
		   const struct attn_keyframe *refs, int n_refs, attn_frame *result,
		   struct attn_frame_info *info)
{
	int k = e->p.temporal, n_src, ret;
	const struct attn_yuv8 *cur = window[k];
	struct stab_source src[MAX_SOURCES] = { 0 };
	attn_queries *q = NULL;
	float *t_mask = NULL;

	if (!cur || k > 15 || result->width != cur->width ||
	    result->height != cur->height || result->planes < 3)
		return -EINVAL;
	attn_entropy_map_clear(info, cur->width, cur->height);
	n_src = collect_sources(t, window, k, refs, n_refs, src);
	ret = attn_cover_floats(cur, &t_mask);
	if (ret >= 0)
		ret = attn_queries_from_mask(t_mask, cur->width, cur->height,
					     EPS_COVER, BLOCK, &q);
	if (ret >= 0)
		ret = all_motions(e, src, n_src, cur, t_mask);
	if (ret >= 0)
		remove_jitter(src, n_src);
	if (ret >= 0)
		ret = each_source(e, src, n_src, source_windows, q);
	if (ret >= 0)
		ret = run_steps(e, cur, q, src, n_src, result, info);
	for (int i = 0; i < n_src; i++)
		source_release(&src[i]);
	attn_queries_free(q);
	free(t_mask);
	return ret;
}
