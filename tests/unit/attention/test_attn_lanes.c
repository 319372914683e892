/*
 * attn_lanes: a block's state goes to its lanes and back unchanged (lanes
 * without a query start empty and are not written); a rescale keeps every
 * sum's value relative to exp(max); a fold's exps in base 2 (scores short
 * of a bias, attn_lanes_offset and attn_exp_take) give the softmax's sums;
 * summing scores in two parts and
 * merging them gives the softmax of all the scores at once, in double
 * precision, and a lane left out of the merge keeps its state.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attention/attn_lanes.h"

#define NQ 20
#define DV 3
#define SCORES 12

/* The scores lane 0 sees; lane l's are l higher. */
static const float scores[SCORES] = { -3, 1.5f, 0, -7, 2.25f, -1, 0.5f, -2, 3, -4, 1, -0.5f };

struct block {
	float max[NQ], sum[NQ], ent[NQ], acc[NQ * DV];
	struct attn_state st;
};

static void block_fill(struct block *b)
{
	for (int i = 0; i < NQ; i++) {
		b->max[i] = 0.25f * (float)i - 2.0f;
		b->sum[i] = 1.0f + 0.5f * (float)i;
		b->ent[i] = -0.125f * (float)i;
		for (int c = 0; c < DV; c++)
			b->acc[i * DV + c] = (float)(i * DV + c) - 7.0f;
	}
	b->st = (struct attn_state){ .nq = NQ, .dv = DV, .max = b->max, .sum = b->sum,
				     .ent = b->ent, .acc = b->acc };
}

static void test_load_store_round_trip(void **state)
{
	struct block b, c;
	int lane[ATTN_LANES];
	struct attn_lanes ls;

	(void)state;
	block_fill(&b);
	block_fill(&c);
	for (int l = 0; l < ATTN_LANES; l++)
		lane[l] = l % 3 == 1 ? -1 : (l * 7) % NQ;
	attn_lanes_load(&b.st, lane, &ls, DV);
	for (int l = 0; l < ATTN_LANES; l++) {
		if (lane[l] >= 0) {
			assert_true(ls.max[l] == b.max[lane[l]]);
			assert_true(ls.acc[2][l] == b.acc[lane[l] * DV + 2]);
		} else {
			assert_true(ls.max[l] == ATTN_NEG);
			assert_true(ls.sum[l] == 0.0f && ls.ent[l] == 0.0f && ls.acc[0][l] == 0.0f);
		}
		ls.sum[l] += 100.0f;    /* written back only where there is a query */
	}
	attn_lanes_store(&c.st, lane, &ls, DV);
	for (int i = 0; i < NQ; i++) {
		int taken = 0;

		for (int l = 0; l < ATTN_LANES; l++)
			taken |= lane[l] == i;
		assert_true(c.sum[i] == b.sum[i] + (taken ? 100.0f : 0.0f));
		assert_true(c.max[i] == b.max[i] && c.ent[i] == b.ent[i]);
		for (int k = 0; k < DV; k++)
			assert_true(c.acc[i * DV + k] == b.acc[i * DV + k]);
	}
}

/*
 * The lanes' state over scores s[first .. first + n) (lane l's: s[j] + l,
 * value c j + c), relative to their max plus max_offset.
 */
static void lanes_sum(const float *s, int first, int n, float max_offset,
		      struct attn_lanes *ls)
{
	vf off, ent2 = vf_set(0.0f);

	ls->max = vf_set(ATTN_NEG);
	for (int j = first; j < first + n; j++)
		ls->max = vf_max(ls->max, vf_set(s[j]) + vf_lane_index());
	ls->max += max_offset;
	ls->sum = ls->ent = vf_set(0.0f);
	for (int c = 0; c < DV; c++)
		ls->acc[c] = vf_set(0.0f);
	/* the lane's own l is the bias the scores lack, as the kernels fold them */
	off = attn_lanes_offset(ls, vf_lane_index());
	for (int j = first; j < first + n; j++) {
		vf e = attn_exp_take(vf_set(s[j]), off, &ls->sum, &ent2);

		for (int c = 0; c < DV; c++)
			ls->acc[c] += e * (float)(j + c);
	}
	attn_lanes_add_entropy(ls, ent2);
}

/*
 * Lanes [0, lanes): the softmax over every score, its sums relative to
 * exp(max), as in double precision.
 */
static void expect_joint(const struct attn_lanes *ls, const float *s, int n, int lanes)
{
	for (int l = 0; l < lanes; l++) {
		double m = ls->max[l], sum = 0, ent = 0, acc[DV] = { 0 };

		for (int j = 0; j < n; j++) {
			double x = (double)s[j] + l - m, e = exp(x);

			sum += e;
			ent += e * x;
			for (int c = 0; c < DV; c++)
				acc[c] += e * (j + c);
		}
		assert_true(fabs(ls->sum[l] - sum) <= 1e-5 * sum);
		assert_true(fabs(ls->ent[l] - ent) <= 1e-5 * (fabs(ent) + sum));
		for (int c = 0; c < DV; c++)
			assert_true(fabs(ls->acc[c][l] - acc[c]) <= 1e-5 * (fabs(acc[c]) + sum));
	}
}

static void test_rescale_keeps_the_sums(void **state)
{
	struct attn_lanes ls, before;
	vf higher = vf_lane_index() + 5.0f;

	(void)state;
	lanes_sum(scores, 0, SCORES, 0.0f, &ls);
	before = ls;
	/* even lanes move to a higher max, odd ones are offered a lower one */
	for (int l = 1; l < ATTN_LANES; l += 2)
		higher[l] = before.max[l] - 1.0f;
	attn_lanes_rescale(&ls, higher, DV);
	expect_joint(&ls, scores, SCORES, ATTN_LANES);
	for (int l = 0; l < ATTN_LANES; l++) {
		assert_true(ls.max[l] == (l % 2 ? before.max[l] : higher[l]));
		if (l % 2)
			assert_true(ls.sum[l] == before.sum[l] && ls.acc[1][l] == before.acc[1][l]);
	}
}

static void test_merge_is_the_joint_softmax(void **state)
{
	const int split = 5, merged = 12;
	struct attn_lanes a, b, kept;
	vi take = vf_lane_index() < vf_set((float)merged);

	(void)state;
	lanes_sum(scores, 0, split, 0.0f, &a);
	/* the second part relative to a bound above its max, as the prior path takes it */
	lanes_sum(scores, split, SCORES - split, 2.0f, &b);
	kept = a;
	attn_lanes_merge(&a, &b, take, DV);
	expect_joint(&a, scores, SCORES, merged);
	for (int l = merged; l < ATTN_LANES; l++) {
		assert_true(a.max[l] == kept.max[l] && a.sum[l] == kept.sum[l]);
		assert_true(a.ent[l] == kept.ent[l] && a.acc[2][l] == kept.acc[2][l]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_store_round_trip),
		cmocka_unit_test(test_rescale_keeps_the_sums),
		cmocka_unit_test(test_merge_is_the_joint_softmax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
