/*
 * attn_motion: known global shifts of a smooth random texture, integer and
 * sub-pixel, are recovered; identical frames give zero motion; with a
 * weight mask the masked region's own motion wins over a background that
 * moves otherwise; attn_motion_at interpolates between cell centres.
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

#include "attention/attn_motion.h"
#include "tests/unit/attention/attn_test_util.h"

#define W 192
#define H 128
#define CELL 32
#define RANGE 8
#define TOL 0.25f


/* Motion from a to b (a's mask may be NULL), through the prepared frames. */
static int estimate(const float *a, const float *b, const float *weight,
		    attn_motion **m)
{
	attn_motion_frame *fa = NULL, *fb = NULL;
	int ret = attn_motion_frame_create(a, weight, W, H, &fa);

	if (ret >= 0)
		ret = attn_motion_frame_create(b, NULL, W, H, &fb);
	if (ret >= 0)
		ret = attn_motion_estimate(fa, fb, CELL, RANGE, m);
	attn_motion_frame_free(fa);
	attn_motion_frame_free(fb);
	return ret;
}

static struct texture luma_texture(uint64_t seed)
{
	struct test_rng rng = { seed };

	return texture_random(&rng, 0.5f, 0.8f, 5.0f, 24.0f);
}

/* The motion from the texture to the texture moved by (dx, dy). */
static attn_motion *estimate_shift(const struct texture *t, float dx, float dy,
				   const float *weight)
{
	float *a = plane_new(W, H), *b = plane_new(W, H);
	attn_motion *m;

	texture_fill(t, a, W, H, 0, 0);
	texture_fill(t, b, W, H, dx, dy);
	assert_int_equal(estimate(a, b, weight, &m), 0);
	free(a);
	free(b);
	return m;
}

/* Every cell's displacement is (dx, dy) within tol. */
static void assert_field(const attn_motion *m, float dx, float dy, float tol)
{
	for (int i = 0; i < m->gw * m->gh; i++)
		if (fabsf(m->dx[i] - dx) > tol || fabsf(m->dy[i] - dy) > tol)
			fail_msg("cell %d: (%.3f, %.3f), want (%.3f, %.3f)", i,
				 (double)m->dx[i], (double)m->dy[i], (double)dx, (double)dy);
}

static void test_grid_layout(void **state)
{
	attn_motion *m;

	(void)state;
	assert_int_equal(attn_motion_zero(W + 1, H, CELL, &m), 0);
	assert_int_equal(m->gw, W / CELL + 1);
	assert_int_equal(m->gh, H / CELL);
	assert_int_equal(m->cell, CELL);
	for (int i = 0; i < m->gw * m->gh; i++)
		assert_true(m->dx[i] == 0.0f && m->dy[i] == 0.0f);
	attn_motion_free(m);
	assert_int_equal(attn_motion_zero(0, H, CELL, &m), -EINVAL);
	assert_int_equal(attn_motion_zero(W, 0, CELL, &m), -EINVAL);
	assert_int_equal(attn_motion_zero(W, H, 0, &m), -EINVAL);
	attn_motion_free(NULL);
}

static void test_identical_frames_do_not_move(void **state)
{
	struct texture t = luma_texture(1);
	attn_motion *m = estimate_shift(&t, 0, 0, NULL);

	(void)state;
	assert_field(m, 0, 0, 0.02f);
	attn_motion_free(m);
}

static void test_integer_shift(void **state)
{
	static const float shifts[][2] = { { 3, -2 }, { -5, 0 }, { 0, 6 } };
	struct texture t = luma_texture(2);

	(void)state;
	for (int s = 0; s < 3; s++) {
		attn_motion *m = estimate_shift(&t, shifts[s][0], shifts[s][1], NULL);

		assert_field(m, shifts[s][0], shifts[s][1], TOL);
		attn_motion_free(m);
	}
}

static void test_subpixel_shift(void **state)
{
	static const float shifts[][2] = { { 2.5f, 1.25f }, { -1.3f, 0.6f }, { 0.4f, -3.7f } };
	struct texture t = luma_texture(3);

	(void)state;
	for (int s = 0; s < 3; s++) {
		attn_motion *m = estimate_shift(&t, shifts[s][0], shifts[s][1], NULL);

		assert_field(m, shifts[s][0], shifts[s][1], TOL);
		attn_motion_free(m);
	}
}

/* A gain change between the frames does not move the match. */
static void test_brightness_change_does_not_move(void **state)
{
	struct test_rng rng = { 4 };
	struct texture t = texture_random(&rng, 0.5f, 0.2f, 5.0f, 24.0f);
	float *a = plane_new(W, H), *b = plane_new(W, H);
	attn_motion *m;

	(void)state;
	texture_fill(&t, a, W, H, 0, 0);
	texture_fill(&t, b, W, H, 2, -1);
	/* brighter, and more so to the right */
	for (int i = 0; i < W * H; i++)
		b[i] += 0.1f + 0.3f * (float)(i % W) / W;
	assert_int_equal(estimate(a, b, NULL, &m), 0);
	assert_field(m, 2, -1, TOL);
	attn_motion_free(m);
	free(a);
	free(b);
}

/* A square of the frame: left, top, side. */
struct square {
	int x, y, side;
};

/*
 * The square filled with one texture moving by (-3, 2) over a background
 * of another moving by (4, 0). Frame b is the moved background with the
 * moved square pasted over it; mask is the square in a.
 */
static void moving_square(struct square sq, float *a, float *b, float *mask)
{
	struct texture bg = luma_texture(5), fg = luma_texture(6);

	texture_fill(&bg, a, W, H, 0, 0);
	texture_fill(&bg, b, W, H, 4, 0);
	rect_mask(mask, W, H, sq.x, sq.y, sq.x + sq.side, sq.y + sq.side);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			int bx = x + 3, by = y - 2;

			if (mask[y * W + x] > 0.5f)
				a[y * W + x] = texture_at(&fg, x, y);
			if (bx >= sq.x && bx < sq.x + sq.side && by >= sq.y && by < sq.y + sq.side)
				b[y * W + x] = texture_at(&fg, bx, by);
		}
}

/* The motion at (px, py), estimated with or without the square's mask as weight. */
static void square_motion(struct square sq, int weighted, float px, float py,
			  float *dx, float *dy)
{
	float *a = plane_new(W, H), *b = plane_new(W, H), *mask = plane_new(W, H);
	attn_motion *m;

	moving_square(sq, a, b, mask);
	assert_int_equal(estimate(a, b, weighted ? mask : NULL, &m), 0);
	attn_motion_at(m, px, py, dx, dy);
	attn_motion_free(m);
	free(a);
	free(b);
	free(mask);
}

static void test_weight_mask_follows_the_masked_region(void **state)
{
	struct square sq = { 48, 16, 96 };
	float dx, dy;

	(void)state;
	square_motion(sq, 1, 96.0f, 64.0f, &dx, &dy);
	assert_float_equal(dx, -3.0f, TOL);
	assert_float_equal(dy, 2.0f, TOL);
	/* without the weights the background shows its own motion */
	square_motion(sq, 0, 8.0f, 8.0f, &dx, &dy);
	assert_float_equal(dx, 4.0f, TOL);
	assert_float_equal(dy, 0.0f, TOL);
}

/* Cell centres give their cell's value; between them the field is bilinear, clamped outside. */
static void test_motion_at_interpolates(void **state)
{
	attn_motion *m;
	float dx, dy;

	(void)state;
	assert_int_equal(attn_motion_zero(40, 20, 10, &m), 0);
	assert_int_equal(m->gw, 4);
	assert_int_equal(m->gh, 2);
	for (int i = 0; i < 8; i++) {
		m->dx[i] = (float)i;
		m->dy[i] = (float)(-2 * i);
	}
	attn_motion_at(m, 15.0f, 5.0f, &dx, &dy);
	assert_float_equal(dx, 1.0f, 1e-6);
	assert_float_equal(dy, -2.0f, 1e-6);
	attn_motion_at(m, 20.0f, 5.0f, &dx, &dy);
	assert_float_equal(dx, 1.5f, 1e-6);
	assert_float_equal(dy, -3.0f, 1e-6);
	attn_motion_at(m, 25.0f, 10.0f, &dx, &dy);
	assert_float_equal(dx, 0.5f * (2 + 6), 1e-6);
	assert_float_equal(dy, -8.0f, 1e-6);
	attn_motion_at(m, 17.5f, 12.5f, &dx, &dy);
	assert_float_equal(dx, 1.25f + 0.75f * 4, 1e-6);
	attn_motion_at(m, -30.0f, -30.0f, &dx, &dy);
	assert_float_equal(dx, 0.0f, 1e-6);
	attn_motion_at(m, 100.0f, 100.0f, &dx, &dy);
	assert_float_equal(dx, 7.0f, 1e-6);
	assert_float_equal(dy, -14.0f, 1e-6);
	attn_motion_free(m);
}

/* A square of one and a half cells: unweighted, its centre's motion is mixed with the background's. */
static void test_weight_mask_small_region(void **state)
{
	struct square sq = { 72, 40, 48 };
	float dx, dy;

	(void)state;
	square_motion(sq, 0, 96.0f, 64.0f, &dx, &dy);
	assert_true(fabsf(dx + 3.0f) > 1.0f || fabsf(dy - 2.0f) > 1.0f);
	square_motion(sq, 1, 96.0f, 64.0f, &dx, &dy);
	assert_float_equal(dx, -3.0f, TOL);
	assert_float_equal(dy, 2.0f, TOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_layout),
		cmocka_unit_test(test_identical_frames_do_not_move),
		cmocka_unit_test(test_integer_shift),
		cmocka_unit_test(test_subpixel_shift),
		cmocka_unit_test(test_brightness_change_does_not_move),
		cmocka_unit_test(test_weight_mask_follows_the_masked_region),
		cmocka_unit_test(test_weight_mask_small_region),
		cmocka_unit_test(test_motion_at_interpolates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
