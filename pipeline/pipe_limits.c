#include "pipeline/pipe_limits.h"

#include <errno.h>
#include <inttypes.h>

#include <libavutil/imgutils.h>

#include "pipeline/pipe_util.h"

/* 16-bit RGBA, the widest sample a PNG decodes to. */
#define PIPE_IMAGE_MAX_BYTES_PER_PIXEL 8

const struct pipe_limits pipe_limits_default = {
	.max_width = 8192,
	.max_height = 8192,
	.max_pixels = 8192 * 4320,
	.max_frames = 216000,
	.max_duration = 3600,
	.max_decoded = 1ULL << 40,
};

int pipe_limits_check_size(const struct pipe_limits *lim, const char *what,
			   int width, int height, char *err, size_t errlen)
{
	if ((lim->max_width && width > lim->max_width) ||
	    (lim->max_height && height > lim->max_height)) {
		pipe_errf(err, errlen, "%s: %dx%d is over the limit of %dx%d; "
			  "scale it down", what, width, height,
			  lim->max_width ? lim->max_width : width,
			  lim->max_height ? lim->max_height : height);
		return -EFBIG;
	}
	if (lim->max_pixels && (int64_t)width * height > lim->max_pixels) {
		pipe_errf(err, errlen, "%s: %dx%d is over the limit of %" PRId64
			  " pixels a frame; scale it down", what, width, height,
			  lim->max_pixels);
		return -EFBIG;
	}
	return 0;
}

int pipe_limits_check_clip(const struct pipe_limits *lim, const char *what,
			   int width, int height, enum AVPixelFormat pix_fmt,
			   int64_t frames, double duration, char *err,
			   size_t errlen)
{
	int frame_bytes = av_image_get_buffer_size(pix_fmt, width, height, 1);

	if (lim->max_frames && frames > lim->max_frames) {
		pipe_errf(err, errlen, "%s: %" PRId64 " frames is over the limit of %"
			  PRId64 "; trim the clip", what, frames, lim->max_frames);
		return -EFBIG;
	}
	if (lim->max_duration && duration > lim->max_duration) {
		pipe_errf(err, errlen, "%s: %.0f seconds is over the limit of %.0f; "
			  "trim the clip", what, duration, lim->max_duration);
		return -EFBIG;
	}
	if (lim->max_decoded && frame_bytes > 0 &&
	    (uint64_t)frames > lim->max_decoded / (uint64_t)frame_bytes) {
		pipe_errf(err, errlen, "%s: %" PRId64 " frames of %dx%d decode to "
			  "more than the limit of %" PRIu64 " bytes; trim or scale "
			  "the clip", what, frames, width, height, lim->max_decoded);
		return -EFBIG;
	}
	return 0;
}

void pipe_limits_for_images(const struct pipe_limits *lim, struct mask_limits *out)
{
	if (!lim) {
		*out = (struct mask_limits){ 0 };
		return;
	}
	out->max_width = (uint32_t)lim->max_width;
	out->max_height = (uint32_t)lim->max_height;
	out->max_pixels = lim->max_pixels > 0 ? (uint64_t)lim->max_pixels : 0;
	out->max_bytes = lim->max_pixels ?
		(size_t)lim->max_pixels * PIPE_IMAGE_MAX_BYTES_PER_PIXEL : 0;
}
