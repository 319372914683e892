/*
 * pipe_frame: decoded 8-bit YUV frames to and from the engine's float
 * planes, and the blend that writes the engine's result into the clip only
 * where the mask and weight say.
 */
#ifndef PIPE_FRAME_H
#define PIPE_FRAME_H

#include <libavutil/frame.h>

#include "attention/attn_frame.h"

/*
 * frame (YUV420P or YUV444P, 8-bit) into planes (3 * width * height bytes,
 * 4:4:4, no padding) and the view yuv of them: the compact form the
 * engine reads frames it holds in numbers. 0, -EINVAL for another format,
 * -ENOMEM.
 */
int pipe_frame_to_yuv8(const AVFrame *frame, uint8_t *planes,
		       struct attn_yuv8 *yuv);

/*
 * A new frame (owned by the caller, src's format, size and pts):
 *     src + weight * coverage * (result - src)
 * per plane at its own resolution, so where the coverage is 0 the source's
 * samples are kept exactly. coverage may be NULL (everywhere 1).
 */
int pipe_frame_blend(const AVFrame *src, const attn_frame *result,
		     const float *coverage, float weight, AVFrame **out);

#endif
