#include "attention/attn_engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "attention/attn_private.h"

/*
 * Scores are mean squared feature differences over SCALE_UNIT times the
 * content scale (the mean squared difference of neighbouring pixels): at a
 * temperature of 1 a match one pixel off on typical content costs about
 * 1 / SCALE_UNIT. The scale is floored for flat content (one 8-bit level).
 */
#define SCALE_UNIT 0.1f
#define MIN_SIGMA2 (1.0f / (255.0f * 255.0f))

int attn_engine_create(const struct attn_params *params, attn_engine **out)
{
	attn_engine *e;
	int ret;

	if (!(params->temperature > 0.0f) || params->steps < 1 ||
	    params->window < 1 || params->temporal < 0 || params->threads < 1)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->p = *params;
	for (int i = 0; i < ATTN_MAX_SLOTS + 1; i++)
		e->kf[i].index = -1;
	/* our threads each run single-threaded GEMMs: deterministic, no oversubscription */
	openblas_set_num_threads(1);
	ret = attn_pool_create(params->threads, &e->pool);
	if (ret < 0) {
		free(e);
		return ret;
	}
	*out = e;
	return 0;
}

void attn_engine_free(attn_engine *e)
{
	if (!e)
		return;
	for (int i = 0; i < ATTN_MAX_SLOTS + 1; i++)
		attn_kf_release(&e->kf[i]);
	attn_prev_release(&e->prev);
	attn_motion_cache_release(e);
	attn_pool_free(e->pool);
	free(e);
}

int attn_pyramid_build(const attn_frame *src, int levels, struct attn_pyramid *py)
{
	int ret = attn_frame_clone(src, &py->lv[0]);

	py->n = ret < 0 ? 0 : 1;
	while (ret >= 0 && py->n < levels) {
		ret = attn_frame_downsample(py->lv[py->n - 1], 2, &py->lv[py->n]);
		if (ret >= 0)
			py->n++;
	}
	if (ret < 0)
		attn_pyramid_release(py);
	return ret;
}

int attn_pyramid_from_yuv8(const struct attn_yuv8 *src, int levels,
			   struct attn_pyramid *py)
{
	attn_frame *full;
	int ret = attn_frame_create(src->width, src->height, 3, &full);

	if (ret >= 0)
		ret = attn_frame_from_yuv8(src, full);
	if (ret >= 0)
		ret = attn_pyramid_build(full, levels, py);
	attn_frame_free(full);
	if (ret < 0)
		return ret;
	attn_frame_free(py->lv[0]);
	py->lv[0] = NULL;
	py->base = src;
	return 0;
}

void attn_pyramid_release(struct attn_pyramid *py)
{
	for (int i = 0; i < py->n; i++)
		attn_frame_free(py->lv[i]);
	memset(py, 0, sizeof(*py));
}

int attn_pyramid_width(const struct attn_pyramid *py, int level)
{
	return py->lv[level] ? py->lv[level]->width : py->base->width;
}

int attn_pyramid_height(const struct attn_pyramid *py, int level)
{
	return py->lv[level] ? py->lv[level]->height : py->base->height;
}

struct attn_feat attn_pyramid_feat(const struct attn_pyramid *py, int level)
{
	struct attn_feat ft = { .width = attn_pyramid_width(py, level),
				.height = attn_pyramid_height(py, level),
				.radius = 1, .n = 3 };

	for (int c = 0; c < 3; c++) {
		if (py->lv[level])
			ft.plane[c] = attn_plane(py->lv[level], c);
		else
			ft.plane8[c] = py->base->plane[c];
		ft.weight[c] = 1.0f;
	}
	return ft;
}

int attn_pyramid_level(const struct attn_pyramid *py, int level, attn_frame **out)
{
	int ret;

	if (py->lv[level])
		return attn_frame_clone(py->lv[level], out);
	ret = attn_frame_create(py->base->width, py->base->height, 3, out);
	if (ret >= 0)
		ret = attn_frame_from_yuv8(py->base, *out);
	return ret;
}

int attn_levels_for(int width, int height, long tokens)
{
	int n = 1;

	while (n < ATTN_MAX_LEVELS &&
	       (long)((width + (1 << (n - 1)) - 1) >> (n - 1)) *
	       ((height + (1 << (n - 1)) - 1) >> (n - 1)) > tokens)
		n++;
	return n;
}

float attn_score_scale(int d, float temperature, float sigma2)
{
	float s2 = sigma2 > MIN_SIGMA2 ? sigma2 : MIN_SIGMA2;

	return 1.0f / ((float)d * temperature * SCALE_UNIT * s2);
}

void attn_entropy_map_clear(struct attn_frame_info *info, int width, int height)
{
	size_t n = (size_t)width * height;

	for (size_t i = 0; info && info->entropy_map && i < n; i++)
		info->entropy_map[i] = NAN;
}

void attn_blend(const float *src, const float *attn, const float *mask,
		float weight, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++) {
		float g = weight * (mask ? mask[i] : 1.0f);

		out[i] = src[i] + g * (attn[i] - src[i]);
	}
}
