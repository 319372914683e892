/*
 * mask_map: a coverage map, one float per pixel in 0..1 (1 = attend here,
 * 0 = ignore, between = soft).
 *
 * Coverage of an image is its alpha channel when it has one, else its luma.
 * Maps are resized to the frame (area average when shrinking, bilinear when
 * enlarging, so soft edges stay soft), feathered, and blended between
 * keyframes.
 */
#ifndef MASK_MAP_H
#define MASK_MAP_H

#include "masks/mask_image.h"

typedef struct mask_map {
	int width;
	int height;
	float *cov;             /* width * height, row-major, owned */
} mask_map;

int mask_map_create(int width, int height, mask_map **out);
void mask_map_free(mask_map *map);

/* Coverage of img (alpha, else luma) as a new map owned by the caller. */
int mask_map_from_image(const mask_image *img, mask_map **out);

/* A new map of width x height resampled from src. */
int mask_map_resize(const mask_map *src, int width, int height, mask_map **out);

/*
 * Softens edges in place with a blur of the given radius in pixels (0: no-op):
 * a Gaussian of sigma = radius / 2, edges clamped.
 */
int mask_map_feather(mask_map *map, float radius);

/*
 * out = (1 - t) * a + t * b, all three the same size, t in 0..1; out may
 * alias a or b.
 */
int mask_map_lerp(const mask_map *a, const mask_map *b, float t, mask_map *out);

/* 1 if every value is 0 (nothing to attend to), else 0; -EINVAL on NULL. */
int mask_map_is_empty(const mask_map *map);

#endif
