/*
 * attn_track: a mask carried along the motion of what it covers, from the
 * frame it was given on (its anchor) through the frames after it.
 *
 * Each frame's motion from the one before moves a grid of positions that
 * say where every pixel of the current frame was in the anchor; the
 * anchor's mask is sampled there once. So the mask keeps its edges however
 * long it is carried (a chain of masks resampled frame after frame blurs
 * and spreads), and what comes into view from outside the anchor frame is
 * not covered.
 */
#ifndef ATTN_TRACK_H
#define ATTN_TRACK_H

#include <stdint.h>

#include "attention/attn_frame.h"

typedef struct attn_track attn_track;

/*
 * Starts at anchor, whose coverage (anchor->cover, required) is copied.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int attn_track_create(const struct attn_yuv8 *anchor, attn_track **out);
void attn_track_free(attn_track *tr);

/*
 * One frame on: from is the frame last tracked (the anchor or the previous
 * call's `to`, with the coverage that call wrote as from->cover), to the
 * next one. Writes to's coverage into out (width * height).
 */
int attn_track_next(attn_track *tr, const struct attn_yuv8 *from,
		    const struct attn_yuv8 *to, uint8_t *out);

#endif
