#include "pipeline/pipe_frame.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

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
static void plane_to_float(const AVFrame *frame, int c, int sx, int sy,
			   float *tmp, float *out)
{
	int w = frame->width, h = frame->height;
	int cw = AV_CEIL_RSHIFT(w, sx), ch = AV_CEIL_RSHIFT(h, sy);
	const uint8_t *p = frame->data[c];

	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++)
			tmp[(size_t)y * cw + x] = p[(size_t)y * frame->linesize[c] + x] / 255.0f;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			out[(size_t)y * w + x] = (sx || sy) ?
				attn_sample(tmp, cw, ch, (x + 0.5f) / (1 << sx) - 0.5f,
					    (y + 0.5f) / (1 << sy) - 0.5f) :
				tmp[(size_t)y * w + x];
}

int pipe_frame_to_attn(const AVFrame *frame, attn_frame *out)
{
	int sx, sy;
	float *tmp;

	if (!supported(frame) || out->width != frame->width ||
	    out->height != frame->height || out->planes < 3)
		return -EINVAL;
	tmp = malloc(sizeof(float) * frame->width * frame->height);
	if (!tmp)
		return -ENOMEM;
	chroma_shift(frame, &sx, &sy);
	plane_to_float(frame, 0, 0, 0, tmp, attn_plane(out, 0));
	for (int c = 1; c < 3; c++)
		plane_to_float(frame, c, sx, sy, tmp, attn_plane(out, c));
	free(tmp);
	return 0;
}

int pipe_frame_to_yuv8(const AVFrame *frame, uint8_t *planes,
		       struct attn_yuv8 *yuv)
{
	int w = frame->width, h = frame->height, sx, sy;
	size_t n = (size_t)w * h;
	float *tmp, *full;

	if (!supported(frame))
		return -EINVAL;
	tmp = malloc(sizeof(float) * n * 2);
	if (!tmp)
		return -ENOMEM;
	full = tmp + n;
	chroma_shift(frame, &sx, &sy);
	for (int c = 0; c < 3; c++) {
		uint8_t *dst = planes + (size_t)c * n;

		plane_to_float(frame, c, c ? sx : 0, c ? sy : 0, tmp, full);
		for (size_t i = 0; i < n; i++)
			dst[i] = (uint8_t)lrintf(full[i] * 255.0f);
		yuv->plane[c] = dst;
	}
	yuv->width = w;
	yuv->height = h;
	free(tmp);
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
