/*
 * attn_private: what the engine's files share inside attention/. Not for
 * other modules.
 */
#ifndef ATTN_PRIVATE_H
#define ATTN_PRIVATE_H

#include "attention/attn_engine.h"
#include "attention/attn_pool.h"

#define ATTN_MAX_LEVELS 6
#define ATTN_MAX_SLOTS 2        /* keyframes one frame attends to */

/*
 * A pyramid: level 0 full size, each next level half of the previous.
 * Level 0 is either lv[0] or, to save memory at full size, the 8-bit base
 * (then lv[0] is NULL).
 */
struct attn_pyramid {
	int n;
	attn_frame *lv[ATTN_MAX_LEVELS];    /* owned */
	const struct attn_yuv8 *base;       /* borrowed */
};

/*
 * What propagate keeps of a keyframe while it is in use. The keyframe's
 * own planes are borrowed from the caller (who keeps them while the
 * keyframe is passed) and refreshed on every call.
 */
struct attn_kf_cache {
	int index;                  /* -1: empty */
	int levels;
	struct attn_pyramid src;    /* YUV per level, base: the source */
	struct attn_pyramid mask;   /* coverage per level >= 1 */
	const struct attn_yuv8 *edit;       /* borrowed */
	float *gain;                /* 3 planes, full size: the edit's local gain */
	float sigma2[ATTN_MAX_LEVELS];
	/* the coarsest level's keys, for global masked attention */
	int nk;
	float *k, *kx, *ky, *km;
};

/* The previous frame at the coarsest level (propagate's temporal keys). */
struct attn_prev {
	int valid;
	int key_index[ATTN_MAX_SLOTS];
	int n_keys;
	attn_frame *src;            /* coarse YUV */
	attn_frame *planes;         /* per slot: w, w*x, w*y */
};

/* Frames prepared for motion estimation, kept while stabilize's window needs them. */
#define ATTN_MOTION_CACHE (2 * 15 + 1 + ATTN_MAX_SLOTS)

struct attn_motion_entry {
	long long key;          /* frame index; -1 - index for references */
	struct attn_motion_frame *mf;   /* NULL: empty */
};

struct attn_engine {
	struct attn_params p;
	attn_pool *pool;
	struct attn_kf_cache kf[ATTN_MAX_SLOTS + 1];
	struct attn_prev prev;
	struct attn_motion_entry motion[ATTN_MOTION_CACHE];
};

void attn_motion_cache_release(attn_engine *e);

int attn_pyramid_build(const attn_frame *src, int levels, struct attn_pyramid *py);

/* The same over 8-bit planes, kept as the base (borrowed) of level 0. */
int attn_pyramid_from_yuv8(const struct attn_yuv8 *src, int levels,
			   struct attn_pyramid *py);
void attn_pyramid_release(struct attn_pyramid *py);

int attn_pyramid_width(const struct attn_pyramid *py, int level);
int attn_pyramid_height(const struct attn_pyramid *py, int level);

/* Level l's first three planes as YUV patch features (3x3, equal weights). */
struct attn_feat attn_pyramid_feat(const struct attn_pyramid *py, int level);

/* Level l as a float frame owned by the caller. */
int attn_pyramid_level(const struct attn_pyramid *py, int level, attn_frame **out);

/* Levels for a frame so the coarsest has at most about `tokens` pixels. */
int attn_levels_for(int width, int height, long tokens);

/* 1 / (d T sigma^2): the score scale for feature dimension d. */
float attn_score_scale(int d, float temperature, float sigma2);

void attn_kf_release(struct attn_kf_cache *kf);
void attn_prev_release(struct attn_prev *prev);

#endif
