/*
 * pipe_heatmap: videos made of one plane per frame, alongside a job's
 * output, with the same frame count, timestamps, size and orientation
 * (H.264 4:2:0 in MP4 through pipe_writer and an encoder thread of its
 * own; no audio):
 *
 * - PIPE_HEAT_ENTROPY, the attention map: each pixel's attention entropy
 *   (the final pass's, see attn_frame_info.entropy_map) as the colour of
 *   the inferno map (matplotlib's, 11 stops, linear between them) at
 *   entropy / scale, clipped to 0..1 (black: a sure match, pale yellow: an
 *   even spread); pixels without a query (outside the mask) dark gray
 *   (PIPE_HEAT_OUTSIDE); the mask's outline (coverage crossing 0.5) white.
 * - PIPE_HEAT_COVERAGE, the mask as the engine used it: coverage 0..1 as
 *   gray 0..255.
 */
#ifndef PIPE_HEATMAP_H
#define PIPE_HEATMAP_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/pipe_reader.h"

/* The gray of pixels that made no query. */
#define PIPE_HEAT_OUTSIDE 48

enum pipe_heat_kind {
	PIPE_HEAT_ENTROPY,
	PIPE_HEAT_COVERAGE,
};

typedef struct pipe_heatmap pipe_heatmap;

/*
 * Opens path (written as path.part, renamed by pipe_heatmap_finish) for
 * frames shaped like info (borrowed for the call; its audio is left out).
 * scale is the entropy drawn at the top of the colour map (> 0; ignored for
 * coverage). 0 or a negative errno with a message in err.
 */
int pipe_heatmap_open(const char *path, const struct pipe_video_info *info,
		      enum pipe_heat_kind kind, float scale, pipe_heatmap **out,
		      char *err, size_t errlen);

/*
 * Queues one frame (pts in info's time base): for entropy, plane is the
 * entropy map (NaN: no query) and cover the coverage (NULL: the whole frame,
 * no outline); for coverage, plane is the coverage (NULL: all covered) and
 * cover is unused. Both borrowed for the call, width * height floats.
 */
int pipe_heatmap_frame(pipe_heatmap *h, const float *plane, const float *cover,
		       int64_t pts, char *err, size_t errlen);

/* Writes what is queued and finishes the file. */
int pipe_heatmap_finish(pipe_heatmap *h, char *err, size_t errlen);

/* Frees; an unfinished file is removed. NULL is fine. */
void pipe_heatmap_free(pipe_heatmap *h);

/* The colour map: rgb of v in 0..1 (clipped). */
void pipe_heatmap_colour(float v, uint8_t rgb[3]);

#endif
