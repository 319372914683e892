#include "attention/attn_frame.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_simd.h"

int attn_frame_create(int width, int height, int planes, attn_frame **out)
{
	attn_frame *frame;

	if (width <= 0 || height <= 0 || planes <= 0)
		return -EINVAL;
	frame = calloc(1, sizeof(*frame));
	if (!frame)
		return -ENOMEM;
	frame->data = calloc((size_t)width * height * planes, sizeof(float));
	if (!frame->data) {
		free(frame);
		return -ENOMEM;
	}
	frame->width = width;
	frame->height = height;
	frame->planes = planes;
	*out = frame;
	return 0;
}

void attn_frame_free(attn_frame *frame)
{
	if (!frame)
		return;
	free(frame->data);
	free(frame);
}

int attn_frame_from_yuv8(const struct attn_yuv8 *frame, attn_frame *out)
{
	size_t n = (size_t)frame->width * frame->height;

	if (out->width != frame->width || out->height != frame->height ||
	    out->planes < 3)
		return -EINVAL;
	for (int c = 0; c < 3; c++) {
		float *dst = attn_plane(out, c);

		for (size_t i = 0; i < n; i++)
			dst[i] = frame->plane[c][i] / 255.0f;
	}
	return 0;
}

int attn_cover_floats(const struct attn_yuv8 *frame, float **out)
{
	size_t n = (size_t)frame->width * frame->height;

	*out = NULL;
	if (!frame->cover)
		return 0;
	*out = malloc(sizeof(float) * (n ? n : 1));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		(*out)[i] = frame->cover[i] / 255.0f;
	return 0;
}

int attn_frame_clone(const attn_frame *src, attn_frame **out)
{
	int ret = attn_frame_create(src->width, src->height, src->planes, out);

	if (ret < 0)
		return ret;
	memcpy((*out)->data, src->data,
	       sizeof(float) * src->width * src->height * src->planes);
	return 0;
}

/* Average of the factor x factor cell at (cx, cy), clipped to the plane. */
static float cell_mean(const float *p, int w, int h, int factor, int cx, int cy)
{
	int x0 = cx * factor, y0 = cy * factor;
	int x1 = x0 + factor < w ? x0 + factor : w;
	int y1 = y0 + factor < h ? y0 + factor : h;
	float sum = 0.0f;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			sum += p[(size_t)y * w + x];
	return sum / (float)((x1 - x0) * (y1 - y0));
}

int attn_frame_downsample(const attn_frame *src, int factor, attn_frame **out)
{
	int w, h, ret;

	if (factor < 1)
		return -EINVAL;
	w = (src->width + factor - 1) / factor;
	h = (src->height + factor - 1) / factor;
	ret = attn_frame_create(w, h, src->planes, out);
	if (ret < 0)
		return ret;
	for (int c = 0; c < src->planes; c++) {
		const float *p = attn_plane(src, c);
		float *q = attn_plane(*out, c);

		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				q[(size_t)y * w + x] = cell_mean(p, src->width,
					src->height, factor, x, y);
	}
	return 0;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void attn_taps_at(int width, int height, float x, float y, struct attn_taps *t)
{
	float fx = floorf(x), fy = floorf(y);

	t->ax = x - fx;
	t->ay = y - fy;
	t->x0 = clampi((int)fx, 0, width - 1);
	t->x1 = clampi((int)fx + 1, 0, width - 1);
	t->r0 = (size_t)clampi((int)fy, 0, height - 1) * width;
	t->r1 = (size_t)clampi((int)fy + 1, 0, height - 1) * width;
}

float attn_sample(const float *plane, int width, int height, float x, float y)
{
	struct attn_taps t;

	attn_taps_at(width, height, x, y, &t);
	return attn_taps_sample(plane, &t);
}

/* One pass of a separable max filter along x (step 1) or y (step width). */
static void max_pass(const float *in, float *out, int width, int height, int r,
		     int along_x)
{
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			int lo = (along_x ? x : y) - r, hi = (along_x ? x : y) + r;
			int n = along_x ? width : height;
			float m = -INFINITY;

			lo = lo < 0 ? 0 : lo;
			hi = hi >= n ? n - 1 : hi;
			for (int i = lo; i <= hi; i++) {
				float v = along_x ? in[(size_t)y * width + i] :
					  in[(size_t)i * width + x];

				m = v > m ? v : m;
			}
			out[(size_t)y * width + x] = m;
		}
	}
}

int attn_dilate(const float *plane, int width, int height, int r, float *out)
{
	float *tmp = malloc(sizeof(float) * width * height);

	if (!tmp)
		return -ENOMEM;
	max_pass(plane, tmp, width, height, r, 1);
	max_pass(tmp, out, width, height, r, 0);
	free(tmp);
	return 0;
}

/*
 * The squared steps right and down from the first n samples of row p
 * (below: the next row) where weight, if any, is above one half, into *sum
 * and their count into *n_steps.
 */
static void row_energy(const float *p, const float *below, const float *weight, int n,
		       double *sum, long *n_steps)
{
	vf part = vf_set(0.0f);
	vi in = { 0 };

	for (int x = 0; x < n; x += VF_LANES) {
		int m = n - x < VF_LANES ? n - x : VF_LANES;
		vf a = vf_load_part(p + x, m), dx = vf_load_part(p + x + 1, m) - a;
		vf dy = vf_load_part(below + x, m) - a;
		vi use = vf_lane_index() < (float)m;

		if (weight)
			use &= vf_load_part(weight + x, m) > 0.5f;
		part += vf_select(use, dx * dx + dy * dy, vf_set(0.0f));
		in -= use;      /* a true lane is -1 */
	}
	*sum += vf_hsum(part);
	*n_steps += 2 * vi_hsum(in);
}

float attn_content_scale(const attn_frame *frame, int planes, const float *weight)
{
	int w = frame->width, h = frame->height;
	double sum = 0.0;
	long n = 0;

	for (int c = 0; c < planes; c++) {
		const float *p = attn_plane(frame, c);

		for (int y = 0; y + 1 < h; y++)
			row_energy(p + (size_t)y * w, p + (size_t)(y + 1) * w,
				   weight ? weight + (size_t)y * w : NULL, w - 1, &sum, &n);
	}
	return n ? (float)(sum / n) : 0.0f;
}
