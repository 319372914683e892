/*
 * mask_schedule: masks given at keyframes, and which of them govern a frame.
 *
 * Each anchor is a mask at one frame with its weight. For a frame t the
 * schedule names the anchor at or before t and the one after it, and the
 * blend factor between them: the engine either blends the two linearly
 * ("linear") or carries each along by tracking and blends the results
 * ("track"). Before the first anchor only the first governs; after the last,
 * only the last.
 */
#ifndef MASK_SCHEDULE_H
#define MASK_SCHEDULE_H

#include <stddef.h>

struct mask_anchor {
	int frame;
	float weight;           /* cross-attention weight of this mask, 0..1 */
};

struct mask_span {
	int prev;               /* index into the anchors, or -1 */
	int next;               /* index into the anchors, or -1 */
	float t;                /* 0 = all prev, 1 = all next */
};

/*
 * Anchors must be sorted by frame with no frame twice (-EINVAL otherwise).
 * With no anchors both indices are -1. When one anchor alone governs
 * (before the first, at or after the last) it is prev, with next = -1 and
 * t = 0; between two anchors t is in [0, 1), 0 exactly at prev.
 */
int mask_schedule_span(const struct mask_anchor *anchors, size_t count,
		       int frame, struct mask_span *out);

/* The weight at frame, blended like the masks; 0 when span names no anchor. */
float mask_schedule_weight(const struct mask_anchor *anchors,
			   const struct mask_span *span);

#endif
