/*
 * mask_map: coverage maps, their resampling, feathering and blending.
 */
#include "masks/mask_map.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* BT.709 luma weights, for the coverage of an RGB image without alpha. */
#define LUMA_R 0.2126f
#define LUMA_G 0.7152f
#define LUMA_B 0.0722f

/* The feather's Gaussian has sigma = radius / 2 and is cut at 3 sigma. */
#define FEATHER_SIGMAS_PER_RADIUS 0.5f
#define FEATHER_CUTOFF_SIGMAS 3.0f

/*
 * One axis of a resampling: output sample i is the weighted sum of
 * tap[i].count source samples from tap[i].first, with the weights at
 * weight + i * max_taps.
 */
struct resample_axis {
	int max_taps;
	struct resample_tap {
		int first;
		int count;
	} *tap;
	float *weight;
};

int mask_map_create(int width, int height, mask_map **out)
{
	mask_map *map;

	if (width <= 0 || height <= 0 || !out)
		return -EINVAL;
	map = malloc(sizeof(*map));
	if (!map)
		return -ENOMEM;
	map->cov = calloc((size_t)width * height, sizeof(*map->cov));
	if (!map->cov) {
		free(map);
		return -ENOMEM;
	}
	map->width = width;
	map->height = height;
	*out = map;
	return 0;
}

void mask_map_free(mask_map *map)
{
	if (!map)
		return;
	free(map->cov);
	free(map);
}

/* Coverage of one pixel: its alpha if it has one, else its luma. */
static float pixel_coverage(const uint16_t *px, int channels)
{
	switch (channels) {
	case MASK_GRAY_ALPHA:
	case MASK_RGBA:
		return px[channels - 1] / 65535.0f;
	case MASK_RGB:
		return (LUMA_R * px[0] + LUMA_G * px[1] + LUMA_B * px[2]) /
		       65535.0f;
	default:
		return px[0] / 65535.0f;
	}
}

int mask_map_from_image(const mask_image *img, mask_map **out)
{
	mask_map *map;
	size_t i, n;
	int ret;

	if (!img || !img->data || !out || img->channels < MASK_GRAY ||
	    img->channels > MASK_RGBA)
		return -EINVAL;
	ret = mask_map_create(img->width, img->height, &map);
	if (ret)
		return ret;
	n = (size_t)img->width * img->height;
	for (i = 0; i < n; i++)
		map->cov[i] = pixel_coverage(img->data + i * img->channels,
					     img->channels);
	*out = map;
	return 0;
}

static void axis_free(struct resample_axis *ax)
{
	free(ax->tap);
	free(ax->weight);
}

static int axis_alloc(struct resample_axis *ax, int dst, int max_taps)
{
	ax->max_taps = max_taps;
	ax->tap = calloc(dst, sizeof(*ax->tap));
	ax->weight = calloc((size_t)dst * max_taps, sizeof(*ax->weight));
	if (ax->tap && ax->weight)
		return 0;
	axis_free(ax);
	return -ENOMEM;
}

/* Length of the overlap of the intersecting spans [lo, hi) and [a, b). */
static long long overlap(long long lo, long long hi, long long a, long long b)
{
	return (hi < b ? hi : b) - (lo > a ? lo : a);
}

/*
 * Shrinking: output sample i covers source span [i * src, (i + 1) * src)
 * in units of 1 / dst, and each source sample j covers [j * dst,
 * (j + 1) * dst). Its weight is the exact overlap over src (box filter).
 */
static int axis_init_area(struct resample_axis *ax, int src, int dst)
{
	struct resample_tap *tap;
	long long lo, hi;
	int i, j, ret;

	ret = axis_alloc(ax, dst, (src + dst - 1) / dst + 1);
	if (ret)
		return ret;
	for (i = 0; i < dst; i++) {
		tap = &ax->tap[i];
		lo = (long long)i * src;
		hi = lo + src;
		tap->first = lo / dst;
		for (j = tap->first; (long long)j * dst < hi; j++)
			ax->weight[i * ax->max_taps + tap->count++] =
				(float)((double)overlap(lo, hi, (long long)j * dst,
							(long long)(j + 1) * dst) / src);
	}
	return 0;
}

/*
 * Enlarging (or keeping the size): pixel centres aligned, output sample i
 * sits at source position (i + 0.5) * src / dst - 0.5, between two source
 * samples; beyond the outer centres the edge sample is kept.
 */
static int axis_init_bilinear(struct resample_axis *ax, int src, int dst)
{
	struct resample_tap *tap;
	double pos, frac;
	int i, ret;

	ret = axis_alloc(ax, dst, 2);
	if (ret)
		return ret;
	for (i = 0; i < dst; i++) {
		tap = &ax->tap[i];
		pos = (i + 0.5) * src / dst - 0.5;
		if (pos < 0)
			pos = 0;
		if (pos > src - 1)
			pos = src - 1;
		tap->first = (int)pos;
		frac = pos - tap->first;
		tap->count = frac > 0 ? 2 : 1;
		ax->weight[i * 2] = (float)(1 - frac);
		ax->weight[i * 2 + 1] = (float)frac;
	}
	return 0;
}

static int axis_init(struct resample_axis *ax, int src, int dst)
{
	if (dst < src)
		return axis_init_area(ax, src, dst);
	return axis_init_bilinear(ax, src, dst);
}

/*
 * Resamples `lines` independent lines along one axis: sample k of line l is
 * at in[l * in_line + k * step], and likewise in out with out_line.
 */
static void resample_lines(const float *in, float *out, int lines,
			   ptrdiff_t in_line, ptrdiff_t out_line,
			   ptrdiff_t step, const struct resample_axis *ax,
			   int out_len)
{
	const struct resample_tap *tap;
	const float *w, *src;
	float sum;
	int l, i, k;

	for (l = 0; l < lines; l++) {
		src = in + l * in_line;
		for (i = 0; i < out_len; i++) {
			tap = &ax->tap[i];
			w = ax->weight + (size_t)i * ax->max_taps;
			sum = 0;
			for (k = 0; k < tap->count; k++)
				sum += w[k] * src[(tap->first + k) * step];
			out[l * out_line + i * step] = sum;
		}
	}
}

/* Resamples src into dst: rows first, into dst->width x src->height. */
static int resample(const mask_map *src, mask_map *dst)
{
	struct resample_axis ax = { 0 }, ay = { 0 };
	mask_map *tmp;
	int ret;

	ret = mask_map_create(dst->width, src->height, &tmp);
	if (ret)
		return ret;
	ret = axis_init(&ax, src->width, dst->width);
	if (ret)
		goto out_free_tmp;
	ret = axis_init(&ay, src->height, dst->height);
	if (ret)
		goto out_free_ax;
	resample_lines(src->cov, tmp->cov, src->height, src->width, dst->width,
		       1, &ax, dst->width);
	resample_lines(tmp->cov, dst->cov, dst->width, 1, 1, dst->width, &ay,
		       dst->height);
	axis_free(&ay);
out_free_ax:
	axis_free(&ax);
out_free_tmp:
	mask_map_free(tmp);
	return ret;
}

int mask_map_resize(const mask_map *src, int width, int height, mask_map **out)
{
	mask_map *dst;
	int ret;

	if (!src || !src->cov || !out)
		return -EINVAL;
	ret = mask_map_create(width, height, &dst);
	if (ret)
		return ret;
	if (width == src->width && height == src->height)
		memcpy(dst->cov, src->cov,
		       (size_t)width * height * sizeof(*dst->cov));
	else
		ret = resample(src, dst);
	if (ret)
		goto out_free_dst;
	*out = dst;
	return 0;
out_free_dst:
	mask_map_free(dst);
	return ret;
}

/*
 * A normalised Gaussian of 2 * half + 1 taps for the feather radius, in
 * double so that a tiny radius still gives a finite (identity) kernel.
 */
static float *feather_kernel(float radius, int half)
{
	double sigma = (double)radius * FEATHER_SIGMAS_PER_RADIUS;
	double g, sum = 0;
	float *k = malloc((2 * (size_t)half + 1) * sizeof(*k));
	int i;

	if (!k)
		return NULL;
	for (i = -half; i <= half; i++) {
		g = exp(-(double)i * i / (2 * sigma * sigma));
		k[i + half] = (float)g;
		sum += g;
	}
	for (i = 0; i <= 2 * half; i++)
		k[i] = (float)(k[i] / sum);
	return k;
}

/*
 * Blurs one line of len samples, step apart, in place; line holds a copy.
 * Taps beyond either end read the end sample (edges clamped).
 */
static void blur_line(float *data, int len, ptrdiff_t step, const float *k,
		      int half, float *line)
{
	float sum;
	int i, j, src;

	for (i = 0; i < len; i++)
		line[i] = data[i * step];
	for (i = 0; i < len; i++) {
		sum = 0;
		for (j = -half; j <= half; j++) {
			src = i + j < 0 ? 0 : i + j >= len ? len - 1 : i + j;
			sum += k[j + half] * line[src];
		}
		data[i * step] = sum;
	}
}

int mask_map_feather(mask_map *map, float radius)
{
	int w, h, half, longest, x, y;
	float *k, *line;
	int ret = 0;

	if (!map || !map->cov || !(radius >= 0) || isinf(radius))
		return -EINVAL;
	if (radius == 0)
		return 0;
	w = map->width;
	h = map->height;
	longest = w > h ? w : h;
	/* a kernel longer than the map only re-reads its clamped edges */
	half = (int)fminf(ceilf(radius * FEATHER_SIGMAS_PER_RADIUS *
				FEATHER_CUTOFF_SIGMAS), (float)longest);
	k = feather_kernel(radius, half);
	if (!k)
		return -ENOMEM;
	line = malloc((size_t)longest * sizeof(*line));
	if (!line) {
		ret = -ENOMEM;
		goto out_free_kernel;
	}
	for (y = 0; y < h; y++)
		blur_line(map->cov + (size_t)y * w, w, 1, k, half, line);
	for (x = 0; x < w; x++)
		blur_line(map->cov + x, h, w, k, half, line);
	free(line);
out_free_kernel:
	free(k);
	return ret;
}

int mask_map_lerp(const mask_map *a, const mask_map *b, float t, mask_map *out)
{
	size_t i, n;

	if (!a || !b || !out || !a->cov || !b->cov || !out->cov ||
	    !(t >= 0 && t <= 1) || a->width != b->width ||
	    a->height != b->height || a->width != out->width ||
	    a->height != out->height)
		return -EINVAL;
	n = (size_t)a->width * a->height;
	for (i = 0; i < n; i++)
		out->cov[i] = (1 - t) * a->cov[i] + t * b->cov[i];
	return 0;
}

int mask_map_is_empty(const mask_map *map)
{
	size_t i, n;

	if (!map || !map->cov)
		return -EINVAL;
	n = (size_t)map->width * map->height;
	for (i = 0; i < n; i++) {
		if (map->cov[i] != 0)
			return 0;
	}
	return 1;
}
