/*
 * mask_schedule: which keyframe masks govern a frame, and how much of each.
 */
#include "masks/mask_schedule.h"

#include <errno.h>

/* 1 when anchors are sorted by frame with no frame twice. */
static int anchors_sorted(const struct mask_anchor *anchors, size_t count)
{
	size_t i;

	for (i = 1; i < count; i++) {
		if (anchors[i].frame <= anchors[i - 1].frame)
			return 0;
	}
	return 1;
}

/* Index of the last anchor at or before frame, or 0 before the first. */
static size_t governing_anchor(const struct mask_anchor *anchors, size_t count,
			       int frame)
{
	size_t i = 0;

	while (i + 1 < count && anchors[i + 1].frame <= frame)
		i++;
	return i;
}

int mask_schedule_span(const struct mask_anchor *anchors, size_t count,
		       int frame, struct mask_span *out)
{
	const struct mask_anchor *prev, *next;
	size_t i;

	if (!out || (count && !anchors) || !anchors_sorted(anchors, count))
		return -EINVAL;
	out->prev = -1;
	out->next = -1;
	out->t = 0;
	if (!count)
		return 0;
	i = governing_anchor(anchors, count, frame);
	out->prev = (int)i;
	if (i + 1 == count || frame < anchors[i].frame)
		return 0;
	prev = &anchors[i];
	next = &anchors[i + 1];
	out->next = (int)i + 1;
	out->t = (float)(((double)frame - prev->frame) /
			 ((double)next->frame - prev->frame));
	return 0;
}

float mask_schedule_weight(const struct mask_anchor *anchors,
			   const struct mask_span *span)
{
	float w;

	if (!anchors || !span || span->prev < 0)
		return 0;
	w = anchors[span->prev].weight;
	if (span->next < 0)
		return w;
	return (1 - span->t) * w + span->t * anchors[span->next].weight;
}
