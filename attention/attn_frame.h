/*
 * attn_frame: a planar float image, the engine's view of a frame.
 *
 * Planes are contiguous, width * height floats each, values nominally 0..1
 * (Y, U, V for video frames; any channels for value or guide planes).
 */
#ifndef ATTN_FRAME_H
#define ATTN_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct attn_frame {
	int width;
	int height;
	int planes;
	float *data;            /* planes * width * height floats, owned */
} attn_frame;

/*
 * A decoded frame as 8-bit planes, three of width * height samples (YUV
 * 4:4:4, no row padding), and its mask's coverage (0..255, NULL: all
 * covered). Four times smaller than an attn_frame: the frames a job holds
 * at once (stabilize's window) are kept this way and read as they are.
 * Planes are borrowed.
 */
struct attn_yuv8 {
	int width;
	int height;
	const uint8_t *plane[3];
	const uint8_t *cover;
};

/* A zeroed frame. Returns 0, -EINVAL or -ENOMEM. */
int attn_frame_create(int width, int height, int planes, attn_frame **out);
void attn_frame_free(attn_frame *frame);

static inline float *attn_plane(const attn_frame *frame, int plane)
{
	return frame->data + (size_t)plane * frame->width * frame->height;
}

/* frame's samples as floats 0..1 into out (3 planes, the same size). */
int attn_frame_from_yuv8(const struct attn_yuv8 *frame, attn_frame *out);

/*
 * frame's coverage as floats 0..1 into a new plane the caller frees; *out
 * is NULL when the frame has none (everything covered).
 */
int attn_cover_floats(const struct attn_yuv8 *frame, float **out);

/* A copy owned by the caller. */
int attn_frame_clone(const attn_frame *src, attn_frame **out);

/*
 * Box-average downsampling by factor (>= 1) into a new frame of
 * ceil(width / factor) x ceil(height / factor); edge cells average what
 * they cover.
 */
int attn_frame_downsample(const attn_frame *src, int factor, attn_frame **out);

/*
 * Where a bilinear sample of a width x height plane at (x, y) (pixel-centre
 * coordinates, clamped) reads: rows r0 and r1 (offsets), columns x0 and x1,
 * and the weights of the second of each, ax across and ay down. Planes of
 * one size share them.
 */
struct attn_taps {
	size_t r0, r1;
	int x0, x1;
	float ax, ay;
};

void attn_taps_at(int width, int height, float x, float y, struct attn_taps *t);

/* The sample of plane at the taps t. */
static inline float attn_taps_sample(const float *plane, const struct attn_taps *t)
{
	const float *r0 = plane + t->r0, *r1 = plane + t->r1;
	float top = r0[t->x0] + t->ax * (r0[t->x1] - r0[t->x0]);
	float bot = r1[t->x0] + t->ax * (r1[t->x1] - r1[t->x0]);

	return top + t->ay * (bot - top);
}

/* Bilinear sample of plane at (x, y) in pixel-centre coordinates, clamped. */
float attn_sample(const float *plane, int width, int height, float x, float y);

/* out = max of plane over the (2r+1)^2 square around each pixel. */
int attn_dilate(const float *plane, int width, int height, int r, float *out);

/*
 * Mean squared difference between horizontally and vertically adjacent
 * pixels over the first `planes` planes, where weight > 0.5 (NULL: all):
 * the content scale that makes a temperature mean the same on any clip
 * (how much a match one pixel off differs).
 */
float attn_content_scale(const attn_frame *frame, int planes, const float *weight);

#endif
