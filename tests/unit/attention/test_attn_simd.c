/*
 * attn_simd: vf_round is roundf lane by lane (halves away from zero, either
 * sign, and the floats next to them); vf_fma is fmaf lane by lane, one
 * rounding (products whose low bits a separate multiply would lose); vf_exp
 * and vf_exp2 are within their stated errors, and 0 far below (and for NaN);
 * the partial loads stop at n; vi_hmin and vi_hmax find any lane; vi_any
 * sees every lane.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attention/attn_simd.h"

static void test_round_is_roundf(void **state)
{
	const float x[] = { 0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f,
			    0.49999997f, -0.49999997f, 1.4999999f, -1.4999999f,
			    8388607.5f, -8388607.5f, 16777216.0f, 1e9f, -1e9f, 3.7f, -3.7f };
	const int n = sizeof(x) / sizeof(x[0]);

	(void)state;
	for (int i0 = 0; i0 < n; i0 += VF_LANES) {
		int m = n - i0 < VF_LANES ? n - i0 : VF_LANES;
		vi r = vf_round(vf_load_part(x + i0, m));

		for (int l = 0; l < m; l++)
			assert_int_equal(r[l], (int)roundf(x[i0 + l]));
	}
}

static void test_fma_rounds_once(void **state)
{
	vf a, b, c, r;

	(void)state;
	for (int l = 0; l < VF_LANES; l++) {
		/* (1 + e)(1 - e) = 1 - e^2: a multiply alone rounds it to 1 */
		a[l] = 1.0f + ldexpf(1.0f, -12 - l % 8);
		b[l] = 1.0f - ldexpf(1.0f, -12 - l % 8);
		c[l] = l < 8 ? -1.0f : 0.25f * (float)l;
	}
	r = vf_fma(a, b, c);
	for (int l = 0; l < VF_LANES; l++) {
		assert_true(r[l] == fmaf(a[l], b[l], c[l]));
		if (l < 8)
			assert_true(r[l] == -ldexpf(1.0f, 2 * (-12 - l)));
	}
}

/*
 * fn of x <= 0 within err of ref relative (and slack absolute, for results
 * near the least normal float), and 0 below lo: steps of step from a
 * little below lo, the lanes spread between them.
 */
static void check_within(vf (*fn)(vf), double (*ref)(double), double err, double slack,
			 float lo, float step)
{
	for (float x0 = lo - 3.0f; x0 <= 0.0f; x0 += step) {
		vf x = vf_set(x0) + vf_lane_index() * (step / VF_LANES);
		vf e = fn(vf_select(x < vf_set(0.0f), x, vf_set(0.0f)));

		for (int l = 0; l < VF_LANES; l++) {
			double want = x[l] < lo ? 0.0 : ref(x[l] < 0.0f ? x[l] : 0.0f);

			assert_true(fabs(e[l] - want) <= err * want + slack);
		}
	}
}

static void test_exp_within_its_error(void **state)
{
	(void)state;
	check_within(vf_exp, exp, 2.5e-7, 1e-37, -87.0f, 0.37f);
}

/*
 * Scores left out (ATTN_NEG, twice it), anything below the least normal
 * result (-87 for exp, -125 for exp2), -inf and NaN take exactly 0.
 */
static void test_far_scores_take_zero(void **state)
{
	vf x = vf_set(-1e30f);

	(void)state;
	x[1] = -2e30f;
	x[2] = -1e4f;
	x[3] = nanf("");
	x[4] = -INFINITY;
	x[5] = -87.5f;
	for (int l = 0; l < VF_LANES; l++)
		assert_true(vf_exp(x)[l] == 0.0f);
	x[5] = -125.5f;
	for (int l = 0; l < VF_LANES; l++)
		assert_true(vf_exp2(x)[l] == 0.0f);
}

static void test_exp2_within_its_error(void **state)
{
	(void)state;
	check_within(vf_exp2, exp2, 2e-7, 0.0, -125.0f, 0.173f);
	/* whole powers exactly, and the floats either side of one */
	for (int n = -125; n <= 0; n++) {
		vf x = vf_set((float)n), e;

		x[1] = nextafterf((float)n, -200.0f);
		x[2] = nextafterf((float)n, 0.0f);
		e = vf_exp2(x);
		assert_true(e[0] == ldexpf(1.0f, n));
		for (int l = 1; l < 3; l++)
			assert_true(fabs(e[l] - exp2(x[l])) <= 2e-7 * exp2(x[l]) || x[l] < -125.0f);
	}
}

/* Lane by lane: select takes a where the mask is set; max is a > b ? a : b, signed zeros too. */
static void test_select_and_max_by_lane(void **state)
{
	vf a = vf_lane_index(), b = vf_set(7.5f), m, s;
	vi mask = { 0 };

	(void)state;
	for (int l = 0; l < VF_LANES; l += 3)
		mask[l] = -1;
	a[15] = 0.0f;
	b[15] = -0.0f;
	s = vf_select(mask, a, b);
	m = vf_max(a, b);
	for (int l = 0; l < VF_LANES; l++) {
		assert_true(s[l] == (l % 3 == 0 ? a[l] : b[l]));
		assert_true(m[l] == (a[l] > b[l] ? a[l] : b[l]));
		assert_int_equal(signbit(m[l]), signbit(a[l] > b[l] ? a[l] : b[l]));
		assert_true(vf_fnma(a, b, vf_set(1.0f))[l] == fmaf(-a[l], b[l], 1.0f));
	}
	assert_int_equal(vi_select(mask, (vi){ 0 } + 1, (vi){ 0 } + 2)[3], 1);
	assert_int_equal(vi_select(mask, (vi){ 0 } + 1, (vi){ 0 } + 2)[4], 2);
}

static void test_partial_loads_stop_at_n(void **state)
{
	const float f[VF_LANES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const int k[VF_LANES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	(void)state;
	for (int n = 0; n <= VF_LANES; n++) {
		vf v = vf_load_part(f, n);
		vi w = vi_load_part(k, n);

		for (int l = 0; l < VF_LANES; l++) {
			assert_true(v[l] == (l < n ? f[l] : 0.0f));
			assert_int_equal(w[l], l < n ? k[l] : 0);
		}
		assert_int_equal(vi_hmax(w), n ? k[n - 1] : 0);
		assert_int_equal(vi_hmin(w), n == VF_LANES ? 1 : 0);
	}
}

/* Bytes load as ints up to n, a store writes n lanes, a gather reads table[index]. */
static void test_bytes_stores_and_gathers_by_part(void **state)
{
	uint8_t b[VF_LANES];
	float table[256], out[VF_LANES + 1];

	(void)state;
	for (int l = 0; l < VF_LANES; l++)
		b[l] = (uint8_t)(250 - 13 * l);
	for (int i = 0; i < 256; i++)
		table[i] = 0.5f * (float)i - 3.0f;
	for (int n = 0; n <= VF_LANES; n++) {
		vi v = vi_load_u8_part(b, n);
		vf g = vf_gather(table, v);

		for (int l = 0; l <= VF_LANES; l++)
			out[l] = -1.0f;
		vf_store_part(out, g, n);
		for (int l = 0; l < VF_LANES; l++) {
			assert_int_equal(v[l], l < n ? b[l] : 0);
			assert_true(g[l] == table[l < n ? b[l] : 0]);
			assert_true(out[l] == (l < n ? table[b[l]] : -1.0f));
		}
		assert_true(out[VF_LANES] == -1.0f);
	}
}

/* A mask with lane l alone set has a lane set; an empty one has none. */
static void test_any_sees_each_lane(void **state)
{
	(void)state;
	assert_false(vi_any((vi){ 0 }));
	for (int l = 0; l < VF_LANES; l++) {
		vi m = { 0 };

		m[l] = -1;
		assert_true(vi_any(m));
	}
}

/* The least and greatest lane, wherever it is, of either sign. */
static void test_hmin_and_hmax_find_each_lane(void **state)
{
	(void)state;
	for (int l = 0; l < VF_LANES; l++) {
		vi v = (vi){ 0 } + 7;

		v[l] = -3 - l;
		v[(l + 5) % VF_LANES] = 40 + l;
		assert_int_equal(vi_hmin(v), -3 - l);
		assert_int_equal(vi_hmax(v), 40 + l);
	}
	assert_int_equal(vi_hmin((vi){ 0 } + INT_MAX), INT_MAX);
	assert_int_equal(vi_hmax((vi){ 0 } - INT_MAX), -INT_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_is_roundf),
		cmocka_unit_test(test_fma_rounds_once),
		cmocka_unit_test(test_exp_within_its_error),
		cmocka_unit_test(test_exp2_within_its_error),
		cmocka_unit_test(test_far_scores_take_zero),
		cmocka_unit_test(test_select_and_max_by_lane),
		cmocka_unit_test(test_partial_loads_stop_at_n),
		cmocka_unit_test(test_any_sees_each_lane),
		cmocka_unit_test(test_hmin_and_hmax_find_each_lane),
		cmocka_unit_test(test_bytes_stores_and_gathers_by_part),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
