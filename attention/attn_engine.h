/*
 * attn_engine: the per-job engine. It owns the thread pool and whatever it
 * caches between frames (keyframe pyramids, the previous frame's coarse
 * attention), and runs one frame at a time for either mode.
 *
 * Frames are YUV planes at full resolution (chroma upsampled), 0..1.
 * Everything passed in is borrowed for the call; results are written into
 * the caller's buffers.
 */
#ifndef ATTN_ENGINE_H
#define ATTN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "attention/attn_attend.h"
#include "attention/attn_frame.h"

typedef struct attn_engine attn_engine;

struct attn_params {
	float temperature;      /* > 0: lower copies more rigidly */
	int steps;              /* refinement passes, >= 1 */
	int window;             /* local window radius R, pixels */
	int temporal;           /* stabilize: neighbours t-K..t+K */
	uint64_t seed;          /* key subsampling */
	int threads;            /* >= 1; never changes the result */
};

struct attn_keyframe {
	int index;                          /* frame number in the clip */
	const struct attn_yuv8 *source;     /* the clip's frame there, with its
					     * mask's coverage (NULL: all) */
	const struct attn_yuv8 *edit;       /* the edited look; NULL: the source */
};

struct attn_frame_info {
	double entropy_sum;         /* over the final pass's queries */
	long long queries;
	struct attn_stats stats;    /* over every pass and level */
	float *entropy_map;         /* NULL, or width * height floats the caller
				     * provides (and owns): the final pass's
				     * entropy of each query at its pixel, NaN
				     * at pixels that made no query (outside the
				     * mask) */
};

int attn_engine_create(const struct attn_params *params, attn_engine **out);
void attn_engine_free(attn_engine *e);

/*
 * propagate: frame t (src) from the keyframes around it (1 or 2, sorted by
 * index; their planes must stay valid while they are passed, as the
 * engine keeps what it built from them). mask is t's coverage when the
 * caller knows it (mask video, linear blend); NULL tracks the keyframes'
 * masks. Writes result (YUV floats: the edit carried into the covered
 * area, src elsewhere) and coverage (width * height).
 */
int attn_propagate(attn_engine *e, int t, const struct attn_yuv8 *src,
		   const struct attn_keyframe *keys, int n_keys,
		   const float *mask, attn_frame *result, float *coverage,
		   struct attn_frame_info *info);

/*
 * stabilize: frame t from its neighbours. window holds 2K+1 frames (8-bit,
 * as decoded, each with its mask's coverage), window[K] being t and NULL
 * where the clip ends. refs are the reference keyframes (n_refs may be 0).
 * Writes result (YUV floats): the covered area of t stabilized, t
 * elsewhere.
 */
int attn_stabilize(attn_engine *e, int t, const struct attn_yuv8 *const *window,
		   const struct attn_keyframe *refs, int n_refs, attn_frame *result,
		   struct attn_frame_info *info);

/* Fills info's entropy_map (when it has one) with NaN: no query yet. */
void attn_entropy_map_clear(struct attn_frame_info *info, int width, int height);

/* out = src + weight * mask * (attn - src), n values; mask NULL: 1. */
void attn_blend(const float *src, const float *attn, const float *mask,
		float weight, size_t n, float *out);

#endif
