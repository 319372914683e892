#include "attention/attn_feature.h"

#include <stddef.h>

int attn_feat_dim(const struct attn_feat *f)
{
	int side = 2 * f->radius + 1;

	return f->n * side * side;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One plane's patch at (x, y) into out; returns the number of values. */
static int patch(const struct attn_feat *f, int c, int x, int y, float *out)
{
	const float *p = f->plane[c];
	int r = f->radius, n = 0;
	float mean = 0.0f;

	for (int dy = -r; dy <= r; dy++) {
		const float *row = p + (size_t)clampi(y + dy, 0, f->height - 1) * f->width;

		for (int dx = -r; dx <= r; dx++)
			out[n++] = row[clampi(x + dx, 0, f->width - 1)];
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

void attn_feat_rect(const struct attn_feat *f, int x0, int y0, int x1, int y1,
		    float *out)
{
	int d = attn_feat_dim(f);

	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++, out += d)
			token(f, x, y, out);
}
