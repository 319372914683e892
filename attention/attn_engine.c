#include "attention/attn_engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

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

void attn_pyramid_release(struct attn_pyramid *py)
{
	for (int i = 0; i < py->n; i++)
		attn_frame_free(py->lv[i]);
	py->n = 0;
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

void attn_blend(const float *src, const float *attn, const float *mask,
		float weight, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++) {
		float g = weight * (mask ? mask[i] : 1.0f);

		out[i] = src[i] + g * (attn[i] - src[i]);
	}
}
