/*
 * attn_motion: where the content of one frame sits in another, per region.
 *
 * The camera and the scene move; stabilize aligns its temporal neighbours
 * by this field before attending (so attention averages the same scene
 * point across frames instead of copying a warp). Block matching on a
 * luma pyramid: an exhaustive search at the coarsest level, refined level by
 * level, sub-pixel at the finest, with patch means removed so flicker does
 * not move the match. The field is smoothed (median of neighbouring cells),
 * since warps and noise are what stabilize must not follow.
 */
#ifndef ATTN_MOTION_H
#define ATTN_MOTION_H

#include <stdint.h>

typedef struct attn_motion {
	int width, height;      /* frame size */
	int cell;               /* pixels per grid cell */
	int gw, gh;             /* grid size */
	float *dx, *dy;         /* gw * gh displacements, owned */
} attn_motion;

/*
 * A frame prepared for motion estimation: its luma pyramid, and its mask's
 * when given (the mask restricts the matching to the masked content, so a
 * masked sign over moving footage gets its own motion, not the footage's).
 * Built once, used for every pair the frame is in. luma and weight are
 * copied.
 */
typedef struct attn_motion_frame attn_motion_frame;

int attn_motion_frame_create(const float *luma, const float *weight, int width,
			     int height, attn_motion_frame **out);

/* The same from 8-bit luma (0..255). */
int attn_motion_frame_create8(const uint8_t *luma, const float *weight,
			      int width, int height, attn_motion_frame **out);
void attn_motion_frame_free(attn_motion_frame *f);

/*
 * Motion from a to b (same size): content at p in a is at p + d in b.
 * cell is the grid pitch in pixels; range the largest displacement
 * searched. With a's mask, cells it does not touch are not matched (their
 * motion is their neighbours').
 */
int attn_motion_estimate(const attn_motion_frame *a, const attn_motion_frame *b,
			 int cell, int range, attn_motion **out);

/* A zero field. */
int attn_motion_zero(int width, int height, int cell, attn_motion **out);

void attn_motion_free(attn_motion *m);

/* The displacement at pixel (x, y), bilinear between cell centres. */
void attn_motion_at(const attn_motion *m, float x, float y, float *dx, float *dy);

#endif
