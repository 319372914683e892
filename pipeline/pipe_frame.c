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
 * 4:2:0 chroma at the luma size, bilinear. A chroma sample sits at the
 * centre of the luma pixels it covers, so pixel x reads it at
 * (x + 0.5) / 2 - 0.5: pixels 2i + 1 and 2i + 2 lie between samples i
 * and i + 1, a quarter of the way from the nearer one, and the first and
 * (for an even size) last pixel lie outside them, where the nearest
 * sample stands alone. Weights in quarters keep the sums exact in
 * integers.
 */

/* Chroma row s (cw samples) across w pixels, in quarters. */
static void chroma_across(const uint8_t *s, int cw, int w, uint16_t *out)
{
	int i;

	out[0] = (uint16_t)(4 * s[0]);
	for (i = 0; 2 * i + 2 < w; i++) {
		out[2 * i + 1] = (uint16_t)(3 * s[i] + s[i + 1]);
		out[2 * i + 2] = (uint16_t)(s[i] + 3 * s[i + 1]);
	}
	if (2 * i + 1 < w)
		out[2 * i + 1] = (uint16_t)(4 * s[cw - 1]);
}

/*
 * A pixel row from rows a and b across (in quarters) weighted wa and wb
 * (quarters summing to 4): the sum in sixteenths rounded half to even, as
 * lrintf rounds it.
 */
static void chroma_down(const uint16_t *a, const uint16_t *b, int wa, int wb, int w,
			uint8_t *dst)
{
	for (int x = 0; x < w; x++) {
		int v = wa * a[x] + wb * b[x];

		dst[x] = (uint8_t)((v + 7 + ((v >> 4) & 1)) >> 4);
	}
}

/* Chroma plane c of a 4:2:0 frame at the luma size into dst. */
static int chroma_to_yuv8(const AVFrame *frame, int c, uint8_t *dst)
{
	int w = frame->width, h = frame->height;
	int cw = AV_CEIL_RSHIFT(w, 1);
	uint16_t *rows = malloc(sizeof(uint16_t) * 2 * w), *prev = rows, *next = rows + w;
	int j;

	if (!rows)
		return -ENOMEM;
	chroma_across(frame->data[c], cw, w, prev);
	chroma_down(prev, prev, 1, 3, w, dst);
	for (j = 0; 2 * j + 2 < h; j++) {
		uint16_t *t;

		chroma_across(frame->data[c] + (size_t)(j + 1) * frame->linesize[c], cw, w,
			      next);
		chroma_down(prev, next, 3, 1, w, dst + (size_t)(2 * j + 1) * w);
		chroma_down(prev, next, 1, 3, w, dst + (size_t)(2 * j + 2) * w);
		t = prev;
		prev = next;
		next = t;
	}
	if (2 * j + 1 < h)
		chroma_down(prev, prev, 3, 1, w, dst + (size_t)(2 * j + 1) * w);
	free(rows);
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
			/* supported: subsampled chroma is 4:2:0 */
			int ret = chroma_to_yuv8(frame, c, dst);

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

/*
 * cell_mean of chroma samples [x0, x1) of row cy into out, summed in the
 * same order; two full rows of 4:2:0 cells in a loop that vectorises.
 */
static void cell_row(const float *v, int w, int h, int sx, int sy, int cy, int x0, int x1,
		     float *out)
{
	const float *r0 = v + (size_t)(cy << sy) * w, *r1 = r0 + w;
	int x = x0;

	if (!sx && !sy) {
		memcpy(out, r0 + x0, sizeof(float) * (x1 - x0));
		return;
	}
	if (sx == 1 && sy == 1 && 2 * cy + 1 < h)
		for (; x < x1 && 2 * x + 1 < w; x++)
			out[x - x0] = (((r0[2 * x] + r0[2 * x + 1]) + r1[2 * x]) +
				       r1[2 * x + 1]) / 4.0f;
	for (; x < x1; x++)
		out[x - x0] = cell_mean(v, w, h, sx, sy, x, cy);
}

/*
 * n samples s blended towards r by weight times cov, rounded half to even
 * (as lrintf) and clamped; a sample whose weight is not above 0 is kept.
 */
static void blend_row(const uint8_t *s, const float *r, const float *cov, float weight,
		      int n, uint8_t *d)
{
	for (int x = 0; x < n; x++) {
		float g = weight * cov[x], sv = s[x] / 255.0f;
		float q = rintf((sv + g * (r[x] - sv)) * 255.0f);

		q = q > 0.0f ? q : 0.0f;
		q = q < 255.0f ? q : 255.0f;
		d[x] = g > 0.0f ? (uint8_t)q : s[x];
	}
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
 * copied; inside it each sample is blended. rows: scratch of two plane
 * rows of floats.
 */
static void blend_plane(const AVFrame *src, AVFrame *dst, int c, int sx, int sy,
			const attn_frame *result, const float *coverage, float weight,
			struct box box, float *rows)
{
	int w = src->width, h = src->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);
	int bx0 = box.x0 >> sx, by0 = box.y0 >> sy;
	int bx1 = box.x0 < box.x1 ? ((box.x1 - 1) >> sx) + 1 : bx0;
	int by1 = box.y0 < box.y1 ? ((box.y1 - 1) >> sy) + 1 : by0;
	const float *res = attn_plane(result, c);
	float *cov = rows, *r = rows + w;

	for (int x = 0; !coverage && x < bx1 - bx0; x++)
		cov[x] = 1.0f;
	for (int y = 0; y < ch; y++) {
		const uint8_t *s = src->data[c] + (size_t)y * src->linesize[c];
		uint8_t *d = dst->data[c] + (size_t)y * dst->linesize[c];

		memcpy(d, s, cw);
		if (y < by0 || y >= by1 || bx0 >= bx1)
			continue;
		if (coverage)
			cell_row(coverage, w, h, sx, sy, y, bx0, bx1, cov);
		cell_row(res, w, h, sx, sy, y, bx0, bx1, r);
		blend_row(s + bx0, r, cov, weight, bx1 - bx0, d + bx0);
	}
}

int pipe_frame_blend(const AVFrame *src, const attn_frame *result,
		     const float *coverage, float weight, AVFrame **out)
{
	AVFrame *dst;
	struct box box;
	float *rows;
	int sx, sy, ret;

	if (!supported(src) || result->width != src->width ||
	    result->height != src->height || result->planes < 3)
		return -EINVAL;
	rows = malloc(sizeof(float) * 2 * src->width);
	dst = rows ? av_frame_alloc() : NULL;
	if (!dst) {
		free(rows);
		return -ENOMEM;
	}
	dst->format = src->format;
	dst->width = src->width;
	dst->height = src->height;
	ret = av_frame_get_buffer(dst, 0);
	if (ret >= 0)
		ret = av_frame_copy_props(dst, src);
	if (ret < 0) {
		av_frame_free(&dst);
		free(rows);
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
	}
	chroma_shift(src, &sx, &sy);
	box = weight > 0.0f ? covered_box(coverage, src->width, src->height) :
			      (struct box){ 0, 0, 0, 0 };
	blend_plane(src, dst, 0, 0, 0, result, coverage, weight, box, rows);
	for (int c = 1; c < 3; c++)
		blend_plane(src, dst, c, sx, sy, result, coverage, weight, box, rows);
	free(rows);
	*out = dst;
	return 0;
}
