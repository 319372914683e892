#include "attention/attn_feature.h"

#include <stddef.h>

int attn_feat_dim(const struct attn_feat *f)
{
	int side = 2 * f->radius + 1;

	return f->n * side * side;
}

/* Sample i of plane c, as a float 0..1 whichever way it is stored. */
static inline float sample(const struct attn_feat *f, int c, size_t i)
{
	return f->plane8[c] ? f->plane8[c][i] * (1.0f / 255.0f) : f->plane[c][i];
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * One plane's patch at (x, y) into out, weighted, less its mean where asked
 * (in the order attn_feat_rect takes, so both give the same bits); returns
 * the number of values.
 */
static int patch(const struct attn_feat *f, int c, int x, int y, float *out)
{
	int r = f->radius, n = 0;
	float mean = 0.0f;

	for (int dy = -r; dy <= r; dy++) {
		size_t row = (size_t)clampi(y + dy, 0, f->height - 1) * f->width;

		for (int dx = -r; dx <= r; dx++)
			out[n++] = f->weight[c] *
				   sample(f, c, row + clampi(x + dx, 0, f->width - 1));
	}
	if (!f->zero_mean[c])
		return n;
	for (int i = 0; i < n; i++)
		mean += out[i];
	mean /= (float)n;
	for (int i = 0; i < n; i++)
		out[i] -= mean;
	return n;
}

static void token(const struct attn_feat *f, int x, int y, float *out)
{
	for (int c = 0; c < f->n; c++)
		out += patch(f, c, x, y, out);
}

void attn_feat_gather(const struct attn_feat *f, const int *xs, const int *ys,
		      int n, float *out)
{
	int d = attn_feat_dim(f);

	for (int i = 0; i < n; i++)
		token(f, xs[i], ys[i], out + (size_t)i * d);
}

void attn_feat_samples(const struct attn_feat *f, int c, int x0, int y0, int x1,
		       int y1, float *out, size_t row_stride)
{
	/* the columns inside the frame, [lo, hi] (empty: hi = lo - 1); the others clamped */
	int lo = x0 > 0 ? x0 : 0, hi = x1 < f->width - 1 ? x1 : f->width - 1;
	float wt = f->weight[c];

	lo = lo < x1 + 1 ? lo : x1 + 1;
	hi = hi > lo - 1 ? hi : lo - 1;

	for (int y = y0; y <= y1; y++, out += row_stride) {
		size_t row = (size_t)clampi(y, 0, f->height - 1) * f->width;
		const uint8_t *p8 = f->plane8[c] ? f->plane8[c] + row : NULL;
		const float *p = f->plane[c] ? f->plane[c] + row : NULL;

		for (int x = x0; x < lo; x++)
			out[x - x0] = wt * sample(f, c, row);
		if (p8)
			for (int x = lo; x <= hi; x++)
				out[x - x0] = wt * (p8[x] * (1.0f / 255.0f));
		else
			for (int x = lo; x <= hi; x++)
				out[x - x0] = wt * p[x];
		for (int x = hi + 1; x <= x1; x++)
			out[x - x0] = wt * sample(f, c, row + f->width - 1);
	}
}

/* Tokens whose means remove_means sums together, a row's run at a time. */
#define MEAN_RUN 256

/*
 * Removes each token's mean from its n features of one plane (feature i of
 * the token at x on row y at out[y * row_stride + i * feat_stride + x]):
 * summed in the order patch() sums, a run of tokens side by side.
 */
static void remove_means(float *out, int n, int w, int h, size_t row_stride,
			 size_t feat_stride)
{
	float mean[MEAN_RUN];

	for (int y = 0; y < h; y++, out += row_stride)
		for (int x0 = 0; x0 < w; x0 += MEAN_RUN) {
			int m = w - x0 < MEAN_RUN ? w - x0 : MEAN_RUN;
			float *o = out + x0;

			for (int x = 0; x < m; x++)
				mean[x] = 0.0f;
			for (int i = 0; i < n; i++)
				for (int x = 0; x < m; x++)
					mean[x] += o[i * feat_stride + x];
			for (int x = 0; x < m; x++)
				mean[x] /= (float)n;
			for (int i = 0; i < n; i++)
				for (int x = 0; x < m; x++)
					o[i * feat_stride + x] -= mean[x];
		}
}

void attn_feat_rect(const struct attn_feat *f, int x0, int y0, int x1, int y1,
		    float *out, size_t row_stride, size_t feat_stride)
{
	int r = f->radius, side = 2 * r + 1, n = side * side;

	for (int c = 0; c < f->n; c++, out += n * feat_stride) {
		for (int i = 0; i < n; i++) {
			int dx = i % side - r, dy = i / side - r;

			attn_feat_samples(f, c, x0 + dx, y0 + dy, x1 + dx, y1 + dy,
					  out + i * feat_stride, row_stride);
		}
		if (f->zero_mean[c])
			remove_means(out, n, x1 - x0 + 1, y1 - y0 + 1, row_stride,
				     feat_stride);
	}
}
