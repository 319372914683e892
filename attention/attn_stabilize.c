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

/* Motion from t to the source. */
static int source_motion(struct stab_source *s, const attn_motion_frame *t_mf,
			 const struct attn_yuv8 *t_frame)
{
	int range = s->is_ref ? REF_RANGE : MOTION_RANGE * abs(s->offset);

	if (s->frame == t_frame)
		return attn_motion_zero(t_frame->width, t_frame->height, MOTION_CELL,
					&s->motion);
	return attn_motion_estimate(t_mf, s->mf, MOTION_CELL, range, &s->motion);
}

void attn_motion_cache_release(attn_engine *e)
{
	for (int i = 0; i < ATTN_MOTION_CACHE; i++) {
		attn_motion_frame_free(e->motion[i].mf);
		e->motion[i].mf = NULL;
	}
}

/*
 * Every source's pyramid from the cache, built where missing; entries no
 * source needs any more are dropped first.
 */
static int cache_sources(attn_engine *e, struct stab_source *src, int n)
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
	for (int j = 0; j < n; j++) {
		int free_slot = -1, ret;

		for (int i = 0; i < ATTN_MOTION_CACHE && !src[j].mf; i++) {
			if (c[i].mf && c[i].key == src[j].key)
				src[j].mf = c[i].mf;
			else if (!c[i].mf && free_slot < 0)
				free_slot = i;
		}
		if (src[j].mf)
			continue;
		if (free_slot < 0)
			return -ENOSPC;
		ret = attn_motion_frame_create8(src[j].frame->plane[0], NULL,
						src[j].frame->width,
						src[j].frame->height,
						&c[free_slot].mf);
		if (ret < 0)
			return ret;
		c[free_slot].key = src[j].key;
		src[j].mf = c[free_slot].mf;
	}
	return 0;
}

struct motion_run {
	struct stab_source *src;
	const attn_motion_frame *t_mf;
	const struct attn_yuv8 *t_frame;
	int *ret;
};

static void motion_task(void *ctx, int i, int worker)
{
	struct motion_run *r = ctx;

	(void)worker;
	r->ret[i] = source_motion(&r->src[i], r->t_mf, r->t_frame);
}

/*
 * Every source's motion from t, the sources spread over the engine's
 * threads; t's own pyramid carries its mask.
 */
static int all_motions(attn_engine *e, struct stab_source *src, int n,
		       const struct attn_yuv8 *t_frame, const float *t_mask)
{
	int ret[MAX_SOURCES] = { 0 };
	attn_motion_frame *t_mf;
	struct motion_run r = { src, NULL, t_frame, ret };
	int err = cache_sources(e, src, n);

	if (err >= 0)
		err = attn_motion_frame_create8(t_frame->plane[0], t_mask,
						t_frame->width, t_frame->height,
						&t_mf);
	if (err < 0)
		return err;
	r.t_mf = t_mf;
	attn_pool_run(e->pool, n, motion_task, &r);
	attn_motion_frame_free(t_mf);
	for (int i = 0; i < n; i++)
		if (ret[i] < 0)
			return ret[i];
	return 0;
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

/* Each query's window centre in the source. */
static int source_windows(struct stab_source *s, const attn_queries *q)
{
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
 * One step: every query against every source, in one softmax. sigma2 0
 * leaves appearance out (the first step is a motion-compensated average).
 */
static int stab_step(attn_engine *e, const attn_frame *query_frame,
		     const attn_queries *q, struct stab_source *src, int n_src,
		     float lambda, float sigma2, float *out, float *entropy,
		     struct attn_frame_info *info)
{
	struct attn_feat qf = flat_feat(query_frame);
	struct attn_window win[MAX_SOURCES];
	struct attn_job job = {
		.queries = &qf, .q = q, .dv = 3, .windows = win, .n_windows = n_src,
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
		for (int c = 0; c < 3; c++)
			win[i].value8[c] = src[i].frame->plane[c];
	}
	return attn_attend(e->pool, &job, &info->stats);
}

static void scatter_result(const attn_queries *q, const float *out,
			   attn_frame *result)
{
	size_t n = (size_t)result->width * result->height;

	for (int i = 0; i < q->n; i++) {
		size_t p = (size_t)q->y[i] * result->width + q->x[i];

		for (int c = 0; c < 3; c++)
			result->data[c * n + p] = out[(size_t)i * 3 + c];
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
 * reads no features; later ones match against the result so far.
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
		ret = stab_step(e, result, q, src, n_src,
				step ? PRIOR_GUIDED : PRIOR_FIRST, step ? sigma2 : 0.0f,
				out, ent, info);
		if (ret >= 0)
			scatter_result(q, out, result);
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
	for (int i = 0; ret >= 0 && i < n_src; i++)
		ret = source_windows(&src[i], q);
	if (ret >= 0)
		ret = run_steps(e, cur, q, src, n_src, result, info);
	for (int i = 0; i < n_src; i++)
		source_release(&src[i]);
	attn_queries_free(q);
	free(t_mask);
	return ret;
}
