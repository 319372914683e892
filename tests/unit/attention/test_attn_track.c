/*
 * attn_track on a textured scene that moves by a known amount per frame:
 * the mask follows it, keeps its edges over many frames instead of
 * spreading, leaves with what leaves the frame and does not cover what
 * comes into view. On scenes where only part of what the mask covers shows
 * motion: it stays with the still content a bar crosses, keeps its size
 * where a still edge is crossed by a moving line, and moves with an object
 * however much flat margin it also covers.
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

#include "attention/attn_track.h"
#include "tests/unit/attention/attn_test_util.h"

#define W 128
#define H 96
#define MAX_STEPS 12

/*
 * The mask over [x0, x1) x [y0, y1) (whole frame: 0, 0, W, H) carried
 * through `steps` frames, the scene moving by (sx, sy) per frame; the
 * last frame's coverage (0..1) into out.
 */
static void carry(int x0, int y0, int x1, int y1, int steps, float sx, float sy,
		  float *out)
{
	struct test_rng rng = { 21 };
	struct yuv_texture t = yuv_texture_random(&rng);
	struct yuv8_frame f8[MAX_STEPS + 1];
	uint8_t *cover[MAX_STEPS + 1];
	float *mask = plane_new(W, H);
	attn_track *tr;

	assert_true(steps <= MAX_STEPS);
	rect_mask(mask, W, H, x0, y0, x1, y1);
	for (int i = 0; i <= steps; i++) {
		attn_frame *f = yuv_frame(&t, W, H, sx * i, sy * i);

		f8[i] = yuv8_quantize(f);
		attn_frame_free(f);
		cover[i] = i ? malloc(W * H) : cover8(mask, W, H);
		f8[i].view.cover = cover[i];
	}
	assert_int_equal(attn_track_create(&f8[0].view, &tr), 0);
	for (int i = 1; i <= steps; i++)
		assert_int_equal(attn_track_next(tr, &f8[i - 1].view, &f8[i].view,
						 cover[i]), 0);
	for (int i = 0; i < W * H; i++)
		out[i] = cover[steps][i] / 255.0f;
	attn_track_free(tr);
	for (int i = 0; i <= steps; i++) {
		free(f8[i].samples);
		free(cover[i]);
	}
	free(mask);
}

/*
 * After `steps` frames of (sx, sy), the mask is near the rectangle moved
 * by as much (an error under a fifth of not moving it), sharp at mid
 * height on both vertical edges, and has not spread: the pixels it
 * touches at all are few more than the rectangle's.
 */
static void check_rect(int x0, int y0, int x1, int y1, int steps, int sx, int sy)
{
	float *out = plane_new(W, H), *want = plane_new(W, H), *mask = plane_new(W, H);
	int dx = sx * steps, dy = sy * steps, ym = (y0 + y1) / 2 + dy;
	double err = 0, unmoved = 0;
	int touched = 0, area = 0;

	carry(x0, y0, x1, y1, steps, (float)sx, (float)sy, out);
	rect_mask(mask, W, H, x0, y0, x1, y1);
	rect_mask(want, W, H, x0 + dx, y0 + dy, x1 + dx, y1 + dy);
	for (int i = 0; i < W * H; i++) {
		err += fabsf(out[i] - want[i]);
		unmoved += fabsf(mask[i] - want[i]);
		touched += out[i] > 0.0f;
		area += want[i] > 0.5f;
	}
	assert_true(err < 0.2 * unmoved);
	assert_float_equal(out[ym * W + x1 + dx - 2], 1.0f, 0.05);
	assert_float_equal(out[ym * W + x1 + dx + 2], 0.0f, 0.05);
	assert_float_equal(out[ym * W + x0 + dx + 2], 1.0f, 0.05);
	assert_float_equal(out[ym * W + x0 + dx - 2], 0.0f, 0.05);
	assert_true(touched < area + (x1 - x0 + y1 - y0) * 2 * 2);
	free(out);
	free(want);
	free(mask);
}

static void test_follows_a_shift(void **state)
{
	(void)state;
	check_rect(8, 8, 100, 80, 1, 4, 2);
}

/* A mask away from the right edge: the cells right of it see none of it. */
static void test_follows_a_central_region(void **state)
{
	(void)state;
	check_rect(32, 24, 96, 72, 1, 4, 2);
}

/* Twelve frames on, the edges are as sharp as after one. */
static void test_keeps_its_edges_over_many_frames(void **state)
{
	(void)state;
	check_rect(16, 16, 64, 56, MAX_STEPS, 2, 1);
}

/*
 * A mask over the whole frame while the scene pans right: what came in
 * from the left was never masked; the rest stays covered.
 */
static void test_what_comes_into_view_is_not_covered(void **state)
{
	float *out = plane_new(W, H);

	(void)state;
	carry(0, 0, W, H, 3, 6.0f, 0.0f, out);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < 16; x++)
			assert_float_equal(out[y * W + x], 0.0f, 1e-6);
		for (int x = 40; x < W; x++)
			assert_float_equal(out[y * W + x], 1.0f, 0.01);
	}
	free(out);
}

/* A larger frame of 8-bit luma scenes, for masks that span many motion cells. */
#define SW 384
#define SH 288

/* A scene's luma at frame t (0..1) at pixel (x, y). */
typedef float scene_fn(const struct texture *tex, int t, int x, int y);

/*
 * The mask over [x0, x1) x [y0, y1) carried through `steps` frames of
 * scene; the last frame's coverage (0..255) into out (SW * SH).
 */
static void carry_scene(scene_fn *scene, int x0, int y0, int x1, int y1,
			int steps, uint8_t *out)
{
	struct test_rng rng = { 33 };
	struct texture tex = texture_random(&rng, 0.5f, 0.8f, 5.0f, 14.0f);
	uint8_t *luma[2] = { malloc(SW * SH), malloc(SW * SH) };
	uint8_t *cover = calloc(SW * SH, 1);
	attn_track *tr;

	for (int y = y0; y < y1; y++)
		memset(cover + y * SW + x0, 255, (size_t)(x1 - x0));
	for (int t = 0; t <= steps; t++) {
		uint8_t *l = luma[t % 2];
		struct attn_yuv8 from = { SW, SH, { luma[(t + 1) % 2], NULL, NULL }, cover };
		struct attn_yuv8 to = { SW, SH, { l, NULL, NULL }, NULL };

		for (int y = 0; y < SH; y++)
			for (int x = 0; x < SW; x++) {
				float v = scene(&tex, t, x, y);

				l[y * SW + x] = (uint8_t)lrintf(255.0f * (v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v));
			}
		if (!t) {
			to.cover = cover;
			assert_int_equal(attn_track_create(&to, &tr), 0);
			continue;
		}
		assert_int_equal(attn_track_next(tr, &from, &to, out), 0);
		memcpy(cover, out, SW * SH);
	}
	attn_track_free(tr);
	free(luma[0]);
	free(luma[1]);
	free(cover);
}

/*
 * The mask over [x0, x1) x [y0, y1) carried through `steps` frames of
 * scene covers (by more than half) as many pixels as it did, within
 * `share` of them, and, unless mx is NAN, its centre moved by (mx, my).
 */
static void check_scene(scene_fn *scene, int x0, int y0, int x1, int y1,
			int steps, double share, double mx, double my)
{
	uint8_t *out = malloc(SW * SH);
	double cx = 0.0, cy = 0.0;
	int n = 0, area = (x1 - x0) * (y1 - y0);

	carry_scene(scene, x0, y0, x1, y1, steps, out);
	for (int y = 0; y < SH; y++)
		for (int x = 0; x < SW; x++)
			if (out[y * SW + x] > 127) {
				n++;
				cx += x;
				cy += y;
			}
	assert_true(fabs((double)(n - area)) < share * area);
	if (!isnan(mx)) {
		assert_true(fabs(cx / n - (0.5 * (x0 + x1 - 1) + mx)) < 2.0);
		assert_true(fabs(cy / n - (0.5 * (y0 + y1 - 1) + my)) < 2.0);
	}
	free(out);
}

/* A still texture, crossed by a bright bar 6 pixels tall moving down 7 per frame. */
static float bar_crossing(const struct texture *tex, int t, int x, int y)
{
	int top = 70 + 7 * t;

	return y >= top && y < top + 6 ? 1.0f : texture_at(tex, (float)x, (float)y);
}

/*
 * What crosses a masked object is not the object: the mask neither follows
 * the bar nor stretches between the bar and the still content.
 */
static void test_stays_with_what_most_of_it_covers(void **state)
{
	(void)state;
	check_scene(bar_crossing, 112, 32, 272, 256, 12, 0.05, 0.0, 0.0);
}

/*
 * A still vertical edge between two greys, crossed by a slanted line
 * moving down 5 pixels per frame: only the line shows vertical motion.
 */
static float edge_crossed(const struct texture *tex, int t, int x, int y)
{
	float across = (float)y - 0.3f * (float)x - (float)(20 + 5 * t);

	(void)tex;
	return fabsf(across) < 2.0f ? 0.9f : x < 192 ? 0.2f : 0.6f;
}

/*
 * Whatever it moves with, the mask keeps its size: cells that cannot see
 * vertical motion (the edge, the flat greys) do not hold part of it back.
 */
static void test_keeps_its_size_where_only_an_edge_is_still(void **state)
{
	(void)state;
	check_scene(edge_crossed, 112, 64, 272, 208, 12, 0.1, NAN, NAN);
}

/* A textured 96 x 96 square moving by (5, 3) per frame over a flat grey. */
static float square_on_flat(const struct texture *tex, int t, int x, int y)
{
	float sx = (float)(x - 5 * t), sy = (float)(y - 3 * t);

	return sx >= 128 && sx < 224 && sy >= 96 && sy < 192 ?
	       texture_at(tex, sx, sy) : 0.4f;
}

/*
 * Flat content shows no motion: a mask over a moving object and a wide
 * flat margin around it moves with the object, not half as far.
 */
static void test_flat_margin_moves_with_the_object(void **state)
{
	(void)state;
	check_scene(square_on_flat, 80, 48, 272, 240, 8, 0.05, 40.0, 24.0);
}

static void test_bad_arguments(void **state)
{
	uint8_t planes[3][W * H] = { { 0 } }, cover[W * H] = { 0 }, out[W * H];
	struct attn_yuv8 f = { W, H, { planes[0], planes[1], planes[2] }, NULL };
	struct attn_yuv8 small = f;
	attn_track *tr;

	(void)state;
	assert_int_equal(attn_track_create(&f, &tr), -EINVAL);
	f.cover = cover;
	assert_int_equal(attn_track_create(&f, &tr), 0);
	small.height = H - 1;
	small.cover = cover;
	assert_int_equal(attn_track_next(tr, &f, &small, out), -EINVAL);
	assert_int_equal(attn_track_next(tr, &small, &f, out), -EINVAL);
	attn_track_free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_a_shift),
		cmocka_unit_test(test_follows_a_central_region),
		cmocka_unit_test(test_keeps_its_edges_over_many_frames),
		cmocka_unit_test(test_what_comes_into_view_is_not_covered),
		cmocka_unit_test(test_stays_with_what_most_of_it_covers),
		cmocka_unit_test(test_keeps_its_size_where_only_an_edge_is_still),
		cmocka_unit_test(test_flat_margin_moves_with_the_object),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
