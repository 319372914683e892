/*
 * attn_feature: token features. A token at pixel (x, y) is the square patch
 * of radius r around it, taken from up to ATTN_FEAT_MAX planes, each scaled
 * by its weight and, where asked, with the patch mean removed (so a change
 * of gain or offset does not change the match). Borders are clamped.
 */
#ifndef ATTN_FEATURE_H
#define ATTN_FEATURE_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_FEAT_MAX 8

/* Planes are borrowed. */
struct attn_feat {
	int width;
	int height;
	int radius;                     /* patch radius: 1 is 3x3 */
	int n;                          /* planes in use */
	const float *plane[ATTN_FEAT_MAX];
	const uint8_t *plane8[ATTN_FEAT_MAX];   /* when set, read instead of plane: 0..255 is 0..1 */
	float weight[ATTN_FEAT_MAX];
	unsigned char zero_mean[ATTN_FEAT_MAX];
};

/* Length of a feature vector: n * (2r + 1)^2. */
int attn_feat_dim(const struct attn_feat *f);

/* The features of the n tokens at (xs[i], ys[i]) into out (n x dim). */
void attn_feat_gather(const struct attn_feat *f, const int *xs, const int *ys,
		      int n, float *out);

/*
 * Plane c's samples at the pixels [x0, x1] x [y0, y1], weighted, those
 * outside the frame taken from its nearest edge: row y at
 * out + (y - y0) * row_stride. Patches of the plane are views of it.
 */
void attn_feat_samples(const struct attn_feat *f, int c, int x0, int y0, int x1,
		       int y1, float *out, size_t row_stride);

/*
 * The features of every token in [x0, x1] x [y0, y1], a run of tokens per
 * feature: feature c of the token at (x, y) at
 * out[(y - y0) * row_stride + c * feat_stride + (x - x0)]. Feature-major
 * planes: row_stride the rectangle's width, feat_stride its size or more;
 * a row's features together: feat_stride the width or more, row_stride
 * dim times that.
 */
void attn_feat_rect(const struct attn_feat *f, int x0, int y0, int x1, int y1,
		    float *out, size_t row_stride, size_t feat_stride);

#endif
