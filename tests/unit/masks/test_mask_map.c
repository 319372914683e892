/*
 * Unit tests of masks/mask_map: coverage from images, resampling (area
 * average, bilinear, mixed), feathering, blending and emptiness.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "masks/mask_map.h"

#define EPS 1e-6f

/* A new map of w x h holding the given values, row-major. */
static mask_map *map_of(int w, int h, const float *values)
{
	mask_map *map;

	assert_int_equal(mask_map_create(w, h, &map), 0);
	memcpy(map->cov, values, (size_t)w * h * sizeof(*values));
	return map;
}

static void assert_values(const mask_map *map, const float *want)
{
	int i;

	for (i = 0; i < map->width * map->height; i++) {
		if (fabsf(map->cov[i] - want[i]) > EPS)
			fail_msg("sample %d is %.7f, want %.7f", i,
				 (double)map->cov[i], (double)want[i]);
	}
}

static double map_mean(const mask_map *map)
{
	double sum = 0;
	int i;

	for (i = 0; i < map->width * map->height; i++)
		sum += map->cov[i];
	return sum / (map->width * map->height);
}

/* A w x h map of reproducible pseudo-random values in 0..1. */
static mask_map *noise_map(int w, int h)
{
	unsigned int seed = 7;
	mask_map *map;
	int i;

	assert_int_equal(mask_map_create(w, h, &map), 0);
	for (i = 0; i < w * h; i++) {
		seed = seed * 1103515245u + 12345u;
		map->cov[i] = (float)((seed >> 16) & 0x7fff) / 0x7fff;
	}
	return map;
}

static void test_create(void **state)
{
	mask_map *map;

	(void)state;
	assert_int_equal(mask_map_create(3, 2, &map), 0);
	assert_int_equal(map->width, 3);
	assert_int_equal(map->height, 2);
	assert_int_equal(mask_map_is_empty(map), 1);
	mask_map_free(map);
	assert_int_equal(mask_map_create(0, 2, &map), -EINVAL);
	assert_int_equal(mask_map_create(2, -1, &map), -EINVAL);
	assert_int_equal(mask_map_create(2, 2, NULL), -EINVAL);
	mask_map_free(NULL);
}

/* The coverage of a 1 x 1 image of the given samples. */
static float coverage_of(int channels, const uint16_t *px)
{
	mask_image *img;
	mask_map *map;
	float cov;

	assert_int_equal(mask_image_create(1, 1, channels, &img), 0);
	memcpy(img->data, px, channels * sizeof(*px));
	assert_int_equal(mask_map_from_image(img, &map), 0);
	assert_int_equal(map->width, 1);
	cov = map->cov[0];
	mask_map_free(map);
	mask_image_free(img);
	return cov;
}

static void test_from_image_gray_is_luma(void **state)
{
	static const uint16_t white[] = { 65535 }, black[] = { 0 };
	static const uint16_t mid[] = { 32768 };

	(void)state;
	assert_float_equal(coverage_of(MASK_GRAY, white), 1.0f, EPS);
	assert_float_equal(coverage_of(MASK_GRAY, black), 0.0f, EPS);
	assert_float_equal(coverage_of(MASK_GRAY, mid), 32768 / 65535.0f, EPS);
}

static void test_from_image_rgb_is_bt709_luma(void **state)
{
	static const uint16_t red[] = { 65535, 0, 0 };
	static const uint16_t green[] = { 0, 65535, 0 };
	static const uint16_t blue[] = { 0, 0, 65535 };
	static const uint16_t white[] = { 65535, 65535, 65535 };

	(void)state;
	assert_float_equal(coverage_of(MASK_RGB, red), 0.2126f, EPS);
	assert_float_equal(coverage_of(MASK_RGB, green), 0.7152f, EPS);
	assert_float_equal(coverage_of(MASK_RGB, blue), 0.0722f, EPS);
	assert_float_equal(coverage_of(MASK_RGB, white), 1.0f, EPS);
}

static void test_from_image_alpha_wins(void **state)
{
	static const uint16_t white_clear[] = { 65535, 0 };
	static const uint16_t black_opaque[] = { 0, 65535 };
	static const uint16_t white_half[] = { 65535, 65535, 65535, 16384 };
	static const uint16_t black_opaque4[] = { 0, 0, 0, 65535 };

	(void)state;
	assert_float_equal(coverage_of(MASK_GRAY_ALPHA, white_clear), 0.0f, EPS);
	assert_float_equal(coverage_of(MASK_GRAY_ALPHA, black_opaque), 1.0f, EPS);
	assert_float_equal(coverage_of(MASK_RGBA, white_half), 16384 / 65535.0f,
			   EPS);
	assert_float_equal(coverage_of(MASK_RGBA, black_opaque4), 1.0f, EPS);
}

static void test_from_image_rejects_bad_input(void **state)
{
	mask_image *img;
	mask_map *map;

	(void)state;
	assert_int_equal(mask_map_from_image(NULL, &map), -EINVAL);
	assert_int_equal(mask_image_create(2, 2, MASK_GRAY, &img), 0);
	assert_int_equal(mask_map_from_image(img, NULL), -EINVAL);
	img->channels = 5;
	assert_int_equal(mask_map_from_image(img, &map), -EINVAL);
	mask_image_free(img);
}

/* Resizes a map of the given values and checks the result's values. */
static void check_resize(int sw, int sh, const float *src, int dw, int dh,
			 const float *want)
{
	mask_map *in = map_of(sw, sh, src), *out;

	assert_int_equal(mask_map_resize(in, dw, dh, &out), 0);
	assert_int_equal(out->width, dw);
	assert_int_equal(out->height, dh);
	assert_values(out, want);
	mask_map_free(out);
	mask_map_free(in);
}

static void test_shrink_binary_edge_halves(void **state)
{
	static const float row[] = { 0, 1, 1, 1 };
	static const float col[] = { 0, 1, 1, 1 };
	static const float want[] = { 0.5f, 1 };

	(void)state;
	check_resize(4, 1, row, 2, 1, want);
	check_resize(1, 4, col, 1, 2, want);
}

static void test_shrink_uneven_factor_is_exact_box(void **state)
{
	static const float three[] = { 0, 1, 1 };
	static const float three_want[] = { 1 / 3.0f, 1 };
	static const float five[] = { 1, 0, 0, 0, 0 };
	static const float five_want[] = { 0.4f, 0 };
	static const float five_soft[] = { 0, 0, 0.5f, 1, 1 };
	static const float five_soft_want[] = { 0.1f, 0.9f };

	(void)state;
	check_resize(3, 1, three, 2, 1, three_want);
	check_resize(5, 1, five, 2, 1, five_want);
	check_resize(5, 1, five_soft, 2, 1, five_soft_want);
}

static void test_shrink_keeps_mean(void **state)
{
	mask_map *in = noise_map(97, 61), *out;

	(void)state;
	assert_int_equal(mask_map_resize(in, 20, 13, &out), 0);
	assert_float_equal(map_mean(out), map_mean(in), 1e-5);
	mask_map_free(out);
	mask_map_free(in);
}

static void test_enlarge_is_bilinear_centre_aligned(void **state)
{
	static const float row[] = { 0, 1 };
	static const float want[] = { 0, 0.25f, 0.75f, 1 };
	static const float ramp[] = { 0, 1, 0 };
	/* centres of 3 -> 6 at 0.25 steps from -0.25, clamped at the ends */
	static const float ramp_want[] = { 0, 0.25f, 0.75f, 0.75f, 0.25f, 0 };

	(void)state;
	check_resize(2, 1, row, 4, 1, want);
	check_resize(1, 2, row, 1, 4, want);
	check_resize(3, 1, ramp, 6, 1, ramp_want);
}

static void test_enlarge_two_axes(void **state)
{
	static const float src[] = {
		0, 1,
		1, 1,
	};
	/* the bilinear weights are (1, .25 / .75, .75 / .25, 1) on each axis */
	static const float want[] = {
		0, 0.25f, 0.75f, 1,
		0.25f, 0.4375f, 0.8125f, 1,
		0.75f, 0.8125f, 0.9375f, 1,
		1, 1, 1, 1,
	};

	(void)state;
	check_resize(2, 2, src, 4, 4, want);
}

static void test_mixed_axes(void **state)
{
	static const float src[] = {
		0, 1, 1, 1,
		1, 1, 1, 1,
	};
	/* area average across (0.5, 1 / 1, 1), bilinear down the columns */
	static const float want[] = {
		0.5f, 1,
		0.625f, 1,
		0.875f, 1,
		1, 1,
	};

	(void)state;
	check_resize(4, 2, src, 2, 4, want);
}

static void test_same_size_is_a_copy(void **state)
{
	mask_map *in = noise_map(17, 9), *out;

	(void)state;
	assert_int_equal(mask_map_resize(in, 17, 9, &out), 0);
	assert_ptr_not_equal(out->cov, in->cov);
	assert_memory_equal(out->cov, in->cov, 17 * 9 * sizeof(float));
	mask_map_free(out);
	mask_map_free(in);
}

static void test_resize_rejects_bad_input(void **state)
{
	mask_map *in = noise_map(4, 4), *out;

	(void)state;
	assert_int_equal(mask_map_resize(NULL, 2, 2, &out), -EINVAL);
	assert_int_equal(mask_map_resize(in, 0, 2, &out), -EINVAL);
	assert_int_equal(mask_map_resize(in, 2, -2, &out), -EINVAL);
	assert_int_equal(mask_map_resize(in, 2, 2, NULL), -EINVAL);
	mask_map_free(in);
}

/* A w x h map with a filled square of side s in the middle. */
static mask_map *square_map(int w, int h, int s)
{
	mask_map *map;
	int x, y;

	assert_int_equal(mask_map_create(w, h, &map), 0);
	for (y = (h - s) / 2; y < (h + s) / 2; y++)
		for (x = (w - s) / 2; x < (w + s) / 2; x++)
			map->cov[y * w + x] = 1;
	return map;
}

static void test_feather_zero_is_noop(void **state)
{
	mask_map *map = noise_map(11, 7);
	float before[11 * 7];

	(void)state;
	memcpy(before, map->cov, sizeof(before));
	assert_int_equal(mask_map_feather(map, 0), 0);
	assert_memory_equal(map->cov, before, sizeof(before));
	mask_map_free(map);
}

static void test_feather_softens_and_keeps_mean(void **state)
{
	mask_map *map = square_map(40, 40, 16);
	double mean = map_mean(map);
	int x, row = 20 * 40;

	(void)state;
	assert_int_equal(mask_map_feather(map, 4), 0);
	assert_float_equal(map_mean(map), mean, 1e-4);
	/* across the left edge of the square (x = 12) the row now ramps up */
	for (x = 8; x < 16; x++) {
		assert_true(map->cov[row + x] > 0);
		assert_true(map->cov[row + x] < 1);
		assert_true(map->cov[row + x] < map->cov[row + x + 1]);
	}
	assert_float_equal(map->cov[row + 12] + map->cov[row + 11], 1.0f, 1e-4);
	assert_float_equal(map->cov[row + 20], 1.0f, 1e-3);
	assert_float_equal(map->cov[row], 0.0f, 1e-6);
	mask_map_free(map);
}

static void test_feather_clamps_edges(void **state)
{
	mask_map *map;
	int i;

	(void)state;
	assert_int_equal(mask_map_create(9, 5, &map), 0);
	for (i = 0; i < 9 * 5; i++)
		map->cov[i] = 0.7f;
	assert_int_equal(mask_map_feather(map, 3), 0);
	for (i = 0; i < 9 * 5; i++)
		assert_float_equal(map->cov[i], 0.7f, 1e-5);
	/* a radius far past the map's size still clamps and stays bounded */
	assert_int_equal(mask_map_feather(map, 1e6f), 0);
	for (i = 0; i < 9 * 5; i++)
		assert_float_equal(map->cov[i], 0.7f, 1e-5);
	mask_map_free(map);
}

static void test_feather_rejects_bad_radius(void **state)
{
	mask_map *map = noise_map(3, 3);

	(void)state;
	assert_int_equal(mask_map_feather(map, -1), -EINVAL);
	assert_int_equal(mask_map_feather(map, NAN), -EINVAL);
	assert_int_equal(mask_map_feather(map, INFINITY), -EINVAL);
	assert_int_equal(mask_map_feather(NULL, 1), -EINVAL);
	mask_map_free(map);
}

static void test_lerp(void **state)
{
	static const float av[] = { 0, 1, 0.5f, 0.2f };
	static const float bv[] = { 1, 1, 0, 0.6f };
	static const float quarter[] = { 0.25f, 1, 0.375f, 0.3f };
	mask_map *a = map_of(2, 2, av), *b = map_of(2, 2, bv), *out;

	(void)state;
	assert_int_equal(mask_map_create(2, 2, &out), 0);
	assert_int_equal(mask_map_lerp(a, b, 0, out), 0);
	assert_values(out, av);
	assert_int_equal(mask_map_lerp(a, b, 1, out), 0);
	assert_values(out, bv);
	assert_int_equal(mask_map_lerp(a, b, 0.25f, out), 0);
	assert_values(out, quarter);
	/* out may be one of the inputs */
	assert_int_equal(mask_map_lerp(a, b, 0.25f, a), 0);
	assert_values(a, quarter);
	mask_map_free(out);
	mask_map_free(b);
	mask_map_free(a);
}

static void test_lerp_rejects_bad_input(void **state)
{
	mask_map *a = noise_map(2, 2), *b = noise_map(2, 2), *c = noise_map(3, 2);

	(void)state;
	assert_int_equal(mask_map_lerp(a, c, 0.5f, a), -EINVAL);
	assert_int_equal(mask_map_lerp(a, b, 0.5f, c), -EINVAL);
	assert_int_equal(mask_map_lerp(a, b, 1.5f, a), -EINVAL);
	assert_int_equal(mask_map_lerp(a, b, -0.1f, a), -EINVAL);
	assert_int_equal(mask_map_lerp(a, b, NAN, a), -EINVAL);
	assert_int_equal(mask_map_lerp(NULL, b, 0.5f, a), -EINVAL);
	assert_int_equal(mask_map_lerp(a, b, 0.5f, NULL), -EINVAL);
	mask_map_free(c);
	mask_map_free(b);
	mask_map_free(a);
}

static void test_is_empty(void **state)
{
	mask_map *map;

	(void)state;
	assert_int_equal(mask_map_create(5, 4, &map), 0);
	assert_int_equal(mask_map_is_empty(map), 1);
	map->cov[19] = 1e-7f;
	assert_int_equal(mask_map_is_empty(map), 0);
	mask_map_free(map);
	assert_int_equal(mask_map_is_empty(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_from_image_gray_is_luma),
		cmocka_unit_test(test_from_image_rgb_is_bt709_luma),
		cmocka_unit_test(test_from_image_alpha_wins),
		cmocka_unit_test(test_from_image_rejects_bad_input),
		cmocka_unit_test(test_shrink_binary_edge_halves),
		cmocka_unit_test(test_shrink_uneven_factor_is_exact_box),
		cmocka_unit_test(test_shrink_keeps_mean),
		cmocka_unit_test(test_enlarge_is_bilinear_centre_aligned),
		cmocka_unit_test(test_enlarge_two_axes),
		cmocka_unit_test(test_mixed_axes),
		cmocka_unit_test(test_same_size_is_a_copy),
		cmocka_unit_test(test_resize_rejects_bad_input),
		cmocka_unit_test(test_feather_zero_is_noop),
		cmocka_unit_test(test_feather_softens_and_keeps_mean),
		cmocka_unit_test(test_feather_clamps_edges),
		cmocka_unit_test(test_feather_rejects_bad_radius),
		cmocka_unit_test(test_lerp),
		cmocka_unit_test(test_lerp_rejects_bad_input),
		cmocka_unit_test(test_is_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
