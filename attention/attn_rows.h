/*
 * attn_rows: windowed attention with one query per vector lane.
 *
 * Neighbouring queries of one pixel row whose windows sit at about the same
 * offset from them (the usual case: window centres follow a smooth motion
 * field) see their keys at neighbouring pixels too: for the queries at
 * x .. x+15 of row y and window offset (u, v), the keys are the pixels
 * x+ox+u .. x+ox+u+15 of row y+oy+v. So a vector holds sixteen queries'
 * scores for one offset: the dot product is d multiply-adds of contiguous
 * loads, and the online softmax (running max, sum, entropy sum, value
 * accumulator) runs lane by lane. Offsets a pixel or so apart share a
 * segment: its vectors cover the union of the windows and each lane takes
 * the keys of its own. A row with too few such queries (a thin mask, scattered
 * centres) runs each query alone instead: its window row by row across the
 * lanes, the keys inside it compacted before the softmax. With scale 0 the
 * exps of a segment's scores factor (mask term, prior across, prior down)
 * and are taken per key, column and row rather than per score.
 *
 * Scores are those of attn_kernel:
 *     s_ij = scale * (2 q_i.k_j - |k_j|^2) + bias_j + qbias_i + tile_bias
 *            - lambda * |pos_j - c_i|^2
 * over the keys j with |pos_j - round(c_i)| <= radius on both axes that
 * lie in the rectangle given. A window reaching past the rectangle is cut
 * there: keys outside it are left out, so a window spread over several
 * rectangles (bands of rows, say) folds each part once into the same
 * state.
 */
#ifndef ATTN_ROWS_H
#define ATTN_ROWS_H

#include "attention/attn_kernel.h"

/*
 * A rectangle of keys: the pixels [x0, x0 + w) x [y0, y0 + h) of the keys'
 * frame, each row's values together, pitch floats from one run of w keys
 * to the next, and each feature of a row's keys a run too, kt_row floats
 * from that of the next row and kt_off[c] from the row's start:
 *     feature c of key (x, y): kt[(y - y0) * kt_row + kt_off[c] + x - x0]
 *     its term:                 kterm[(y - y0) * pitch + x - x0]
 *     value c:                  vt[((y - y0) * dv + c) * pitch + x - x0]
 * (kterm = -scale |k|^2 + bias, ATTN_NEG for a key left out). Features
 * laid out a row's together have kt_row = d * pitch and kt_off[c] =
 * c * pitch; patches of one plane may instead be views of it, each
 * feature a shift. Borrowed arrays, readable ATTN_LANES floats before
 * each run's first key and after its last (pitch >= w + ATTN_LANES), where
 * any finite value may stand.
 */
struct attn_rect {
	int x0, y0, w, h;
	int pitch;
	const float *kt;
	int kt_row;
	const int *kt_off;      /* d offsets */
	const float *kterm;
	const float *vt;
};

/*
 * Queries and their windows. Borrowed arrays, nq long, but qt: the features
 * of a rectangle of query pixels at (qx0, qy0) holding every query, laid
 * out as a rectangle's keys (feature c of pixel (x, y) at
 * qt[((y - qy0) * d + c) * q_pitch + x - qx0]), readable ATTN_LANES floats
 * past each run.
 */
struct attn_rows {
	const float *qt;
	int q_pitch, qx0, qy0;
	const int *qx, *qy;     /* each query's pixel, in raster order */
	const float *cx, *cy;   /* its window centre, in the keys' frame */
	const float *qbias;     /* per query score bias, or NULL */
	int nq, d, dv;
	float scale;            /* 0: appearance left out (kt, qt not read) */
	float tile_bias;
	float lambda;           /* positional prior, per px^2 */
	int radius;
	float *work;            /* ATTN_ROWS_WORK floats of scratch */
	int *keys;              /* ATTN_ROWS_CHUNK ints of scratch */
};

/* Window offsets scored before they are folded into the softmax. */
#define ATTN_ROWS_CHUNK 128

/* Floats a chunk's scores (or values of one channel) take, with a vector more. */
#define ATTN_ROWS_SPAN (ATTN_LANES * (ATTN_ROWS_CHUNK + 1))

/* Floats of scratch attn_rows_update needs: scores and values. */
#define ATTN_ROWS_WORK (ATTN_ROWS_SPAN * (1 + ATTN_VAL_MAX))

/*
 * Folds the keys of rect inside each query's window into st (st->nq ==
 * rows->nq, st->dv == rows->dv). Returns the scores that fell inside a
 * window and the rectangle and were not left out (the useful ones);
 * *computed (may be NULL) gets how many lanes were computed.
 */
long attn_rows_update(const struct attn_rows *rows, const struct attn_rect *rect,
		      struct attn_state *st, long *computed);

#endif
