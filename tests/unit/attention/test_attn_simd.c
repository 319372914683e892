/*
 * attn_simd: vf_round is roundf lane by lane (halves away from zero, either
 * sign, and the floats next to them); the partial loads stop at n.
 */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_is_roundf),
		cmocka_unit_test(test_partial_loads_stop_at_n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
