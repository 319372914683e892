/*
 * attn_lanes: the online softmax of up to ATTN_LANES queries, a lane each
 * (running max, sum, entropy sum and value accumulators as vectors), for
 * the kernels that give each query a lane: loaded from and stored back to
 * a block's attn_state, moved to a higher max, the base its folds take
 * exps from, merged with a part summed relative to its own max.
 *
 * Each function takes dv as an argument and is always inlined, so that a
 * kernel inlined for each usual dv keeps the accumulators in registers.
 */
#ifndef ATTN_LANES_H
#define ATTN_LANES_H

#include "attention/attn_kernel.h"
#include "attention/attn_simd.h"

#define LANES_INLINE static inline __attribute__((always_inline))

#define ATTN_LOG2E 1.44269504088896341f
#define ATTN_LN2 0.693147180559945309f

struct attn_lanes {
	vf max, sum, ent;
	vf acc[ATTN_VAL_MAX];
};

/* Lane l holds query lane[l] of st (-1: none; its lane starts empty). */
LANES_INLINE void attn_lanes_load(const struct attn_state *st, const int *lane,
				  struct attn_lanes *ls, int dv)
{
	ls->max = vf_set(ATTN_NEG);
	ls->sum = ls->ent = vf_set(0.0f);
	for (int c = 0; c < dv; c++)
		ls->acc[c] = vf_set(0.0f);
	for (int l = 0; l < ATTN_LANES; l++) {
		int i = lane[l];

		if (i < 0)
			continue;
		ls->max[l] = st->max[i];
		ls->sum[l] = st->sum[i];
		ls->ent[l] = st->ent[i];
		for (int c = 0; c < dv; c++)
			ls->acc[c][l] = st->acc[(size_t)i * dv + c];
	}
}

LANES_INLINE void attn_lanes_store(struct attn_state *st, const int *lane,
				   const struct attn_lanes *ls, int dv)
{
	for (int l = 0; l < ATTN_LANES; l++) {
		int i = lane[l];

		if (i < 0)
			continue;
		st->max[i] = ls->max[l];
		st->sum[i] = ls->sum[l];
		st->ent[i] = ls->ent[l];
		for (int c = 0; c < dv; c++)
			st->acc[(size_t)i * dv + c] = ls->acc[c][l];
	}
}

/* Moves the lanes whose new max is above their running max to it. */
LANES_INLINE void attn_lanes_rescale(struct attn_lanes *ls, vf max, int dv)
{
	vi grow = max > ls->max;
	vf new_max = vf_select(grow, max, ls->max);
	vf shift = ls->max - new_max;
	vf f = vf_select(grow, vf_exp(shift), vf_set(1.0f));

	ls->ent = f * (ls->ent + shift * ls->sum);
	ls->sum *= f;
	for (int c = 0; c < dv; c++)
		ls->acc[c] *= f;
	ls->max = new_max;
}

/*
 * The base a fold takes its exps from: each lane's running max, or for a
 * lane with no key yet one above every score, so that all its exps (and
 * their entropy terms, 0 times a finite score) are 0.
 */
LANES_INLINE vf attn_lanes_base(const struct attn_lanes *ls)
{
	return vf_select(ls->max > 0.5f * ATTN_NEG, ls->max, vf_set(-ATTN_NEG));
}

/*
 * A fold takes exp(s + bias - base) of a score s as 2^x, with
 * x = s log2(e) + off (one FMA) and off = (bias - base) log2(e), base from
 * attn_lanes_base; bias is what the scores still lack.
 */
LANES_INLINE vf attn_lanes_offset(const struct attn_lanes *ls, vf bias)
{
	return (bias - attn_lanes_base(ls)) * ATTN_LOG2E;
}

/*
 * 2^x of a vector of scores s (x as attn_lanes_offset) added into *sum,
 * e x into *ent2 (an entropy sum in base 2: attn_lanes_add_entropy);
 * returns the exps, for the values.
 */
LANES_INLINE vf attn_exp_take(vf s, vf off, vf *sum, vf *ent2)
{
	vf x = vf_fma(s, vf_set(ATTN_LOG2E), off);
	vf e = vf_exp2(x);

	*sum += e;
	*ent2 = vf_fma(e, x, *ent2);
	return e;
}

/* Adds a fold's entropy sum, taken in base 2 (attn_exp_take), into the lanes'. */
LANES_INLINE void attn_lanes_add_entropy(struct attn_lanes *ls, vf ent2)
{
	ls->ent = vf_fma(ent2, vf_set(ATTN_LN2), ls->ent);
}

/*
 * Adds the lanes' part (sums taken relative to its max) into their state,
 * for the lanes in take; the others keep theirs.
 */
LANES_INLINE void attn_lanes_merge(struct attn_lanes *ls, const struct attn_lanes *part,
				   vi take, int dv)
{
	vf new_max = vf_select(take & (part->max > ls->max), part->max, ls->max);
	vf s1 = ls->max - new_max, s2 = vf_select(take, part->max - new_max, vf_set(0.0f));
	vf f1 = vf_exp(s1), f2 = vf_select(take, vf_exp(s2), vf_set(0.0f));

	ls->ent = f1 * (ls->ent + s1 * ls->sum) + f2 * (part->ent + s2 * part->sum);
	ls->sum = f1 * ls->sum + f2 * part->sum;
	for (int c = 0; c < dv; c++)
		ls->acc[c] = f1 * ls->acc[c] + f2 * part->acc[c];
	ls->max = new_max;
}

#endif
