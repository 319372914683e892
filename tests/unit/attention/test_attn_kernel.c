/*
 * attn_kernel: attn_tile_update and attn_state_finish against a naive
 * softmax in double precision on random tiles, with windows, the
 * positional prior, per-query and per-tile biases and keys masked out
 * through kterm; the same keys folded in different tile splits give the
 * same result.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attention/attn_kernel.h"
#include "tests/unit/attention/attn_test_util.h"

#define MAX_DV 9
#define FIELD 24                /* key positions and centres lie in 0..FIELD */

struct tile_case {
	int nq, nk, d, dv;
	int radius;             /* < 0: no window */
	float lambda;
	float scale;
	float tile_bias;
	int qbias;              /* per-query biases */
	int biased;             /* keys [0, biased) get tile_bias and qbias, the rest
				 * neither (two key sets in one softmax); 0: all */
	int masked;             /* some keys masked out, others weighted */
	int positions;          /* keys and centres have positions */
};

/* A random tile's inputs, keys unpadded. */
struct tile_data {
	struct tile_case tc;
	float *q, *k, *bias, *v;        /* nq x d, nk x d, nk, nk x dv */
	float *kx, *ky, *cx, *cy, *qb;  /* nk, nk, nq, nq, nq */
};

static struct tile_data tile_data_make(const struct tile_case *tc, uint64_t seed)
{
	struct test_rng rng = { seed };
	struct tile_data t = { .tc = *tc };

	t.q = alloc_floats((size_t)tc->nq * tc->d);
	t.k = alloc_floats((size_t)tc->nk * tc->d);
	t.bias = alloc_floats(tc->nk);
	t.v = alloc_floats((size_t)tc->nk * tc->dv);
	t.kx = alloc_floats(tc->nk);
	t.ky = alloc_floats(tc->nk);
	t.cx = alloc_floats(tc->nq);
	t.cy = alloc_floats(tc->nq);
	t.qb = alloc_floats(tc->nq);
	for (int i = 0; i < tc->nq * tc->d; i++)
		t.q[i] = rng_range(&rng, -1.0f, 1.0f);
	for (int i = 0; i < tc->nk * tc->d; i++)
		t.k[i] = rng_range(&rng, -1.0f, 1.0f);
	for (int i = 0; i < tc->nk * tc->dv; i++)
		t.v[i] = rng_uniform(&rng);
	for (int j = 0; j < tc->nk; j++) {
		float u = rng_uniform(&rng);

		t.bias[j] = !tc->masked ? 0.0f : u < 0.15f ? ATTN_NEG :
			    u < 0.3f ? -INFINITY : logf(rng_range(&rng, 0.05f, 1.0f));
		t.kx[j] = (float)(int)rng_range(&rng, 0.0f, FIELD);
		t.ky[j] = (float)(int)rng_range(&rng, 0.0f, FIELD);
	}
	for (int i = 0; i < tc->nq; i++) {
		t.cx[i] = rng_range(&rng, -2.0f, FIELD + 2.0f);
		t.cy[i] = rng_range(&rng, -2.0f, FIELD + 2.0f);
		t.qb[i] = rng_range(&rng, -2.0f, 2.0f);
	}
	return t;
}

static void tile_data_free(struct tile_data *t)
{
	free(t->q);
	free(t->k);
	free(t->bias);
	free(t->v);
	free(t->kx);
	free(t->ky);
	free(t->cx);
	free(t->cy);
	free(t->qb);
}

/* The first key of the unbiased key set. */
static int biased_end(const struct tile_case *tc)
{
	return tc->biased ? tc->biased : tc->nk;
}

/* Whether key j is seen by query i (window and mask), and its score. */
static int ref_score(const struct tile_data *t, int i, int j, double *s)
{
	const struct tile_case *tc = &t->tc;
	const float *q = t->q + (size_t)i * tc->d, *k = t->k + (size_t)j * tc->d;
	int biased = j < biased_end(tc);
	double dot = 0, n2 = 0, dx, dy;

	if (t->bias[j] <= 0.5f * ATTN_NEG)
		return 0;
	dx = t->kx[j] - t->cx[i];
	dy = t->ky[j] - t->cy[i];
	if (tc->positions && tc->radius >= 0 &&
	    (fabs(t->kx[j] - roundf(t->cx[i])) > tc->radius ||
	     fabs(t->ky[j] - roundf(t->cy[i])) > tc->radius))
		return 0;
	for (int c = 0; c < tc->d; c++) {
		dot += (double)q[c] * k[c];
		n2 += (double)k[c] * k[c];
	}
	*s = tc->scale * (2 * dot - n2) + t->bias[j]
	     + (biased ? tc->tile_bias + (tc->qbias ? t->qb[i] : 0) : 0)
	     - (tc->positions ? tc->lambda * (dx * dx + dy * dy) : 0);
	return 1;
}

/* The softmax output and entropy of every query, naively; returns the useful count. */
static long reference(const struct tile_data *t, float *out, float *ent)
{
	const struct tile_case *tc = &t->tc;
	double *s = malloc(sizeof(double) * tc->nk);
	int *idx = malloc(sizeof(int) * tc->nk);
	long useful = 0;

	for (int i = 0; i < tc->nq; i++) {
		double m = -INFINITY, l = 0, h = 0, o[MAX_DV] = { 0 };
		int n = 0;

		for (int j = 0; j < tc->nk; j++)
			if (ref_score(t, i, j, &s[n])) {
				idx[n] = j;
				m = fmax(m, s[n++]);
			}
		useful += n;
		for (int j = 0; j < n; j++)
			l += exp(s[j] - m);
		for (int j = 0; j < n; j++) {
			double p = exp(s[j] - m) / l;

			for (int c = 0; c < tc->dv; c++)
				o[c] += p * t->v[(size_t)idx[j] * tc->dv + c];
			h -= p > 0 ? p * log(p) : 0;
		}
		for (int c = 0; c < tc->dv; c++)
			out[(size_t)i * tc->dv + c] = (float)o[c];
		ent[i] = (float)h;
	}
	free(s);
	free(idx);
	return useful;
}

/*
 * Keys [a, b) of t, all of one key set, as one padded tile folded into st;
 * returns the useful count.
 */
static long fold_keys(const struct tile_data *t, int a, int b, struct attn_state *st)
{
	const struct tile_case *tc = &t->tc;
	int nk = b - a, npad = attn_pad(nk), biased = a < biased_end(tc);
	float *k = alloc_floats((size_t)npad * tc->d), *kterm = alloc_floats(npad);
	float *vt = alloc_floats((size_t)npad * tc->dv), *scores = alloc_floats((size_t)nk * (attn_pad(tc->nq) + ATTN_LANES));
	float *kx = alloc_floats(npad), *ky = alloc_floats(npad);
	long useful;

	memcpy(k, t->k + (size_t)a * tc->d, sizeof(float) * nk * tc->d);
	memcpy(kx, t->kx + a, sizeof(float) * nk);
	memcpy(ky, t->ky + a, sizeof(float) * nk);
	memcpy(vt, t->v + (size_t)a * tc->dv, sizeof(float) * nk * tc->dv);
	attn_kterm(k, tc->d, 1, t->bias + a, nk, tc->d, tc->scale, kterm);
	struct attn_tile tile = {
		.q = t->q, .k = k, .kterm = kterm, .vt = vt,
		.kx = tc->positions ? kx : NULL, .ky = tc->positions ? ky : NULL,
		.cx = t->cx, .cy = t->cy, .nq = tc->nq, .nk = nk, .d = tc->d,
		.qbias = biased && tc->qbias ? t->qb : NULL, .scale = tc->scale,
		.tile_bias = biased ? tc->tile_bias : 0.0f, .radius = tc->radius,
		.lambda = tc->lambda,
	};
	useful = attn_tile_update(&tile, scores, st, NULL);
	free(k);
	free(kterm);
	free(vt);
	free(scores);
	free(kx);
	free(ky);
	return useful;
}

/*
 * Folds the keys in tiles cut at bounds (ascending, from 0 to nk) and
 * finishes; returns the useful count.
 */
static long run_split(const struct tile_data *t, const int *bounds, int n_bounds,
		      float *out, float *ent)
{
	struct attn_state st = state_make(t->tc.nq, t->tc.dv);
	long useful = 0;

	for (int i = 0; i + 1 < n_bounds; i++)
		useful += fold_keys(t, bounds[i], bounds[i + 1], &st);
	attn_state_finish(&st, out, ent);
	state_free(&st);
	return useful;
}

/*
 * Tile bounds: a cut every step keys and at the end of the biased key set,
 * ascending from 0 to nk; their count.
 */
static int split_bounds(const struct tile_case *tc, int step, int *out)
{
	int n = 0, cut = biased_end(tc);

	for (int j = 0; j < tc->nk; j += step) {
		if (cut > (n ? out[n - 1] : 0) && cut < j)
			out[n++] = cut;
		out[n++] = j;
	}
	if (cut > out[n - 1] && cut < tc->nk)
		out[n++] = cut;
	out[n++] = tc->nk;
	return n;
}

/* The keys in several splits, each against the reference and the first. */
static void check_case(const struct tile_case *tc, uint64_t seed)
{
	struct tile_data t = tile_data_make(tc, seed);
	int nq = tc->nq, nk = tc->nk;
	float *rout = alloc_floats((size_t)nq * tc->dv), *rent = alloc_floats(nq);
	float *out0 = alloc_floats((size_t)nq * tc->dv), *ent0 = alloc_floats(nq);
	float *out = alloc_floats((size_t)nq * tc->dv), *ent = alloc_floats(nq);
	const int steps[] = { nk / 3 + 1, 16, 7 };
	int bounds[64], n = split_bounds(tc, nk, bounds);
	long useful = reference(&t, rout, rent);

	assert_int_equal(run_split(&t, bounds, n, out0, ent0), useful);
	assert_close(out0, rout, nq * tc->dv, 1e-5);
	assert_close(ent0, rent, nq, 1e-4);
	for (int i = 0; i < 3; i++) {
		n = split_bounds(tc, steps[i], bounds);
		assert_int_equal(run_split(&t, bounds, n, out, ent), useful);
		assert_close(out, out0, nq * tc->dv, 1e-5);
		assert_close(ent, ent0, nq, 1e-4);
	}
	free(rout);
	free(rent);
	free(out0);
	free(ent0);
	free(out);
	free(ent);
	tile_data_free(&t);
}

static void test_plain_softmax(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 5, .nk = 32, .d = 9, .dv = 3,
					.radius = -1, .scale = 0.7f }, 1);
	check_case(&(struct tile_case){ .nq = 17, .nk = 45, .d = 27, .dv = 1,
					.radius = -1, .scale = 0.2f }, 2);
	check_case(&(struct tile_case){ .nq = 1, .nk = 7, .d = 4, .dv = 4,
					.radius = -1, .scale = 1.0f }, 3);
	/* more features than the kernel's own dots take: sgemm's */
	check_case(&(struct tile_case){ .nq = 21, .nk = 40, .d = 36, .dv = 3,
					.radius = -1, .scale = 0.1f }, 4);
}

/* Several groups of queries, the last one partial, with the dv kept in registers. */
static void test_query_groups(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 40, .nk = 70, .d = 27, .dv = 9,
					.radius = -1, .scale = 0.3f, .masked = 1 }, 4);
	check_case(&(struct tile_case){ .nq = 33, .nk = 50, .d = 9, .dv = 6,
					.radius = 3, .positions = 1, .lambda = 0.05f,
					.scale = 0.5f, .qbias = 1, .tile_bias = -0.5f }, 5);
}

static void test_nk_not_a_multiple_of_lanes(void **state)
{
	(void)state;
	for (int nk = 9; nk <= 70; nk += 13)
		check_case(&(struct tile_case){ .nq = 8, .nk = nk, .d = 12, .dv = 2,
						.radius = -1, .scale = 0.5f }, (uint64_t)nk);
}

static void test_windows(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 24, .nk = 200, .d = 9, .dv = 3,
					.radius = 4, .positions = 1, .scale = 0.6f }, 11);
	check_case(&(struct tile_case){ .nq = 10, .nk = 77, .d = 9, .dv = 3,
					.radius = 0, .positions = 1, .scale = 0.6f }, 12);
}

static void test_positional_prior(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 12, .nk = 90, .d = 9, .dv = 3,
					.radius = -1, .positions = 1, .lambda = 0.05f,
					.scale = 0.4f }, 21);
	check_case(&(struct tile_case){ .nq = 12, .nk = 150, .d = 9, .dv = 3,
					.radius = 6, .positions = 1, .lambda = 0.3f,
					.scale = 0.4f }, 22);
}

static void test_query_and_tile_bias(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 9, .nk = 66, .d = 9, .dv = 2,
					.radius = 5, .positions = 1, .qbias = 1,
					.tile_bias = -1.5f, .biased = 40, .scale = 0.5f }, 31);
	check_case(&(struct tile_case){ .nq = 9, .nk = 50, .d = 9, .dv = 2,
					.radius = -1, .qbias = 1, .biased = 13,
					.scale = 0.5f }, 32);
	check_case(&(struct tile_case){ .nq = 9, .nk = 50, .d = 9, .dv = 2,
					.radius = -1, .tile_bias = 2.0f, .biased = 25,
					.scale = 0.5f }, 33);
}

static void test_masked_keys(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 16, .nk = 120, .d = 9, .dv = 3,
					.radius = -1, .masked = 1, .scale = 0.5f }, 41);
	check_case(&(struct tile_case){ .nq = 16, .nk = 120, .d = 9, .dv = 3,
					.radius = 7, .positions = 1, .lambda = 0.02f,
					.masked = 1, .qbias = 1, .biased = 60, .scale = 0.5f }, 42);
}

/* Sharp scores: the running max moves a lot from tile to tile. */
static void test_sharp_scores_across_tiles(void **state)
{
	(void)state;
	check_case(&(struct tile_case){ .nq = 7, .nk = 100, .d = 6, .dv = 3,
					.radius = -1, .scale = 30.0f, .masked = 1 }, 51);
}

/* Equal scores over n keys: the uniform distribution, entropy log n. */
static void test_entropy_of_equal_scores(void **state)
{
	struct tile_case tc = { .nq = 3, .nk = 37, .d = 5, .dv = 1, .radius = -1,
				.scale = 1.0f };
	struct tile_data t = tile_data_make(&tc, 61);
	const int whole[] = { 0, 37 };
	float out[3], ent[3];
	double mean = 0;

	(void)state;
	memset(t.q, 0, sizeof(float) * 3 * 5);
	for (int j = 0; j < 37; j++) {
		for (int c = 0; c < 5; c++)
			t.k[j * 5 + c] = c == j % 5 ? 0.5f : 0.0f;
		mean += t.v[j];
	}
	assert_int_equal(run_split(&t, whole, 2, out, ent), 3 * 37);
	for (int i = 0; i < 3; i++) {
		assert_float_equal(ent[i], log(37.0), 1e-5);
		assert_float_equal(out[i], mean / 37, 1e-6);
	}
	tile_data_free(&t);
}

/* One key far ahead of the rest takes all the weight: its value, entropy 0. */
static void test_one_dominant_key(void **state)
{
	struct tile_case tc = { .nq = 2, .nk = 20, .d = 3, .dv = 2, .radius = -1,
				.scale = 1.0f, .masked = 1 };
	struct tile_data t = tile_data_make(&tc, 71);
	const int split[] = { 0, 13, 20 };
	float out[4], ent[2];

	(void)state;
	t.bias[15] = 200.0f;
	run_split(&t, split, 3, out, ent);
	for (int i = 0; i < 2; i++) {
		assert_float_equal(out[i * 2], t.v[15 * 2], 1e-6);
		assert_float_equal(out[i * 2 + 1], t.v[15 * 2 + 1], 1e-6);
		assert_float_equal(ent[i], 0.0, 1e-5);
	}
	tile_data_free(&t);
}

/* A query whose window holds no key: zero output and zero entropy. */
static void test_query_without_keys(void **state)
{
	struct tile_case tc = { .nq = 2, .nk = 30, .d = 3, .dv = 2, .radius = 1,
				.positions = 1, .scale = 1.0f };
	struct tile_data t = tile_data_make(&tc, 81);
	const int whole[] = { 0, 30 };
	float out[4], ent[2];

	(void)state;
	t.cx[0] = 500.0f;
	t.cy[0] = 500.0f;
	t.cx[1] = t.kx[4];
	t.cy[1] = t.ky[4];
	assert_true(run_split(&t, whole, 2, out, ent) >= 1);
	assert_true(out[0] == 0.0f && out[1] == 0.0f && ent[0] == 0.0f);
	assert_true(out[2] > 0.0f || out[3] > 0.0f);
	tile_data_free(&t);
}

static void test_empty_tiles_change_nothing(void **state)
{
	struct tile_case tc = { .nq = 4, .nk = 20, .d = 3, .dv = 2, .radius = -1,
				.scale = 1.0f };
	struct tile_data t = tile_data_make(&tc, 91);
	const int with_empty[] = { 0, 0, 11, 11, 20 }, plain[] = { 0, 11, 20 };
	float a[8], b[8], ea[4], eb[4];

	(void)state;
	assert_int_equal(run_split(&t, with_empty, 5, a, ea),
			 run_split(&t, plain, 3, b, eb));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(ea, eb, sizeof(ea));
	tile_data_free(&t);
}

static void test_kterm_and_reset(void **state)
{
	const float k[3 * 2] = { 1, 2, -3, 0, 0.5f, 0.5f };
	const float bias[3] = { 0.25f, ATTN_NEG, -1.0f };
	float kterm[16], max[2], sum[2] = { 5, 5 }, ent[2] = { 5, 5 }, acc[6] = { 1, 1, 1, 1, 1, 1 };
	struct attn_state st = { .nq = 2, .dv = 3, .max = max, .sum = sum, .ent = ent, .acc = acc };

	(void)state;
	attn_kterm(k, 2, 1, bias, 3, 2, 0.5f, kterm);
	assert_float_equal(kterm[0], -0.5f * 5 + 0.25f, 1e-6);
	assert_true(kterm[1] <= 0.5f * ATTN_NEG);
	assert_float_equal(kterm[2], -0.5f * 0.5f - 1.0f, 1e-6);
	for (int j = 3; j < 16; j++)
		assert_true(kterm[j] == ATTN_NEG);
	attn_kterm(k, 2, 1, NULL, 3, 2, 2.0f, kterm);
	assert_float_equal(kterm[1], -18.0f, 1e-6);
	/* the same keys feature-major, rows 5 apart */
	attn_kterm((const float[]){ 1, -3, 0.5f, 9, 9, 2, 0, 0.5f }, 1, 5, NULL, 3, 2,
		   2.0f, kterm);
	assert_float_equal(kterm[0], -10.0f, 1e-6);
	assert_float_equal(kterm[1], -18.0f, 1e-6);
	assert_float_equal(kterm[2], -1.0f, 1e-6);
	attn_state_reset(&st);
	for (int i = 0; i < 2; i++)
		assert_true(max[i] == ATTN_NEG && sum[i] == 0.0f && ent[i] == 0.0f);
	for (int i = 0; i < 6; i++)
		assert_true(acc[i] == 0.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_softmax),
		cmocka_unit_test(test_query_groups),
		cmocka_unit_test(test_nk_not_a_multiple_of_lanes),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_positional_prior),
		cmocka_unit_test(test_query_and_tile_bias),
		cmocka_unit_test(test_masked_keys),
		cmocka_unit_test(test_sharp_scores_across_tiles),
		cmocka_unit_test(test_entropy_of_equal_scores),
		cmocka_unit_test(test_one_dominant_key),
		cmocka_unit_test(test_query_without_keys),
		cmocka_unit_test(test_empty_tiles_change_nothing),
		cmocka_unit_test(test_kterm_and_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
