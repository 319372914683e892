/*
 * attn_feature: the layout of a token's feature vector (plane by plane,
 * patch rows top to bottom), plane weights, patch means removed where
 * asked, clamped borders, gather and rect giving the same vectors, and a
 * plane's samples over rectangles in and past the frame.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attention/attn_feature.h"
#include "tests/unit/attention/attn_test_util.h"

#define W 11
#define H 8
#define EPS 1e-6f

/* Sample (x, y) of plane c is 1000 c + 10 y + x: every value says where it came from. */
static float planes[3][W * H];

static int fill_planes(void **state)
{
	(void)state;
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				planes[c][y * W + x] = (float)(1000 * c + 10 * y + x);
	return 0;
}

static struct attn_feat feat_of(int n, int radius)
{
	struct attn_feat f = { .width = W, .height = H, .radius = radius, .n = n };

	for (int c = 0; c < n; c++) {
		f.plane[c] = planes[c];
		f.weight[c] = 1.0f;
	}
	return f;
}

static float *gather_one(const struct attn_feat *f, int x, int y)
{
	float *out = malloc(sizeof(float) * attn_feat_dim(f));

	assert_non_null(out);
	attn_feat_gather(f, &x, &y, 1, out);
	return out;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void test_dim(void **state)
{
	struct attn_feat f = feat_of(3, 1);

	(void)state;
	assert_int_equal(attn_feat_dim(&f), 27);
	f = feat_of(2, 0);
	assert_int_equal(attn_feat_dim(&f), 2);
	f = feat_of(1, 3);
	assert_int_equal(attn_feat_dim(&f), 49);
}

/* Plane by plane, each patch row by row, left to right. */
static void test_layout(void **state)
{
	struct attn_feat f = feat_of(2, 1);
	float *v = gather_one(&f, 4, 3);
	int i = 0;

	(void)state;
	for (int c = 0; c < 2; c++)
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++, i++)
				assert_true(v[i] == (float)(1000 * c + 10 * (3 + dy) + 4 + dx));
	free(v);
}

static void test_weights_scale_their_plane(void **state)
{
	struct attn_feat f = feat_of(3, 1);
	float *v;

	(void)state;
	f.weight[0] = 2.0f;
	f.weight[1] = 0.0f;
	f.weight[2] = -0.5f;
	v = gather_one(&f, 5, 5);
	for (int i = 0; i < 9; i++) {
		int dx = i % 3 - 1, dy = i / 3 - 1;
		float base = (float)(10 * (5 + dy) + 5 + dx);

		assert_float_equal(v[i], 2.0f * base, EPS);
		assert_true(v[9 + i] == 0.0f);
		assert_float_equal(v[18 + i], -0.5f * (2000 + base), 1e-3);
	}
	free(v);
}

/* A plane with its mean removed sums to zero; its shape is kept. */
static void test_zero_mean(void **state)
{
	struct attn_feat f = feat_of(2, 2);
	float *v;
	double sum0 = 0, sum1 = 0;

	(void)state;
	f.zero_mean[1] = 1;
	f.weight[1] = 3.0f;
	v = gather_one(&f, 5, 4);
	for (int i = 0; i < 25; i++) {
		int dx = i % 5 - 2, dy = i / 5 - 2;

		sum0 += v[i];
		sum1 += v[25 + i];
		/* the patch mean is its centre, 1000 + 10 * 4 + 5 */
		assert_float_equal(v[25 + i], 3.0f * (10 * dy + dx), 1e-3);
	}
	assert_float_equal(sum0, 25 * 45.0, 1e-3);
	assert_float_equal(sum1, 0.0, 1e-3);
	free(v);
}

/* Past a border the nearest row and column are repeated. */
static void test_borders_clamped(void **state)
{
	struct attn_feat f = feat_of(1, 2);
	const int xs[] = { 0, W - 1, 1, W - 2 }, ys[] = { 0, H - 1, H - 1, 1 };

	(void)state;
	for (int k = 0; k < 4; k++) {
		float *v = gather_one(&f, xs[k], ys[k]);

		for (int i = 0; i < 25; i++) {
			int x = clampi(xs[k] + i % 5 - 2, 0, W - 1);
			int y = clampi(ys[k] + i / 5 - 2, 0, H - 1);

			assert_true(v[i] == (float)(10 * y + x));
		}
		free(v);
	}
}

/*
 * The tokens of [x0, x1] x [y0, y1] gathered one by one and taken as a
 * rectangle are the same bits, in feature-major planes (rows w apart,
 * features the size and 5 more) and with each row's features together
 * (features w + 3 apart).
 */
static void check_rect(const struct attn_feat *f, int x0, int y0, int x1, int y1)
{
	int w = x1 - x0 + 1, n = w * (y1 - y0 + 1), d = attn_feat_dim(f), k = 0;
	size_t layouts[2][2] = { { w, n + 5 }, { (size_t)d * (w + 3), w + 3 } };
	int *xs = malloc(sizeof(int) * n), *ys = malloc(sizeof(int) * n);
	float *a = malloc(sizeof(float) * n * d);
	float *b = malloc(sizeof(float) * d * (n + 5 + 3 * (y1 - y0 + 1)));

	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++, k++) {
			xs[k] = x;
			ys[k] = y;
		}
	attn_feat_gather(f, xs, ys, n, a);
	for (int l = 0; l < 2; l++) {
		size_t row = layouts[l][0], feat = layouts[l][1];

		attn_feat_rect(f, x0, y0, x1, y1, b, row, feat);
		for (int j = 0; j < n; j++)
			for (int c = 0; c < d; c++)
				assert_memory_equal(&a[(size_t)j * d + c],
						    &b[(j / w) * row + c * feat + j % w],
						    sizeof(float));
	}
	free(xs);
	free(ys);
	free(a);
	free(b);
}

/*
 * Gathering tokens and taking a rectangle agree, from float and 8-bit
 * planes, at the borders (clamped) and inside.
 */
static void test_gather_and_rect_agree(void **state)
{
	struct attn_feat f = feat_of(3, 1);
	struct test_rng rng = { 4242 };
	static float noise[3][W * H];
	static uint8_t noise8[3][W * H];

	(void)state;
	for (int c = 0; c < 3; c++) {
		for (int i = 0; i < W * H; i++) {
			noise[c][i] = rng_uniform(&rng);
			noise8[c][i] = (uint8_t)(rng_uniform(&rng) * 255.0f);
		}
		f.plane[c] = noise[c];
		f.weight[c] = 0.5f + c;
		f.zero_mean[c] = c == 1;
	}
	check_rect(&f, 0, 2, W - 1, H - 1);
	check_rect(&f, 3, 4, 3, 4);
	check_rect(&f, 2, 3, W - 4, H - 5);
	for (int c = 0; c < 3; c++) {
		f.plane[c] = NULL;
		f.plane8[c] = noise8[c];
	}
	check_rect(&f, 0, 0, W - 1, H - 1);
	check_rect(&f, 2, 3, W - 4, H - 5);
}

/* Plane c's samples over [x0, x1] x [y0, y1] are the nearest ones inside, weighted. */
static void check_samples(const struct attn_feat *f, int c, int x0, int y0, int x1, int y1)
{
	int w = x1 - x0 + 1, h = y1 - y0 + 1, stride = w + 2;
	float *out = malloc(sizeof(float) * stride * h);

	attn_feat_samples(f, c, x0, y0, x1, y1, out, stride);
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++) {
			int cx = clampi(x, 0, W - 1), cy = clampi(y, 0, H - 1);
			float want = f->weight[c] * (f->plane8[c] ?
				f->plane8[c][cy * W + cx] * (1.0f / 255.0f) : f->plane[c][cy * W + cx]);

			assert_true(out[(y - y0) * stride + x - x0] == want);
		}
	free(out);
}

/*
 * Rectangles inside the frame, across each edge, around it, and wholly
 * past it on either side, from float and 8-bit planes.
 */
static void test_samples_clamp_to_the_frame(void **state)
{
	struct attn_feat f = feat_of(1, 1);
	struct test_rng rng = { 77 };
	static float noise[W * H];
	static uint8_t noise8[W * H];
	const int rects[][4] = {
		{ 2, 1, 6, 5 }, { -3, -2, 4, 3 }, { 5, 4, W + 2, H + 3 }, { -20, -1, W + 19, H },
		{ -9, 2, -4, 6 }, { W, 0, W + 6, 2 }, { W + 3, 3, W + 5, 4 },
		{ W - 1, H - 1, W - 1, H - 1 },
	};

	(void)state;
	for (int i = 0; i < W * H; i++) {
		noise[i] = rng_uniform(&rng);
		noise8[i] = (uint8_t)(rng_uniform(&rng) * 255.0f);
	}
	f.weight[0] = 0.75f;
	for (int pass = 0; pass < 2; pass++) {
		f.plane[0] = pass ? NULL : noise;
		f.plane8[0] = pass ? noise8 : NULL;
		for (size_t i = 0; i < sizeof(rects) / sizeof(rects[0]); i++)
			check_samples(&f, 0, rects[i][0], rects[i][1], rects[i][2], rects[i][3]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dim),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_weights_scale_their_plane),
		cmocka_unit_test(test_zero_mean),
		cmocka_unit_test(test_borders_clamped),
		cmocka_unit_test(test_gather_and_rect_agree),
		cmocka_unit_test(test_samples_clamp_to_the_frame),
	};

	return cmocka_run_group_tests(tests, fill_planes, NULL);
}
