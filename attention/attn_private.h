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

/* A pyramid: level 0 full size, each next level half of the previous. */
struct attn_pyramid {
	int n;
	attn_frame *lv[ATTN_MAX_LEVELS];    /* owned */
};

/* What propagate keeps of a keyframe while it is in use. */
struct attn_kf_cache {
	int index;                  /* -1: empty */
	int levels;
	struct attn_pyramid src;    /* YUV per level */
	attn_frame *pos[ATTN_MAX_LEVELS];   /* m, m*x, m*y per level */
	attn_frame *val;            /* full size: the edit's values */
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
void attn_pyramid_release(struct attn_pyramid *py);

/* Levels for a frame so the coarsest has at most about `tokens` pixels. */
int attn_levels_for(int width, int height, long tokens);

/* 1 / (d T sigma^2): the score scale for feature dimension d. */
float attn_score_scale(int d, float temperature, float sigma2);

void attn_kf_release(struct attn_kf_cache *kf);
void attn_prev_release(struct attn_prev *prev);

#endif
