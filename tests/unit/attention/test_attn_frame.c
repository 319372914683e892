/*
 * attn_frame: creation, copies, box downsampling (ragged edges included),
 * bilinear sampling with clamping, dilation and the content scale, on
 * planes whose answers are known.
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

#include "attention/attn_frame.h"
#include "tests/unit/attention/attn_test_util.h"

#define EPS 1e-6f

/* A frame whose sample (c, x, y) is 100 c + 10 y + x. */
static attn_frame *indexed_frame(int w, int h, int planes)
{
	attn_frame *f;

	assert_int_equal(attn_frame_create(w, h, planes, &f), 0);
	for (int c = 0; c < planes; c++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				attn_plane(f, c)[y * w + x] = (float)(100 * c + 10 * y + x);
	return f;
}

static void test_create_rejects_bad_sizes(void **state)
{
	attn_frame *f = NULL;

	(void)state;
	assert_int_equal(attn_frame_create(0, 4, 1, &f), -EINVAL);
	assert_int_equal(attn_frame_create(4, 0, 1, &f), -EINVAL);
	assert_int_equal(attn_frame_create(4, 4, 0, &f), -EINVAL);
	assert_int_equal(attn_frame_create(-3, 4, 1, &f), -EINVAL);
	assert_null(f);
	attn_frame_free(NULL);
}

static void test_create_is_zeroed_with_planes_in_sequence(void **state)
{
	attn_frame *f;

	(void)state;
	assert_int_equal(attn_frame_create(5, 3, 4, &f), 0);
	assert_int_equal(f->width, 5);
	assert_int_equal(f->height, 3);
	assert_int_equal(f->planes, 4);
	for (int i = 0; i < 5 * 3 * 4; i++)
		assert_true(f->data[i] == 0.0f);
	assert_ptr_equal(attn_plane(f, 0), f->data);
	assert_ptr_equal(attn_plane(f, 3), f->data + 3 * 15);
	attn_frame_free(f);
}

static void test_clone_copies_every_plane(void **state)
{
	attn_frame *f = indexed_frame(7, 5, 3), *g;

	(void)state;
	assert_int_equal(attn_frame_clone(f, &g), 0);
	assert_ptr_not_equal(g->data, f->data);
	assert_int_equal(g->width, 7);
	assert_int_equal(g->height, 5);
	assert_int_equal(g->planes, 3);
	assert_memory_equal(g->data, f->data, sizeof(float) * 7 * 5 * 3);
	f->data[0] = -1.0f;
	assert_true(g->data[0] == 0.0f);
	attn_frame_free(f);
	attn_frame_free(g);
}

/* The mean of plane c of f over [x0, x1) x [y0, y1), clipped to the frame. */
static float box_mean(const attn_frame *f, int c, int x0, int y0, int x1, int y1)
{
	double sum = 0;
	int n = 0;

	for (int y = y0; y < y1 && y < f->height; y++)
		for (int x = x0; x < x1 && x < f->width; x++, n++)
			sum += attn_plane(f, c)[y * f->width + x];
	return (float)(sum / n);
}

static void check_downsample(int w, int h, int planes, int factor)
{
	attn_frame *f = indexed_frame(w, h, planes), *d;
	int dw = (w + factor - 1) / factor, dh = (h + factor - 1) / factor;

	assert_int_equal(attn_frame_downsample(f, factor, &d), 0);
	assert_int_equal(d->width, dw);
	assert_int_equal(d->height, dh);
	assert_int_equal(d->planes, planes);
	for (int c = 0; c < planes; c++)
		for (int y = 0; y < dh; y++)
			for (int x = 0; x < dw; x++)
				assert_float_equal(attn_plane(d, c)[y * dw + x],
						   box_mean(f, c, x * factor, y * factor,
							    (x + 1) * factor, (y + 1) * factor),
						   1e-4);
	attn_frame_free(f);
	attn_frame_free(d);
}

/* Coverage 0..255 reads as 0..1; a frame without coverage gives NULL. */
static void test_cover_floats(void **state)
{
	uint8_t cover[4] = { 0, 51, 255, 128 };
	struct attn_yuv8 f = { .width = 2, .height = 2 };
	float *out;

	(void)state;
	assert_int_equal(attn_cover_floats(&f, &out), 0);
	assert_null(out);
	f.cover = cover;
	assert_int_equal(attn_cover_floats(&f, &out), 0);
	assert_float_equal(out[0], 0.0f, 1e-7);
	assert_float_equal(out[1], 0.2f, 1e-7);
	assert_float_equal(out[2], 1.0f, 1e-7);
	assert_float_equal(out[3], 128.0f / 255.0f, 1e-7);
	free(out);
}

static void test_downsample_box_averages(void **state)
{
	(void)state;
	check_downsample(8, 6, 2, 2);
	check_downsample(9, 9, 1, 3);
	check_downsample(6, 4, 3, 1);
}

/* Edge cells that run past the frame average only what they cover. */
static void test_downsample_ragged_edges(void **state)
{
	attn_frame *f = indexed_frame(5, 3, 1), *d;

	(void)state;
	check_downsample(5, 3, 2, 2);
	check_downsample(7, 10, 1, 4);
	check_downsample(3, 2, 1, 5);
	assert_int_equal(attn_frame_downsample(f, 2, &d), 0);
	/* the last column is x = 4 alone, rows 0-1 then row 2 alone */
	assert_float_equal(d->data[2], (4 + 14) / 2.0f, EPS);
	assert_float_equal(d->data[5], 24.0f, EPS);
	assert_float_equal(d->data[3], (20 + 21) / 2.0f, EPS);
	attn_frame_free(d);
	attn_frame_free(f);
}

static void test_downsample_rejects_factor_below_one(void **state)
{
	attn_frame *f = indexed_frame(4, 4, 1), *d = NULL;

	(void)state;
	assert_int_equal(attn_frame_downsample(f, 0, &d), -EINVAL);
	assert_int_equal(attn_frame_downsample(f, -2, &d), -EINVAL);
	assert_null(d);
	attn_frame_free(f);
}

/* On a plane a + b x + c y, bilinear interpolation is exact inside. */
static void test_sample_bilinear_is_exact_on_linear_planes(void **state)
{
	enum { W = 6, H = 5 };
	float p[W * H];
	struct test_rng rng = { 12345 };

	(void)state;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			p[y * W + x] = 0.25f + 0.5f * x - 0.75f * y;
	for (int i = 0; i < 200; i++) {
		float x = rng_range(&rng, 0.0f, W - 1), y = rng_range(&rng, 0.0f, H - 1);

		assert_float_equal(attn_sample(p, W, H, x, y), 0.25f + 0.5f * x - 0.75f * y,
				   1e-5);
	}
}

static void test_sample_hits_pixels_and_midpoints(void **state)
{
	const float p[3 * 2] = { 1, 2, 4, 8, 16, 32 };

	(void)state;
	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 3; x++)
			assert_true(attn_sample(p, 3, 2, (float)x, (float)y) == p[y * 3 + x]);
	assert_float_equal(attn_sample(p, 3, 2, 0.5f, 0.0f), 1.5f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 1.0f, 0.5f), 9.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 1.5f, 0.5f), (2 + 4 + 16 + 32) / 4.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 0.25f, 0.75f),
			   0.25f * (1 + 0.25f * 1) + 0.75f * (8 + 0.25f * 8), EPS);
}

/* Outside the plane the nearest edge is used, on each axis on its own. */
static void test_sample_clamps_outside(void **state)
{
	const float p[3 * 2] = { 1, 2, 4, 8, 16, 32 };

	(void)state;
	assert_float_equal(attn_sample(p, 3, 2, -0.5f, 0.0f), 1.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, -7.0f, -9.0f), 1.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 2.5f, 0.0f), 4.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 40.0f, 30.0f), 32.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 1.0f, 5.0f), 16.0f, EPS);
	assert_float_equal(attn_sample(p, 3, 2, 0.5f, -3.0f), 1.5f, EPS);
	assert_float_equal(attn_sample(p, 1, 1, 0.3f, -0.8f), 1.0f, EPS);
}

/* A single bright pixel grows to the (2r+1)^2 square, cut at the borders. */
static void test_dilate_grows_a_point_to_a_square(void **state)
{
	enum { W = 9, H = 7 };
	float p[W * H] = { 0 }, out[W * H];

	(void)state;
	p[1 * W + 7] = 0.5f;
	assert_int_equal(attn_dilate(p, W, H, 2, out), 0);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			float want = abs(x - 7) <= 2 && abs(y - 1) <= 2 ? 0.5f : 0.0f;

			assert_true(out[y * W + x] == want);
		}
	assert_int_equal(attn_dilate(p, W, H, 0, out), 0);
	assert_memory_equal(out, p, sizeof(p));
}

static void test_dilate_matches_a_naive_max(void **state)
{
	enum { W = 13, H = 11 };
	float p[W * H], out[W * H];
	struct test_rng rng = { 99 };

	(void)state;
	for (int i = 0; i < W * H; i++)
		p[i] = rng_range(&rng, -1.0f, 1.0f);
	for (int r = 1; r <= 4; r++) {
		assert_int_equal(attn_dilate(p, W, H, r, out), 0);
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				float m = -INFINITY;

				for (int yy = y - r; yy <= y + r; yy++)
					for (int xx = x - r; xx <= x + r; xx++)
						if (xx >= 0 && xx < W && yy >= 0 && yy < H)
							m = fmaxf(m, p[yy * W + xx]);
				assert_true(out[y * W + x] == m);
			}
	}
}

/* A ramp a x: every horizontal step is a, every vertical step 0. */
static void test_content_scale_of_a_ramp(void **state)
{
	attn_frame *f;

	(void)state;
	assert_int_equal(attn_frame_create(6, 4, 1, &f), 0);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 6; x++)
			f->data[y * 6 + x] = 0.1f * x;
	assert_float_equal(attn_content_scale(f, 1, NULL), 0.01f / 2, 1e-7);
	for (int i = 0; i < 24; i++)
		f->data[i] = 0.3f;
	assert_true(attn_content_scale(f, 1, NULL) == 0.0f);
	attn_frame_free(f);
}

/* A 0/1 checkerboard differs by 1 at every step: the scale is 1. */
static void test_content_scale_of_a_checkerboard_and_planes(void **state)
{
	attn_frame *f;

	(void)state;
	assert_int_equal(attn_frame_create(5, 5, 2, &f), 0);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 5; x++)
			f->data[y * 5 + x] = (float)((x + y) % 2);
	assert_float_equal(attn_content_scale(f, 1, NULL), 1.0f, EPS);
	/* the second plane is flat: it halves the mean */
	assert_float_equal(attn_content_scale(f, 2, NULL), 0.5f, EPS);
	attn_frame_free(f);
}

/* Only pixels whose weight is above one half count. */
static void test_content_scale_weighted(void **state)
{
	attn_frame *f;
	float weight[6 * 4];

	(void)state;
	assert_int_equal(attn_frame_create(6, 4, 1, &f), 0);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 6; x++) {
			f->data[y * 6 + x] = x < 3 ? 0.0f : (float)((x + y) % 2);
			weight[y * 6 + x] = x < 2 ? 1.0f : 0.5f;
		}
	/* columns 0 and 1 of rows 0..2 and their right neighbours are all 0 */
	assert_float_equal(attn_content_scale(f, 1, weight), 0.0f, EPS);
	for (int i = 0; i < 24; i++)
		weight[i] = i % 6 >= 3 ? 0.9f : 0.0f;
	/* columns 3 and 4 of rows 0..2, all checkerboard steps */
	assert_float_equal(attn_content_scale(f, 1, weight), 1.0f, EPS);
	for (int i = 0; i < 24; i++)
		weight[i] = 0.0f;
	assert_true(attn_content_scale(f, 1, weight) == 0.0f);
	attn_frame_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_bad_sizes),
		cmocka_unit_test(test_create_is_zeroed_with_planes_in_sequence),
		cmocka_unit_test(test_clone_copies_every_plane),
		cmocka_unit_test(test_cover_floats),
		cmocka_unit_test(test_downsample_box_averages),
		cmocka_unit_test(test_downsample_ragged_edges),
		cmocka_unit_test(test_downsample_rejects_factor_below_one),
		cmocka_unit_test(test_sample_bilinear_is_exact_on_linear_planes),
		cmocka_unit_test(test_sample_hits_pixels_and_midpoints),
		cmocka_unit_test(test_sample_clamps_outside),
		cmocka_unit_test(test_dilate_grows_a_point_to_a_square),
		cmocka_unit_test(test_dilate_matches_a_naive_max),
		cmocka_unit_test(test_content_scale_of_a_ramp),
		cmocka_unit_test(test_content_scale_of_a_checkerboard_and_planes),
		cmocka_unit_test(test_content_scale_weighted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
