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
 * *out is a new frame owned by the caller, in pix_fmt at info's coded size,
 * coded in info's matrix and range (unspecified: BT.601, limited). Alpha is
 * ignored. -EINVAL when the aspect ratio differs, with a message naming
 * both sizes as the user sees them ("the image is 800x800 but the clip is
 * 972x540; ..."): the caller prefixes the image's name.
 */
int pipe_image_to_frame(const mask_image *img, const struct pipe_video_info *info,
			enum AVPixelFormat pix_fmt, AVFrame **out, char *err,
			size_t errlen);

#endif
