#include "pipeline/pipe_frame.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixdesc.h>

/* Chroma subsampling shifts of frame's format (0 for 4:4:4, 1 for 4:2:0). */
static void chroma_shift(const AVFrame *frame, int *sx, int *sy)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(frame->format);

	*sx = d ? d->log2_chroma_w : 0;
	*sy = d ? d->log2_chroma_h : 0;
}

static int supported(const AVFrame *frame)
{
	return frame->format == AV_PIX_FMT_YUV420P ||
	       frame->format == AV_PIX_FMT_YUV444P;
}

/* Plane c of frame as floats at the luma size, sampled at pixel centres. */
/* Sample (x, y) of plane c, clamped to the plane. */
static int chroma_at(const AVFrame *frame, int c, int cw, int ch, int x, int y)
{
	x = x < 0 ? 0 : x >= cw ? cw - 1 : x;
	y = y < 0 ? 0 : y >= ch ? ch - 1 : y;
	return frame->data[c][(size_t)y * frame->linesize[c] + x];
}

/*
 * Plane c at the luma size into dst: copied, or for subsampled chroma
 * bilinear from the samples, each at the centre of the luma pixels it
 * covers (x reads it at (x + 0.5) / 2 - 0.5).
 */
static void plane_to_yuv8(const AVFrame *frame, int c, int sx, int sy, uint8_t *dst)
{
	int w = frame->width, h = frame->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);

	for (int y = 0; y < h; y++) {
		float fy = (y + 0.5f) / (1 << sy) - 0.5f;
		int y0 = (int)floorf(fy);
		float ay = fy - y0;

		for (int x = 0; x < w; x++) {
			float fx = (x + 0.5f) / (1 << sx) - 0.5f;
			int x0 = (int)floorf(fx);
			float ax = fx - x0;
			float top = chroma_at(frame, c, cw, ch, x0, y0) * (1 - ax) +
				    chroma_at(frame, c, cw, ch, x0 + 1, y0) * ax;
			float bot = chroma_at(frame, c, cw, ch, x0, y0 + 1) * (1 - ax) +
				    chroma_at(frame, c, cw, ch, x0 + 1, y0 + 1) * ax;

			dst[(size_t)y * w + x] = (uint8_t)lrintf(top + ay * (bot - top));
		}
	}
}

int pipe_frame_to_yuv8(const AVFrame *frame, uint8_t *planes,
		       struct attn_yuv8 *yuv)
{
	int w = frame->width, h = frame->height, sx, sy;
	size_t n = (size_t)w * h;

	if (!supported(frame))
		return -EINVAL;
	chroma_shift(frame, &sx, &sy);
	for (int c = 0; c < 3; c++) {
		uint8_t *dst = planes + (size_t)c * n;

		if (c && (sx || sy))
			plane_to_yuv8(frame, c, sx, sy, dst);
		else
			for (int y = 0; y < h; y++)
				memcpy(dst + (size_t)y * w,
				       frame->data[c] + (size_t)y * frame->linesize[c], w);
		yuv->plane[c] = dst;
	}
	yuv->width = w;
	yuv->height = h;
	yuv->cover = NULL;
	return 0;
}

/* Mean of v over the luma pixels a chroma sample (cx, cy) covers. */
static float cell_mean(const float *v, int w, int h, int sx, int sy, int cx, int cy)
{
	int x0 = cx << sx, y0 = cy << sy;
	int x1 = (x0 + (1 << sx)) < w ? x0 + (1 << sx) : w;
	int y1 = (y0 + (1 << sy)) < h ? y0 + (1 << sy) : h;
	float s = 0.0f;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			s += v[(size_t)y * w + x];
	return s / (float)((x1 - x0) * (y1 - y0));
}

static uint8_t quantize(float v)
{
	int q = (int)lrintf(v * 255.0f);

	return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

static void blend_plane(const AVFrame *src, AVFrame *dst, int c, int sx, int sy,
			const attn_frame *result, const float *coverage, float weight)
{
	int w = src->width, h = src->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);
	const float *res = attn_plane(result, c);

	for (int y = 0; y < ch; y++) {
		const uint8_t *s = src->data[c] + (size_t)y * src->linesize[c];
		uint8_t *d = dst->data[c] + (size_t)y * dst->linesize[c];

		for (int x = 0; x < cw; x++) {
			float g = weight * (coverage ?
				cell_mean(coverage, w, h, sx, sy, x, y) : 1.0f);
			float r;

			if (g <= 0.0f) {
				d[x] = s[x];
				continue;
			}
			r = cell_mean(res, w, h, sx, sy, x, y);
			d[x] = quantize(s[x] / 255.0f + g * (r - s[x] / 255.0f));
		}
	}
}

int pipe_frame_blend(const AVFrame *src, const attn_frame *result,
		     const float *coverage, float weight, AVFrame **out)
{
	AVFrame *dst;
	int sx, sy, ret;

	if (!supported(src) || result->width != src->width ||
	    result->height != src->height || result->planes < 3)
		return -EINVAL;
	dst = av_frame_alloc();
	if (!dst)
		return -ENOMEM;
	dst->format = src->format;
	dst->width = src->width;
	dst->height = src->height;
	ret = av_frame_get_buffer(dst, 0);
	if (ret >= 0)
		ret = av_frame_copy_props(dst, src);
	if (ret < 0) {
		av_frame_free(&dst);
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
	}
	chroma_shift(src, &sx, &sy);
	blend_plane(src, dst, 0, 0, 0, result, coverage, weight);
	for (int c = 1; c < 3; c++)
		blend_plane(src, dst, c, sx, sy, result, coverage, weight);
	*out = dst;
	return 0;
}
