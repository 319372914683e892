/*
 * pipe_image: an edited keyframe image (RGB or gray, 8 or 16 bit, from
 * masks/mask_image) brought into a clip's frame format: rotated to the
 * coded orientation, resized to the frame (same aspect ratio required),
 * converted to the clip's YUV matrix and range.
 */
#ifndef PIPE_IMAGE_H
#define PIPE_IMAGE_H

#include <stddef.h>

#include <libavutil/frame.h>

#include "masks/mask_image.h"
#include "pipeline/pipe_reader.h"

/*
 * *out is a new frame owned by the caller, in pix_fmt at info's coded size.
 * -EINVAL with a message naming both sizes when the aspect ratio differs.
 */
int pipe_image_to_frame(const mask_image *img, const struct pipe_video_info *info,
			enum AVPixelFormat pix_fmt, AVFrame **out, char *err,
			size_t errlen);

#endif
