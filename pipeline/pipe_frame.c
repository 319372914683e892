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

/*
 * Where luma pixel x of an axis subsampled by shift reads its chroma: from
 * samples *i0 and *i0 + 1 (clamped by the caller) with weights w0 and w1
 * in quarters. A chroma sample sits at the centre of the luma pixels it
 * covers, so x reads it at (x + 0.5) / 2 - 0.5: even x at 1/4 of the way
 * from sample x/2 - 1 to x/2, odd x at 1/4 from (x - 1)/2 to the next.
 */
static void chroma_tap(int x, int shift, int *i0, int *w0, int *w1)
{
	if (!shift) {
		*i0 = x;
		*w0 = 4;
		*w1 = 0;
	} else if (x & 1) {
		*i0 = (x - 1) / 2;
		*w0 = 3;
		*w1 = 1;
	} else {
		*i0 = x / 2 - 1;
		*w0 = 1;
		*w1 = 3;
	}
}

static int clamp_index(int i, int n)
{
	return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* v / 16 rounded half to even, as lrintf rounds the exact sixteenths. */
static uint8_t div16_even(int v)
{
	int q = v >> 4, rem = v & 15;

	return (uint8_t)(q + (rem > 8 || (rem == 8 && (q & 1))));
}

/*
 * Plane c at the luma size into dst: copied, or for subsampled chroma
 * bilinear from the two nearest samples on each axis (weights in quarters,
 * so the sum is exact in integers).
 */
static int plane_to_yuv8(const AVFrame *frame, int c, int sx, int sy, uint8_t *dst)
{
	int w = frame->width, h = frame->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);
	int *x0 = malloc(sizeof(int) * 2 * w), *wx = malloc(sizeof(int) * 2 * w);
	int *row = malloc(sizeof(int) * 2 * w);

	if (!x0 || !wx || !row) {
		free(x0);
		free(wx);
		free(row);
		return -ENOMEM;
	}
	for (int x = 0; x < w; x++) {
		int i0;

		chroma_tap(x, sx, &i0, &wx[2 * x], &wx[2 * x + 1]);
		x0[2 * x] = clamp_index(i0, cw);
		x0[2 * x + 1] = clamp_index(i0 + 1, cw);
	}
	for (int y = 0; y < h; y++) {
		int i0, wy0, wy1;

		chroma_tap(y, sy, &i0, &wy0, &wy1);
		for (int r = 0; r < 2; r++) {
			const uint8_t *src = frame->data[c] + (size_t)clamp_index(i0 + r, ch) *
					     frame->linesize[c];

			for (int x = 0; x < w; x++)
				row[r * w + x] = wx[2 * x] * src[x0[2 * x]] +
						 wx[2 * x + 1] * src[x0[2 * x + 1]];
		}
		for (int x = 0; x < w; x++)
			dst[(size_t)y * w + x] = div16_even(wy0 * row[x] + wy1 * row[w + x]);
	}
	free(x0);
	free(wx);
	free(row);
	return 0;
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

		if (c && (sx || sy)) {
			int ret = plane_to_yuv8(frame, c, sx, sy, dst);

			if (ret < 0)
				return ret;
		} else {
			for (int y = 0; y < h; y++)
				memcpy(dst + (size_t)y * w,
				       frame->data[c] + (size_t)y * frame->linesize[c], w);
		}
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

/* A rectangle [x0, x1) x [y0, y1) of luma pixels; empty when x0 >= x1. */
struct box {
	int x0, y0, x1, y1;
};

/* The smallest box holding every pixel whose coverage is above 0. */
static struct box covered_box(const float *coverage, int w, int h)
{
	struct box b = { w, h, 0, 0 };

	if (!coverage)
		return (struct box){ 0, 0, w, h };
	for (int y = 0; y < h; y++) {
		const float *row = coverage + (size_t)y * w;
		int first = 0, last = w - 1;

		while (first < w && !(row[first] > 0.0f))
			first++;
		if (first == w)
			continue;
		while (!(row[last] > 0.0f))
			last--;
		b.x0 = first < b.x0 ? first : b.x0;
		b.x1 = last + 1 > b.x1 ? last + 1 : b.x1;
		b.y0 = y < b.y0 ? y : b.y0;
		b.y1 = y + 1;
	}
	return b;
}

/*
 * Outside the covered box the weight is 0 and the source's samples are
 * copied; inside it each sample is blended.
 */
static void blend_plane(const AVFrame *src, AVFrame *dst, int c, int sx, int sy,
			const attn_frame *result, const float *coverage, float weight,
			struct box box)
{
	int w = src->width, h = src->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);
	int bx0 = box.x0 >> sx, by0 = box.y0 >> sy;
	int bx1 = box.x0 < box.x1 ? ((box.x1 - 1) >> sx) + 1 : bx0;
	int by1 = box.y0 < box.y1 ? ((box.y1 - 1) >> sy) + 1 : by0;
	const float *res = attn_plane(result, c);

	for (int y = 0; y < ch; y++) {
		const uint8_t *s = src->data[c] + (size_t)y * src->linesize[c];
		uint8_t *d = dst->data[c] + (size_t)y * dst->linesize[c];

		memcpy(d, s, cw);
		for (int x = bx0; y >= by0 && y < by1 && x < bx1; x++) {
			float g = weight * (coverage ?
				cell_mean(coverage, w, h, sx, sy, x, y) : 1.0f);
			float r;

			if (g <= 0.0f)
				continue;
			r = cell_mean(res, w, h, sx, sy, x, y);
			d[x] = quantize(s[x] / 255.0f + g * (r - s[x] / 255.0f));
		}
	}
}

int pipe_frame_blend(const AVFrame *src, const attn_frame *result,
		     const float *coverage, float weight, AVFrame **out)
{
	AVFrame *dst;
	struct box box;
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
	box = weight > 0.0f ? covered_box(coverage, src->width, src->height) :
			      (struct box){ 0, 0, 0, 0 };
	blend_plane(src, dst, 0, 0, 0, result, coverage, weight, box);
	for (int c = 1; c < 3; c++)
		blend_plane(src, dst, c, sx, sy, result, coverage, weight, box);
	*out = dst;
	return 0;
}
