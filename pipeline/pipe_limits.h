/*
 * pipe_limits: how large a job's media may be, checked from headers before
 * anything is decoded in full, so a small file that decodes to something
 * huge (a decompression bomb) is refused instead of filling memory.
 */
#ifndef PIPE_LIMITS_H
#define PIPE_LIMITS_H

#include <stdint.h>

#include <libavutil/pixfmt.h>

#include "masks/mask_image.h"

/* Each field 0: no limit. */
struct pipe_limits {
	int max_width;              /* of a frame or image */
	int max_height;
	int64_t max_pixels;         /* of one frame or image */
	int64_t max_frames;         /* of a clip */
	double max_duration;        /* seconds of a clip */
	uint64_t max_decoded;       /* bytes of all a clip's frames, decoded */
};

/* The defaults of the service and the CLI: 8192x8192, 8192x4320 pixels,
 * 216000 frames, an hour, 1 TiB decoded. */
extern const struct pipe_limits pipe_limits_default;

/*
 * Checks a picture's size: -EFBIG with a message naming what and the limit
 * ("clip.mp4: 16384x16384 is over the limit of 8192x8192 ...").
 */
int pipe_limits_check_size(const struct pipe_limits *lim, const char *what,
			   int width, int height, char *err, size_t errlen);

/*
 * Checks a clip: frames (0 when unknown), duration in seconds (0 when
 * unknown) and the bytes its frames decode to in pix_fmt. -EFBIG with a
 * message.
 */
int pipe_limits_check_clip(const struct pipe_limits *lim, const char *what,
			   int width, int height, enum AVPixelFormat pix_fmt,
			   int64_t frames, double duration, char *err,
			   size_t errlen);

/*
 * The same limits in the terms of masks/mask_image, for PNG masks and
 * keyframes (lim NULL: libpng's own limits only).
 */
void pipe_limits_for_images(const struct pipe_limits *lim, struct mask_limits *out);

#endif
