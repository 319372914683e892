/*
 * pipe_scale: a frame converted to another pixel format and size with
 * swscale, without a colour change of its own making.
 *
 * The source is read in the matrix and range it is tagged with and written
 * in the matrix and range dst is tagged with. The pipeline tags dst like the
 * source for a YUV source (so only chroma sampling, bit depth and size
 * change) and uses it to choose the YUV coding of RGB and gray sources.
 * Untagged matrices are BT.601 (swscale's default), untagged ranges limited.
 */
#ifndef PIPE_SCALE_H
#define PIPE_SCALE_H

#include <libavutil/frame.h>

struct SwsContext;

/*
 * Converts src into dst. dst->format, width, height, colorspace and
 * color_range say what to produce; when dst has no buffer yet one is
 * allocated. *sws is a context cached between calls (NULL at first, freed
 * by the caller with sws_freeContext). interp is the scaler (SWS_BICUBIC,
 * SWS_AREA, ...); the exact-rounding, bit-exact flags are added here so the
 * output does not depend on the CPU.
 */
int pipe_scale(struct SwsContext **sws, const AVFrame *src, AVFrame *dst,
	       int interp);

/* 1 for the RGB pixel formats (packed or planar, any depth). */
int pipe_rgb_format(enum AVPixelFormat fmt);

/* 1 when samples of fmt tagged range are full range: RGB, yuvj, JPEG range. */
int pipe_full_range(enum AVPixelFormat fmt, enum AVColorRange range);

#endif
