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

/* One plane's patch at (x, y) into out; returns the number of values. */
static int patch(const struct attn_feat *f, int c, int x, int y, float *out)
{
	int r = f->radius, n = 0;
	float mean = 0.0f;

	for (int dy = -r; dy <= r; dy++) {
		size_t row = (size_t)clampi(y + dy, 0, f->height - 1) * f->width;

		for (int dx = -r; dx <= r; dx++)
			out[n++] = sample(f, c, row + clampi(x + dx, 0, f->width - 1));
	}
	if (f->zero_mean[c]) {
		for (int i = 0; i < n; i++)
			mean += out[i];
		mean /= (float)n;
	}
	for (int i = 0; i < n; i++)
		out[i] = f->weight[c] * (out[i] - mean);
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

/* One plane's patch at (x, y), all of it inside the plane. */
static int patch_inside(const struct attn_feat *f, int c, int x, int y, float *out)
{
	int r = f->radius, side = 2 * r + 1, n = 0;
	size_t p = (size_t)(y - r) * f->width + (x - r);
	float mean = 0.0f, wt = f->weight[c];

	for (int dy = 0; dy < side; dy++, p += f->width)
		for (int dx = 0; dx < side; dx++)
			out[n++] = sample(f, c, p + dx);
	if (f->zero_mean[c]) {
		for (int i = 0; i < n; i++)
			mean += out[i];
		mean /= (float)n;
	}
	for (int i = 0; i < n; i++)
		out[i] = wt * (out[i] - mean);
	return n;
}

void attn_feat_rect(const struct attn_feat *f, int x0, int y0, int x1, int y1,
		    float *out)
{
	int d = attn_feat_dim(f), r = f->radius;
	int inner = x0 - r >= 0 && y0 - r >= 0 && x1 + r < f->width &&
		    y1 + r < f->height;

	for (int y = y0; y <= y1; y++) {
		for (int x = x0; x <= x1; x++, out += d) {
			float *o = out;

			if (!inner) {
				token(f, x, y, out);
				continue;
			}
			for (int c = 0; c < f->n; c++)
				o += patch_inside(f, c, x, y, o);
		}
	}
}
