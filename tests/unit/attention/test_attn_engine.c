/*
 * attn_engine: parameter validation at creation, the query-side blend, and
 * the helpers the modes share (pyramids, level count, score scale).
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
#include "attention/attn_private.h"
#include "tests/unit/attention/attn_test_util.h"

static const struct attn_params good = {
	.temperature = 0.7f, .steps = 2, .window = 8, .temporal = 3, .seed = 42,
	.threads = 2,
};

static void expect_invalid(struct attn_params p)
{
	attn_engine *e = NULL;

	assert_int_equal(attn_engine_create(&p, &e), -EINVAL);
	assert_null(e);
}

static void test_create_accepts_good_params(void **state)
{
	struct attn_params p = good;
	attn_engine *e = NULL;

	(void)state;
	assert_int_equal(attn_engine_create(&p, &e), 0);
	assert_non_null(e);
	attn_engine_free(e);
	p.temporal = 0;
	p.steps = 1;
	p.window = 1;
	p.threads = 1;
	assert_int_equal(attn_engine_create(&p, &e), 0);
	attn_engine_free(e);
	attn_engine_free(NULL);
}

static void test_create_rejects_bad_params(void **state)
{
	struct attn_params p;

	(void)state;
	p = good;
	p.temperature = 0.0f;
	expect_invalid(p);
	p.temperature = -1.0f;
	expect_invalid(p);
	p.temperature = NAN;
	expect_invalid(p);
	p = good;
	p.steps = 0;
	expect_invalid(p);
	p = good;
	p.window = 0;
	expect_invalid(p);
	p = good;
	p.temporal = -1;
	expect_invalid(p);
	p = good;
	p.threads = 0;
	expect_invalid(p);
}

static void test_blend(void **state)
{
	const float src[4] = { 0.0f, 0.2f, 0.6f, 1.0f };
	const float attn[4] = { 1.0f, 0.4f, 0.1f, 0.5f };
	const float mask[4] = { 0.0f, 1.0f, 0.5f, 0.25f };
	float out[4];

	(void)state;
	attn_blend(src, attn, mask, 1.0f, 4, out);
	assert_true(out[0] == src[0]);
	assert_float_equal(out[1], attn[1], 1e-6);
	assert_float_equal(out[2], 0.35f, 1e-6);
	assert_float_equal(out[3], 0.875f, 1e-6);
	attn_blend(src, attn, mask, 0.0f, 4, out);
	assert_memory_equal(out, src, sizeof(src));
	attn_blend(src, attn, NULL, 0.5f, 4, out);
	for (int i = 0; i < 4; i++)
		assert_float_equal(out[i], 0.5f * (src[i] + attn[i]), 1e-6);
	attn_blend(src, attn, NULL, 1.0f, 4, out);
	for (int i = 0; i < 4; i++)
		assert_float_equal(out[i], attn[i], 1e-6);
	out[0] = -1.0f;
	attn_blend(src, attn, mask, 0.8f, 0, out);
	assert_true(out[0] == -1.0f);
}

/* Level l of a pyramid is level 0 box-averaged by 2^l, ragged edges included. */
static void test_pyramid(void **state)
{
	struct test_rng rng = { 7 };
	struct attn_pyramid py = { 0 };
	attn_frame *f, *d;

	(void)state;
	assert_int_equal(attn_frame_create(21, 11, 2, &f), 0);
	for (int i = 0; i < 21 * 11 * 2; i++)
		f->data[i] = rng_uniform(&rng);
	assert_int_equal(attn_pyramid_build(f, 3, &py), 0);
	assert_int_equal(py.n, 3);
	assert_ptr_not_equal(py.lv[0], f);
	assert_memory_equal(py.lv[0]->data, f->data, sizeof(float) * 21 * 11 * 2);
	assert_int_equal(py.lv[1]->width, 11);
	assert_int_equal(py.lv[1]->height, 6);
	assert_int_equal(py.lv[2]->width, 6);
	assert_int_equal(py.lv[2]->height, 3);
	assert_int_equal(attn_frame_downsample(py.lv[1], 2, &d), 0);
	assert_memory_equal(d->data, py.lv[2]->data, sizeof(float) * 6 * 3 * 2);
	attn_frame_free(d);
	attn_pyramid_release(&py);
	assert_int_equal(py.n, 0);
	attn_frame_free(f);
}

/* Levels are added until the coarsest has at most the given number of pixels. */
static void test_levels_for(void **state)
{
	(void)state;
	assert_int_equal(attn_levels_for(96, 64, 12000), 1);
	assert_int_equal(attn_levels_for(160, 96, 12000), 2);
	assert_int_equal(attn_levels_for(1920, 1080, 12000), 5);
	assert_int_equal(attn_levels_for(100, 100, 10000), 1);
	assert_int_equal(attn_levels_for(101, 100, 10000), 2);
	assert_int_equal(attn_levels_for(1 << 14, 1 << 14, 1), ATTN_MAX_LEVELS);
}

/* 1 / (d T 0.1 sigma^2), with sigma^2 floored at one 8-bit level squared. */
static void test_score_scale(void **state)
{
	float floor2 = 1.0f / (255.0f * 255.0f);

	(void)state;
	assert_float_equal(attn_score_scale(27, 0.5f, 0.01f), 1.0 / (27 * 0.5 * 0.1 * 0.01), 1e-2);
	assert_float_equal(attn_score_scale(9, 1.0f, 0.0f), 1.0 / (9 * 0.1 * floor2), 1.0);
	assert_float_equal(attn_score_scale(9, 1.0f, floor2 / 10), attn_score_scale(9, 1.0f, 0.0f), 1e-3);
	assert_true(attn_score_scale(9, 2.0f, 0.01f) < attn_score_scale(9, 1.0f, 0.01f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_accepts_good_params),
		cmocka_unit_test(test_create_rejects_bad_params),
		cmocka_unit_test(test_blend),
		cmocka_unit_test(test_pyramid),
		cmocka_unit_test(test_levels_for),
		cmocka_unit_test(test_score_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
