/*
 * attn_attend: masked blocked cross-attention of a set of queries against
 * any number of key sets in one joint softmax.
 *
 * Queries are pixels of a frame, grouped in square blocks. Key sets are
 * dense (every query sees every key: the global masked keyframe keys) or
 * windowed (each query sees the pixels of a reference frame within a
 * radius of its own centre: local spatiotemporal windows). Dense keys run
 * as GEMM tiles (attn_kernel). A block's window keys are gathered as the
 * bounding box of its queries' windows and run a query per vector lane
 * (attn_rows), so no score outside a window is computed. Blocks run in
 * parallel on the pool; each block's result depends only on its inputs,
 * so the output does not depend on the thread count.
 */
#ifndef ATTN_ATTEND_H
#define ATTN_ATTEND_H

#include <stdint.h>

#include "attention/attn_feature.h"
#include "attention/attn_kernel.h"
#include "attention/attn_pool.h"

/* Queries: pixel positions grouped in blocks. Arrays owned by the set. */
typedef struct attn_queries {
	int n;
	int *x, *y;
	int n_blocks;
	int *block;             /* n_blocks + 1 offsets into x, y */
} attn_queries;

/*
 * The pixels where mask > threshold, in blocks of block_size x block_size
 * pixels (raster order inside a block). mask may be NULL: every pixel.
 */
int attn_queries_from_mask(const float *mask, int width, int height,
			   float threshold, int block_size, attn_queries **out);
void attn_queries_free(attn_queries *q);

/* Every query sees every key. All pointers borrowed. */
struct attn_dense {
	const float *k;         /* nk x d features */
	const float *v;         /* nk x dv values, row-major */
	const float *bias;      /* nk score bias (log of mask), or NULL */
	const float *kx, *ky;   /* nk positions for the prior, or NULL */
	const float *cx, *cy;   /* per query prior centres (with kx, ky) */
	const float *qbias;     /* per query bias, or NULL */
	int nk;
	float lambda;
	float bias_all;
};

/*
 * Fills the values of the keys of rect [x0, x1] x [y0, y1] into vt: value c
 * of key (x, y) at vt[(y - y0) * row_stride + c * chan_stride + x - x0].
 */
typedef void (*attn_values_fn)(const void *ctx, int x0, int y0, int x1, int y1,
			       float *vt, size_t row_stride, size_t chan_stride);

/* Each query sees a window of a reference frame. All pointers borrowed. */
struct attn_window {
	struct attn_feat keys;  /* key features; the reference's size */
	const float *value[ATTN_VAL_MAX];  /* dv value planes, reference size */
	const uint8_t *value8[ATTN_VAL_MAX];   /* when set, read instead: 0..255 is 0..1 */
	attn_values_fn values;  /* when set, computes the values instead */
	const void *values_ctx;
	const float *bias;      /* plane of score bias, or NULL */
	const float *mask;      /* or a coverage plane: bias log(mask), none at 0 */
	const uint8_t *mask8;   /* or the same in 8 bits, 0..255 */
	const float *cx, *cy;   /* per query window centre, reference pixels */
	const float *qbias;     /* per query bias, or NULL */
	int radius;
	float lambda;
	float bias_all;
};

struct attn_job {
	const struct attn_feat *queries;
	const attn_queries *q;
	int dv;
	float scale;            /* 1 / (d T sigma^2) */
	const struct attn_dense *dense;
	int n_dense;
	const struct attn_window *windows;
	int n_windows;
	int tile_keys;          /* keys per tile, GEMM or window rectangle; 0:
				 * the defaults (512 and 2048) */
	int gemm_windows;       /* 1: windows run as GEMM tiles too, not a
				 * query per lane (to compare the two) */
	float *out;             /* q->n x dv, written */
	float *entropy;         /* q->n, written; may be NULL */
};

struct attn_stats {
	long long scores;       /* computed */
	long long useful;       /* inside windows and masks */
	double flops;           /* useful work: 2 d per score + 2 dv per score */
};

/* Runs job on pool; adds to *stats when not NULL. 0 or -ENOMEM. */
int attn_attend(attn_pool *pool, const struct attn_job *job,
		struct attn_stats *stats);

#endif
