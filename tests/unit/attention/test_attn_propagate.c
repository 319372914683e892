/*
 * attn_propagate on small synthetic scenes: a textured square over a
 * textured background, edited (a colour re-grade) inside the square at
 * the keyframe. The edit comes back exactly where nothing moved, follows
 * the square when it moves, the coverage is the given mask or tracks the
 * square, and the thread count changes no bit.
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

/* The frame size of most tests: two pyramid levels. */
#define W 128
#define H 96
/* The square at the keyframe: left, top, side. */
#define OX 30
#define OY 28
#define OS 36
/* How far it has moved at frame MOVED. */
#define DX 7
#define DY 4
#define MOVED 5

struct scene {
	int w, h;
	struct yuv_texture bg, fg;
};

static struct scene scene_make(int w, int h)
{
	struct test_rng rng = { 3 };
	struct scene s = { .w = w, .h = h };

	s.bg = yuv_texture_random(&rng);
	s.fg = yuv_texture_random(&rng);
	return s;
}

/* The scene with the square moved by (dx, dy); mask (if given) gets the square. */
static attn_frame *scene_frame(const struct scene *s, int dx, int dy, float *mask)
{
	attn_frame *f = yuv_frame(&s->bg, s->w, s->h, 0, 0);

	for (int c = 0; c < 3; c++)
		for (int y = OY + dy; y < OY + dy + OS; y++)
			for (int x = OX + dx; x < OX + dx + OS; x++)
				attn_plane(f, c)[y * s->w + x] = texture_at(&s->fg.c[c], x - dx, y - dy);
	if (mask)
		rect_mask(mask, s->w, s->h, OX + dx, OY + dy, OX + dx + OS, OY + dy + OS);
	return f;
}

/* A colour re-grade of f inside mask, in a new frame. */
static attn_frame *regrade(const attn_frame *f, const float *mask)
{
	size_t n = (size_t)f->width * f->height;
	attn_frame *e;

	assert_int_equal(attn_frame_clone(f, &e), 0);
	for (size_t i = 0; i < n; i++) {
		if (!(mask[i] > 0.5f))
			continue;
		attn_plane(e, 0)[i] = 0.7f * attn_plane(f, 0)[i] + 0.2f;
		attn_plane(e, 1)[i] = attn_plane(f, 1)[i] + 0.15f;
		attn_plane(e, 2)[i] = 1.0f - attn_plane(f, 2)[i];
	}
	return e;
}

/* Propagate's engine: the default window, no temporal neighbours. */
static attn_engine *propagate_engine(int threads, int steps)
{
	return engine_new(threads, steps, 8, 0);
}

/*
 * A keyframe at frame index: the scene with the square unmoved, and its
 * re-grade, both rounded to the 8 bits the engine is given them in.
 */
struct key {
	attn_frame *src, *edit;
	struct yuv8_frame src8, edit8;
	float *mask;
	int index;
};

static struct key key_make(const struct scene *s, int index)
{
	struct key k = { .mask = plane_new(s->w, s->h) };

	k.src = scene_frame(s, 0, 0, k.mask);
	k.edit = regrade(k.src, k.mask);
	k.src8 = yuv8_quantize(k.src);
	k.edit8 = yuv8_quantize(k.edit);
	k.src8.view.cover = cover8(k.mask, s->w, s->h);
	k.index = index;
	return k;
}

/* What the engine is given of k (pointing into k: take it where k stays). */
static struct attn_keyframe key_kf(const struct key *k)
{
	return (struct attn_keyframe){ .index = k->index, .source = &k->src8.view,
				       .edit = &k->edit8.view };
}

static void key_free(struct key *k)
{
	attn_frame_free(k->src);
	attn_frame_free(k->edit);
	free(k->src8.samples);
	free(k->edit8.samples);
	free((void *)k->src8.view.cover);
	free(k->mask);
}

/* Frame t (f, rounded to 8 bits first, as decoded frames are) propagated. */
static int propagate(attn_engine *e, int t, attn_frame *f,
		     const struct attn_keyframe *keys, int n, const float *mask,
		     attn_frame *res, float *cov, struct attn_frame_info *info)
{
	struct yuv8_frame f8 = yuv8_quantize(f);
	int ret = attn_propagate(e, t, &f8.view, keys, n, mask, res, cov, info);

	free(f8.samples);
	return ret;
}

/* At the keyframe itself: the edit inside the mask, the source outside, coverage = mask. */
static void check_identity(int w, int h, int steps)
{
	struct scene s = scene_make(w, h);
	struct key k = key_make(&s, 0);
	attn_engine *e = propagate_engine(2, steps);
	float *cov = plane_new(w, h), *outside = plane_complement(k.mask, w, h);
	struct attn_frame_info info = { 0 };
	struct attn_keyframe kf = key_kf(&k);
	attn_frame *res;

	assert_int_equal(attn_frame_create(w, h, 3, &res), 0);
	assert_int_equal(propagate(e, 0, k.src, &kf, 1, k.mask, res, cov, &info), 0);
	assert_true(frame_rmse(res, k.edit, 3, k.mask) < 1e-3);
	assert_true(frame_rmse(k.src, k.edit, 3, k.mask) > 0.1);
	assert_int_equal(frame_diff_count(res, k.src, 3, outside), 0);
	assert_memory_equal(cov, k.mask, sizeof(float) * w * h);
	assert_true(info.queries > 0);
	attn_frame_free(res);
	attn_engine_free(e);
	free(cov);
	free(outside);
	key_free(&k);
}

static void test_identical_keyframe_returns_the_edit(void **state)
{
	(void)state;
	check_identity(W, H, 2);
	check_identity(W, H, 1);
	check_identity(200, 120, 2);
}

/* The square moved; the mask at t is given: the edit follows it. */
static void test_moved_object_carries_the_edit(void **state)
{
	struct scene s = scene_make(W, H);
	struct key k = key_make(&s, 0);
	struct attn_keyframe kf = key_kf(&k);
	attn_engine *e = propagate_engine(2, 2);
	float *mask = plane_new(W, H), *inner = plane_new(W, H), *cov = plane_new(W, H);
	attn_frame *cur = scene_frame(&s, DX, DY, mask), *truth = regrade(cur, mask), *res;
	float *outside = plane_complement(mask, W, H);
	struct attn_frame_info info = { 0 };
	double err, unedited;

	(void)state;
	rect_mask(inner, W, H, OX + DX + 2, OY + DY + 2, OX + DX + OS - 2, OY + DY + OS - 2);
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(propagate(e, MOVED, cur, &kf, 1, mask, res, cov, &info), 0);
	err = frame_rmse(res, truth, 3, mask);
	unedited = frame_rmse(cur, truth, 3, mask);
	assert_true(unedited > 0.1);
	assert_true(err < 0.2 * unedited);
	assert_true(frame_rmse(res, truth, 3, inner) < 0.005);
	assert_int_equal(frame_diff_count(res, cur, 3, outside), 0);
	assert_memory_equal(cov, mask, sizeof(float) * W * H);
	attn_frame_free(res);
	attn_frame_free(cur);
	attn_frame_free(truth);
	attn_engine_free(e);
	free(mask);
	free(inner);
	free(cov);
	free(outside);
	key_free(&k);
}

/* Fills columns [x0, x1) of f with uniform noise from rng. */
static void noise_fill(attn_frame *f, int x0, int x1, struct test_rng *rng)
{
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < f->height; y++)
			for (int x = x0; x < x1; x++)
				attn_plane(f, c)[y * f->width + x] = rng_uniform(rng);
}

/*
 * The entropy map of frame 1, both frames noise: low where frame 1 is the
 * keyframe exactly (the left half), high where its noise is new (the right
 * half), NaN outside the mask.
 */
static void test_entropy_map(void **state)
{
	struct scene s = scene_make(W, H);
	struct key k = key_make(&s, 0);
	struct attn_keyframe kf;
	attn_engine *e = propagate_engine(2, 2);
	float *mask = plane_new(W, H), *same = plane_new(W, H), *fresh = plane_new(W, H);
	float *cov = plane_new(W, H), *map = plane_new(W, H);
	struct attn_frame_info info = { .entropy_map = map };
	struct test_rng key_rng = { 11 }, new_rng = { 12 };
	attn_frame *cur, *res;
	double low, high;

	(void)state;
	rect_mask(k.mask, W, H, 0, 0, W, H);
	noise_fill(k.src, 0, W, &key_rng);
	free(k.src8.samples);
	free((void *)k.src8.view.cover);
	k.src8 = yuv8_quantize(k.src);
	k.src8.view.cover = cover8(k.mask, W, H);
	kf = key_kf(&k);
	assert_int_equal(attn_frame_clone(k.src, &cur), 0);
	noise_fill(cur, W / 2, W, &new_rng);
	rect_mask(mask, W, H, 4, 4, W - 4, H - 4);
	rect_mask(same, W, H, 12, 12, W / 2 - 12, H - 12);
	rect_mask(fresh, W, H, W / 2 + 12, 12, W - 12, H - 12);
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(propagate(e, 1, cur, &kf, 1, mask, res, cov, &info), 0);
	for (int i = 0; i < W * H; i++)
		assert_true(mask[i] > 0.5f ? isfinite(map[i]) && map[i] >= 0.0f : isnan(map[i]));
	low = plane_mean(map, (size_t)W * H, same);
	high = plane_mean(map, (size_t)W * H, fresh);
	print_message("entropy: exact match %.3f, new noise %.3f, log(keys in a window) %.3f\n",
		      low, high, log(17.0 * 17.0));
	assert_true(low < 0.1);
	assert_true(high > 1.0);
	assert_true(fabs(info.entropy_sum - plane_mean(map, (size_t)W * H, mask) * info.queries) <
		    1e-3 * info.entropy_sum);
	attn_frame_free(res);
	attn_frame_free(cur);
	attn_engine_free(e);
	free(mask);
	free(same);
	free(fresh);
	free(cov);
	free(map);
	key_free(&k);
}

/* A given soft mask comes back as the coverage, bit for bit. */
static void test_coverage_is_the_given_mask(void **state)
{
	struct scene s = scene_make(W, H);
	struct key k = key_make(&s, 0);
	struct attn_keyframe kf = key_kf(&k);
	attn_engine *e = propagate_engine(1, 1);
	float *mask = plane_new(W, H), *cov = plane_new(W, H);
	attn_frame *cur = scene_frame(&s, DX, DY, NULL), *res;
	struct attn_frame_info info = { 0 };

	(void)state;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			mask[y * W + x] = x < 20 ? 0.0f : x > 90 ? 1.0f : (x - 20) / 70.0f;
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(propagate(e, MOVED, cur, &kf, 1, mask, res, cov, &info), 0);
	assert_memory_equal(cov, mask, sizeof(float) * W * H);
	attn_frame_free(res);
	attn_frame_free(cur);
	attn_engine_free(e);
	free(mask);
	free(cov);
	key_free(&k);
}

/* Frames 0..MOVED of the square moving step by step, tracked (no mask given). */
static void run_tracked(attn_engine *e, const struct scene *s, const struct key *keys,
			int n_keys, attn_frame *res, float *cov)
{
	struct attn_frame_info info = { 0 };

	for (int t = 0; t <= MOVED; t++) {
		attn_frame *f = scene_frame(s, DX * t / MOVED, DY * t / MOVED, NULL);
		struct attn_keyframe kf[2];

		for (int i = 0; i < n_keys; i++)
			kf[i] = key_kf(&keys[i]);
		assert_int_equal(propagate(e, t, f, kf, n_keys, NULL, res, cov, &info), 0);
		attn_frame_free(f);
	}
}

static void test_tracking_follows_the_object(void **state)
{
	struct scene s = scene_make(W, H);
	struct key k = key_make(&s, 0);
	attn_engine *e = propagate_engine(2, 2);
	float *mask = plane_new(W, H), *inner = plane_new(W, H), *near = plane_new(W, H);
	float *cov = plane_new(W, H), *far;
	attn_frame *cur = scene_frame(&s, DX, DY, mask), *truth = regrade(cur, mask), *res;
	long stray = 0;

	(void)state;
	rect_mask(inner, W, H, OX + DX + 2, OY + DY + 2, OX + DX + OS - 2, OY + DY + OS - 2);
	rect_mask(near, W, H, OX + DX - 8, OY + DY - 8, OX + DX + OS + 8, OY + DY + OS + 8);
	far = plane_complement(near, W, H);
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	run_tracked(e, &s, &k, 1, res, cov);
	assert_true(plane_mean(cov, W * H, inner) > 0.95);
	assert_true(plane_mean(cov, W * H, far) < 0.02);
	for (int i = 0; i < W * H; i++)
		stray += far[i] > 0.5f && cov[i] > 0.5f;
	assert_true(stray < W * H / 100);
	assert_true(frame_rmse(res, truth, 3, inner) < 0.005);
	assert_true(frame_rmse(res, truth, 3, mask) < 0.3 * frame_rmse(cur, truth, 3, mask));
	attn_frame_free(res);
	attn_frame_free(cur);
	attn_frame_free(truth);
	attn_engine_free(e);
	free(mask);
	free(inner);
	free(near);
	free(far);
	free(cov);
	key_free(&k);
}

/*
 * A still scene between two keyframes whose edits differ (the second is
 * re-graded twice): near each keyframe its own edit dominates.
 */
static void test_nearer_keyframe_dominates(void **state)
{
	struct scene s = scene_make(W, H);
	struct key keys[2] = { key_make(&s, 0), key_make(&s, 10) };
	attn_frame *twice = regrade(keys[1].edit, keys[1].mask), *res;
	attn_engine *e = propagate_engine(2, 1);
	float *cov = plane_new(W, H);
	struct attn_frame_info info = { 0 };
	struct attn_keyframe kf[2];

	(void)state;
	attn_frame_free(keys[1].edit);
	free(keys[1].edit8.samples);
	keys[1].edit = twice;
	keys[1].edit8 = yuv8_quantize(twice);
	kf[0] = key_kf(&keys[0]);
	kf[1] = key_kf(&keys[1]);
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(propagate(e, 1, keys[0].src, kf, 2, keys[0].mask, res, cov, &info), 0);
	assert_true(frame_rmse(res, keys[0].edit, 3, keys[0].mask) <
		    0.5 * frame_rmse(res, twice, 3, keys[0].mask));
	assert_int_equal(propagate(e, 9, keys[0].src, kf, 2, keys[0].mask, res, cov, &info), 0);
	assert_true(frame_rmse(res, twice, 3, keys[0].mask) <
		    0.5 * frame_rmse(res, keys[0].edit, 3, keys[0].mask));
	attn_frame_free(res);
	attn_engine_free(e);
	free(cov);
	key_free(&keys[0]);
	key_free(&keys[1]);
}

/* Tracked, two keyframes around the frames: 1 and 3 threads give the same bits. */
static void test_thread_count_does_not_change_the_result(void **state)
{
	struct scene s = scene_make(W, H);
	struct key keys[2] = { key_make(&s, 0), key_make(&s, 9) };
	attn_frame *res[2];
	float *cov[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		attn_engine *e = propagate_engine(i ? 3 : 1, 2);

		assert_int_equal(attn_frame_create(W, H, 3, &res[i]), 0);
		cov[i] = plane_new(W, H);
		run_tracked(e, &s, keys, 2, res[i], cov[i]);
		attn_engine_free(e);
	}
	assert_memory_equal(res[0]->data, res[1]->data, sizeof(float) * W * H * 3);
	assert_memory_equal(cov[0], cov[1], sizeof(float) * W * H);
	assert_true(frame_diff_count(res[0], keys[0].src, 3, NULL) > 0);
	for (int i = 0; i < 2; i++) {
		attn_frame_free(res[i]);
		free(cov[i]);
		key_free(&keys[i]);
	}
}

static void test_bad_arguments(void **state)
{
	struct scene s = scene_make(W, H);
	struct key k = key_make(&s, 0);
	struct attn_keyframe kf = key_kf(&k), three[3] = { kf, kf, kf };
	attn_engine *e = propagate_engine(1, 1);
	float *cov = plane_new(W, H);
	attn_frame *res, *small, *flat;

	(void)state;
	assert_int_equal(attn_frame_create(W, H, 3, &res), 0);
	assert_int_equal(attn_frame_create(W - 1, H, 3, &small), 0);
	assert_int_equal(attn_frame_create(W, H, 2, &flat), 0);
	assert_int_equal(attn_propagate(e, 0, &k.src8.view, &kf, 0, NULL, res, cov, NULL), -EINVAL);
	assert_int_equal(attn_propagate(e, 0, &k.src8.view, three, 3, NULL, res, cov, NULL), -EINVAL);
	assert_int_equal(attn_propagate(e, 0, &k.src8.view, &kf, 1, NULL, small, cov, NULL), -EINVAL);
	assert_int_equal(attn_propagate(e, 0, &k.src8.view, &kf, 1, NULL, flat, cov, NULL), -EINVAL);
	attn_frame_free(res);
	attn_frame_free(small);
	attn_frame_free(flat);
	attn_engine_free(e);
	free(cov);
	key_free(&k);
}

/* 96x64 is under the coarse level's size: the pyramid has one level. */
static void test_single_level_frame_returns_the_edit(void **state)
{
	(void)state;
	check_identity(96, 64, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_keyframe_returns_the_edit),
		cmocka_unit_test(test_single_level_frame_returns_the_edit),
		cmocka_unit_test(test_moved_object_carries_the_edit),
		cmocka_unit_test(test_coverage_is_the_given_mask),
		cmocka_unit_test(test_entropy_map),
		cmocka_unit_test(test_tracking_follows_the_object),
		cmocka_unit_test(test_nearer_keyframe_dominates),
		cmocka_unit_test(test_thread_count_does_not_change_the_result),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
