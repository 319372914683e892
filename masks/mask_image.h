/*
 * mask_image: PNG images read through libpng.
 *
 * Reads every PNG colour type and bit depth (gray 1/2/4/8/16, gray+alpha,
 * RGB 8/16, RGBA 8/16, palette with or without tRNS, interlaced or not) into
 * one layout: interleaved 16-bit samples, 1 to 4 channels. Used for masks
 * and for edited keyframe images alike.
 *
 * Errors are negative errno values; where a message buffer is passed, it
 * receives one line that says what is wrong and what to change.
 */
#ifndef MASK_IMAGE_H
#define MASK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum mask_channels {
	MASK_GRAY = 1,
	MASK_GRAY_ALPHA = 2,
	MASK_RGB = 3,
	MASK_RGBA = 4,
};

struct mask_limits {
	uint32_t max_width;     /* 0: libpng's default limit */
	uint32_t max_height;    /* 0: libpng's default limit */
	uint64_t max_pixels;    /* width x height limit, 0: none */
	size_t max_bytes;       /* decoded size limit, 0: no limit of ours */
};

typedef struct mask_image {
	int width;
	int height;
	int channels;           /* enum mask_channels */
	int bit_depth;          /* of the file: 1, 2, 4, 8 or 16 */
	uint16_t *data;         /* width * height * channels samples, 0..65535, owned */
} mask_image;

/* Allocates a zeroed image (bit_depth 16). Returns 0 or -ENOMEM / -EINVAL. */
int mask_image_create(int width, int height, int channels, mask_image **out);
void mask_image_free(mask_image *img);

/*
 * Reads the PNG file at path. On success *out is a new image owned by the
 * caller. limits may be NULL (libpng's default limits). Fails with -ENOENT
 * (cannot open), -EINVAL (not a PNG, corrupt, truncated), -EFBIG (over a
 * limit) or -ENOMEM. The size is checked before any row is decoded.
 */
int mask_image_load(const char *path, const struct mask_limits *limits,
		    mask_image **out, char *err, size_t errlen);

/* The same from memory (buf is only read). */
int mask_image_load_mem(const uint8_t *buf, size_t len,
			const struct mask_limits *limits, mask_image **out,
			char *err, size_t errlen);

/*
 * Rotates clockwise by degrees (0, 90, 180 or 270) into a new image owned by
 * the caller. Used to bring display-oriented images to a clip's coded
 * orientation.
 */
int mask_image_rotate(const mask_image *img, int degrees, mask_image **out);

/*
 * 1 when an image of iw x ih has the same aspect ratio as a frame of fw x fh,
 * allowing the one-pixel rounding of an export at another size.
 */
int mask_same_aspect(int iw, int ih, int fw, int fh);

#endif
