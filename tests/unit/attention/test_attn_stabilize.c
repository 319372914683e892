/*
 * attn_stabilize on a static textured scene whose masked region flickers
 * (a different luma gain in every frame): inside the mask the result is
 * nearer the clean texture and steadier from frame to frame than the
 * input, outside it is the input; the thread count changes no bit.
 * attn_track_mask carries a mask along a known shift.
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

#include "attention/attn_engine.h"
#include "tests/unit/attention/attn_test_util.h"

#define W 128
#define H 96
#define K 2                     /* temporal radius */
#define FRAMES 6

static const float gain[FRAMES] = { 1.08f, 0.93f, 1.06f, 0.92f, 1.07f, 0.94f };

struct clip {
	attn_frame *clean;
	struct yuv8_frame clean8;       /* the clean frame as a reference keyframe */
	uint8_t *mask8;         /* the mask as the frames carry it */
	attn_frame *frame[FRAMES];
	struct yuv8_frame frame8[FRAMES];       /* the same, as the engine reads them */
	float *mask;
	float *outside;
};

static struct clip clip_make(void)
{
	struct test_rng rng = { 11 };
	struct yuv_texture t = yuv_texture_random(&rng);
	struct clip c = { .clean = yuv_frame(&t, W, H, 0, 0) };

	c.mask = plane_new(W, H);
	rect_mask(c.mask, W, H, 32, 24, 96, 72);
	c.mask8 = cover8(c.mask, W, H);
	c.outside = plane_complement(c.mask, W, H);
	for (int f = 0; f < FRAMES; f++) {
		assert_int_equal(attn_frame_clone(c.clean, &c.frame[f]), 0);
		for (int i = 0; i < W * H; i++)
			if (c.mask[i] > 0.5f)
				attn_plane(c.frame[f], 0)[i] *= gain[f];
		c.frame8[f] = yuv8_quantize(c.frame[f]);
		c.frame8[f].view.cover = c.mask8;
	}
	c.clean8 = yuv8_quantize(c.clean);
	c.clean8.view.cover = c.mask8;
	return c;
}

static void clip_free(struct clip *c)
{
	attn_frame_free(c->clean);
	free(c->clean8.samples);
	for (int f = 0; f < FRAMES; f++) {
		attn_frame_free(c->frame[f]);
		free(c->frame8[f].samples);
	}
	free(c->mask);
	free(c->mask8);
	free(c->outside);
}

/* Stabilize's engine: two steps, small windows, K neighbours each side. */
static attn_engine *stabilize_engine(int threads)
{
	return engine_new(threads, 2, 2, K);
}

/* Frame t stabilized from its neighbours (NULL past the clip's ends), masks everywhere. */
static attn_frame *stabilize(attn_engine *e, const struct clip *c, int t,
			     const struct attn_keyframe *refs, int n_refs)
{
	const struct attn_yuv8 *win[2 * K + 1];
	struct attn_frame_info info = { 0 };
	attn_frame *res;

	for (int d = -K; d <= K; d++) {
		int f = t + d;

		win[d + K] = f >= 0 && f < FRAMES ? &c->frame8[f].view : NULL;
	}
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(attn_stabilize(e, t, win, refs, n_refs, res, &info), 0);
	assert_true(info.queries > 0);
	return res;
}

static double masked_luma(const struct clip *c, const attn_frame *f)
{
	return plane_mean(attn_plane(f, 0), (size_t)W * H, c->mask);
}

static void test_flicker_is_reduced_inside_the_mask(void **state)
{
	struct clip c = clip_make();
	attn_engine *e = stabilize_engine(2);
	attn_frame *res[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		int t = 2 + i;

		res[i] = stabilize(e, &c, t, NULL, 0);
		assert_true(frame_rmse(res[i], c.clean, 3, c.mask) <
			    0.5 * frame_rmse(c.frame[t], c.clean, 3, c.mask));
		assert_int_equal(frame_diff_count(res[i], c.frame[t], 3, c.outside), 0);
	}
	assert_true(fabs(masked_luma(&c, res[1]) - masked_luma(&c, res[0])) <
		    0.5 * fabs(masked_luma(&c, c.frame[3]) - masked_luma(&c, c.frame[2])));
	for (int i = 0; i < 2; i++)
		attn_frame_free(res[i]);
	attn_engine_free(e);
	clip_free(&c);
}

/* At the first frame half the window is missing; a clean reference keyframe helps. */
static void test_clip_start_and_reference(void **state)
{
	struct clip c = clip_make();
	attn_engine *e = stabilize_engine(1);
	struct attn_keyframe ref = { .index = 0, .source = &c.clean8.view };
	attn_frame *plain = stabilize(e, &c, 0, NULL, 0);
	attn_frame *with_ref = stabilize(e, &c, 0, &ref, 1);
	double input = frame_rmse(c.frame[0], c.clean, 3, c.mask);

	(void)state;
	assert_true(frame_rmse(plain, c.clean, 3, c.mask) < input);
	assert_true(frame_rmse(with_ref, c.clean, 3, c.mask) <
		    frame_rmse(plain, c.clean, 3, c.mask));
	assert_int_equal(frame_diff_count(with_ref, c.frame[0], 3, c.outside), 0);
	attn_frame_free(plain);
	attn_frame_free(with_ref);
	attn_engine_free(e);
	clip_free(&c);
}

static void test_thread_count_does_not_change_the_result(void **state)
{
	struct clip c = clip_make();
	attn_frame *res[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		attn_engine *e = stabilize_engine(i ? 3 : 1);

		res[i] = stabilize(e, &c, 2, NULL, 0);
		attn_engine_free(e);
	}
	assert_memory_equal(res[0]->data, res[1]->data, sizeof(float) * W * H * 3);
	assert_true(frame_diff_count(res[0], c.frame[2], 3, c.mask) > 0);
	attn_frame_free(res[0]);
	attn_frame_free(res[1]);
	clip_free(&c);
}

static void test_bad_arguments(void **state)
{
	struct clip c = clip_make();
	attn_engine *e = stabilize_engine(1);
	const struct attn_yuv8 *win[2 * K + 1] = { &c.frame8[0].view, &c.frame8[1].view, NULL,
						   &c.frame8[3].view, &c.frame8[4].view };
	const struct attn_yuv8 *full[2 * K + 1] = { &c.frame8[0].view, &c.frame8[1].view,
						    &c.frame8[2].view, &c.frame8[3].view,
						    &c.frame8[4].view };
	attn_frame *res, *small, *flat;

	(void)state;
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(attn_frame_create(W, H - 1, 3, &small), 0);
	assert_int_equal(attn_frame_create(W, H, 1, &flat), 0);
	assert_int_equal(attn_stabilize(e, 2, win, NULL, 0, res, NULL), -EINVAL);
	assert_int_equal(attn_stabilize(e, 2, full, NULL, 0, small, NULL), -EINVAL);
	assert_int_equal(attn_stabilize(e, 2, full, NULL, 0, flat, NULL), -EINVAL);
	attn_frame_free(res);
	attn_frame_free(small);
	attn_frame_free(flat);
	attn_engine_free(e);
	clip_free(&c);
}

/* The entropy map: each query's entropy inside the mask, NaN outside. */
static void test_entropy_map(void **state)
{
	struct clip c = clip_make();
	attn_engine *e = stabilize_engine(2);
	const struct attn_yuv8 *win[2 * K + 1];
	float *map = plane_new(W, H);
	struct attn_frame_info info = { .entropy_map = map };
	double sum = 0;
	attn_frame *res;

	(void)state;
	for (int d = -K; d <= K; d++)
		win[d + K] = &c.frame8[2 + d].view;
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(attn_stabilize(e, 2, win, NULL, 0, res, &info), 0);
	for (int i = 0; i < W * H; i++) {
		assert_true(c.mask[i] > 0.5f ? isfinite(map[i]) && map[i] >= 0.0f : isnan(map[i]));
		sum += c.mask[i] > 0.5f ? map[i] : 0.0;
	}
	assert_true(fabs(sum - info.entropy_sum) < 1e-3 * info.entropy_sum);
	attn_frame_free(res);
	attn_engine_free(e);
	free(map);
	clip_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flicker_is_reduced_inside_the_mask),
		cmocka_unit_test(test_clip_start_and_reference),
		cmocka_unit_test(test_thread_count_does_not_change_the_result),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_entropy_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
