#include "attention/attn_rows.h"

#include <limits.h>

#include "attention/attn_lanes.h"
#include "attention/attn_simd.h"

/*
 * Inlined everywhere: what runs in a segment_run inlined for each usual dv,
 * so that its accumulators stay in registers (attn_lanes); and what passes
 * vectors by value, which on targets without AVX-512 would cross an ABI
 * boundary otherwise.
 */
#define ROWS_INLINE static inline __attribute__((always_inline))

/* Key vectors of one window row whose dot products are taken together. */
#define ROWS_GROUP 4

/* Queries a segment needs to run as one; fewer run one by one. */
#define ROWS_MIN_LANES 4

/*
 * The queries of one vector: lane l is pixel (x + l, y) when it is a query
 * (lane[l] its index), its window centred on (wx, wy) (its centre rounded),
 * at an offset from it within [ox0, ox1] x [oy0, oy1]: the vector's keys
 * cover the union of the lanes' windows, and each lane takes those of its
 * own.
 */
struct segment {
	int lane[ATTN_LANES];   /* query index, -1: no query */
	vi active;
	int x, y;
	int ox0, ox1, oy0, oy1;
	vf cx, cy, wx, wy, bias;
};

/*
 * The window offsets of one row's queries [i, end) (at most ATTN_LANES, as
 * row_end finds them), query n's at [n - i]: rounded once, however often
 * segments look at them.
 */
struct row_offsets {
	int i, end;
	int ox[ATTN_LANES], oy[ATTN_LANES];
};

static void row_offsets_fill(const struct attn_rows *r, struct row_offsets *ro)
{
	int i = ro->i, n = ro->end - ro->i;
	vi ox = vf_round(vf_load_part(r->cx + i, n)) - vi_load_part(r->qx + i, n);
	vi oy = vf_round(vf_load_part(r->cy + i, n)) - vi_load_part(r->qy + i, n);

	memcpy(ro->ox, &ox, sizeof(ro->ox));
	memcpy(ro->oy, &oy, sizeof(ro->oy));
}

/*
 * How far apart a segment's window offsets may be: its vectors then cover
 * (2r + 1 + spread)^2 offsets for the (2r + 1)^2 of each lane's window,
 * two thirds of them used or more. The prior path's vectors cost a third
 * of the others': wider segments, fewer queries run alone, pay there
 * (whole-frame stabilize, radius 2: 5% less time with 2 more).
 */
static int spread_max(const struct attn_rows *r)
{
	return 1 + r->radius / 4 + (r->scale == 0.0f ? 2 : 0);
}

static int widen(int *lo, int *hi, int v, int spread)
{
	int a = v < *lo ? v : *lo, b = v > *hi ? v : *hi;

	if (b - a > spread)
		return 0;
	*lo = a;
	*hi = b;
	return 1;
}

/*
 * The queries [i, end) of one row of pixels, fewer than ATTN_LANES pixels
 * apart, starting at query i; returns end.
 */
static int row_end(const struct attn_rows *r, int i)
{
	int n = i + 1;

	while (n < r->nq && r->qy[n] == r->qy[i] && r->qx[n] > r->qx[n - 1] &&
	       r->qx[n] - r->qx[i] < ATTN_LANES)
		n++;
	return n;
}

/*
 * The segment segment_build makes of a whole row whose queries are
 * neighbouring pixels and whose window offsets all keep within spread_max
 * (a smooth motion field's usual row), taken as vectors; 0 when the row is
 * not such.
 */
static int segment_whole(const struct attn_rows *r, const struct row_offsets *ro,
			 unsigned *pending, struct segment *sg)
{
	int i = ro->i, n = ro->end - i, spread = spread_max(r);
	vi in, ox, oy, big = (vi){ 0 } + INT_MAX;
	vf zero = vf_set(0.0f);

	if (*pending != (1u << n) - 1u || r->qx[ro->end - 1] - r->qx[i] != n - 1)
		return 0;
	in = vf_lane_index() < (float)n;
	ox = vi_load_part(ro->ox, n);
	oy = vi_load_part(ro->oy, n);
	sg->ox0 = vi_hmin(vi_select(in, ox, big));
	sg->ox1 = vi_hmax(vi_select(in, ox, -big));
	sg->oy0 = vi_hmin(vi_select(in, oy, big));
	sg->oy1 = vi_hmax(vi_select(in, oy, -big));
	if (sg->ox1 - sg->ox0 > spread || sg->oy1 - sg->oy0 > spread)
		return 0;
	*pending = 0;
	sg->x = r->qx[i];
	sg->y = r->qy[i];
	sg->active = in;
	for (int l = 0; l < ATTN_LANES; l++)
		sg->lane[l] = l < n ? i + l : -1;
	sg->cx = vf_load_part(r->cx + i, n);
	sg->cy = vf_load_part(r->cy + i, n);
	sg->wx = vf_select(in, __builtin_convertvector(vi_load_part(r->qx + i, n) + ox, vf), zero);
	sg->wy = vf_select(in, __builtin_convertvector(vi_load_part(r->qy + i, n) + oy, vf), zero);
	sg->bias = vf_select(in, r->tile_bias + (r->qbias ? vf_load_part(r->qbias + i, n) : zero),
			     zero);
	return 1;
}

/*
 * A segment of the row's queries still pending (bit n - i of *pending):
 * the first of them and every other whose window offset keeps the
 * segment's within spread_max; their bits are cleared.
 */
static void segment_build(const struct attn_rows *r, const struct row_offsets *ro,
			  unsigned *pending, struct segment *sg)
{
	int i = ro->i, first = __builtin_ctz(*pending), spread = spread_max(r);

	if (segment_whole(r, ro, pending, sg))
		return;
	sg->x = r->qx[i];
	sg->y = r->qy[i];
	sg->ox0 = sg->ox1 = ro->ox[first];
	sg->oy0 = sg->oy1 = ro->oy[first];
	sg->active = (vi){ 0 };
	sg->cx = sg->cy = sg->wx = sg->wy = sg->bias = vf_set(0.0f);
	for (int l = 0; l < ATTN_LANES; l++)
		sg->lane[l] = -1;
	for (int n = i + first; n < ro->end; n++) {
		int l = r->qx[n] - sg->x, ox = ro->ox[n - i], oy = ro->oy[n - i];
		int ox0 = sg->ox0, ox1 = sg->ox1, oy0 = sg->oy0, oy1 = sg->oy1;

		if (!(*pending >> (n - i) & 1u) || !widen(&ox0, &ox1, ox, spread) ||
		    !widen(&oy0, &oy1, oy, spread))
			continue;
		*pending &= ~(1u << (n - i));
		sg->ox0 = ox0;
		sg->ox1 = ox1;
		sg->oy0 = oy0;
		sg->oy1 = oy1;
		sg->lane[l] = n;
		sg->active[l] = -1;
		sg->cx[l] = r->cx[n];
		sg->cy[l] = r->cy[n];
		sg->wx[l] = (float)(r->qx[n] + ox);
		sg->wy[l] = (float)(r->qy[n] + oy);
		sg->bias[l] = r->tile_bias + (r->qbias ? r->qbias[n] : 0.0f);
	}
}

/*
 * Query n alone (of the row ro), its window across the lanes: every lane
 * takes the keys of the window that fall on it.
 */
static void segment_one(const struct attn_rows *r, const struct row_offsets *ro,
			int n, struct segment *sg)
{
	sg->x = r->qx[n];
	sg->y = r->qy[n];
	sg->ox0 = sg->ox1 = ro->ox[n - ro->i];
	sg->oy0 = sg->oy1 = ro->oy[n - ro->i];
	sg->active = ~(vi){ 0 };
	sg->cx = vf_set(r->cx[n]);
	sg->cy = vf_set(r->cy[n]);
	sg->wx = vf_set((float)(sg->x + sg->ox0));
	sg->wy = vf_set((float)(sg->y + sg->oy0));
	sg->bias = vf_set(r->tile_bias + (r->qbias ? r->qbias[n] : 0.0f));
}

/* Key vectors across one window row of a query. */
static int row_vectors(const struct attn_rows *r)
{
	return (2 * r->radius + ATTN_LANES) / ATTN_LANES;
}

/* Columns of the union of a segment's windows. */
static int union_width(const struct attn_rows *r, const struct segment *sg)
{
	return 2 * r->radius + 1 + sg->ox1 - sg->ox0;
}

/* Rows of the union of a segment's windows. */
static int union_height(const struct attn_rows *r, const struct segment *sg)
{
	return 2 * r->radius + 1 + sg->oy1 - sg->oy0;
}

/* Score vectors of a segment: the union of its windows. */
static int segment_vectors(const struct attn_rows *r, const struct segment *sg)
{
	return union_width(r, sg) * union_height(r, sg);
}

/* Score vectors of one query's window, row by row. */
static int query_vectors(const struct attn_rows *r)
{
	return (2 * r->radius + 1) * row_vectors(r);
}

/*
 * Whether the segment's queries take less work one by one: a query alone
 * costs a fixed part (its state, the compaction) beside its window's
 * vectors, about as much as a segment of four neighbours takes (measured
 * on real clips with windows of radius 2 and 8).
 */
static int sparse(const struct segment *sg)
{
	int n = 0;

	for (int l = 0; l < ATTN_LANES; l++)
		n += sg->lane[l] >= 0;
	return n < ROWS_MIN_LANES;
}

/*
 * Scores of one chunk, where they are kept until folded: a vector each, or,
 * for one query's window, compacted (each vector's keys inside the window
 * follow the last vector's) with their values likewise. A vector whose keys
 * no lane takes (masked out, or outside every lane's window) is neither
 * scored nor kept: it would add nothing.
 */
struct chunk {
	float *s;               /* the scores */
	float *vals;            /* one query: dv rows of ATTN_ROWS_SPAN values, compacted */
	int *key;               /* else where each vector's lane 0 has its values in vt */
	int n;                  /* vectors, or compacted floats */
	vf max;
	vi useful;
};

/*
 * What the scores of one window row ky share, per lane: the lane's bias
 * less the prior down to the row, and whether the row is in its window.
 */
struct score_row {
	vf term;
	vi in;
};

ROWS_INLINE struct score_row score_row(const struct attn_rows *r, const struct segment *sg,
				       int ky)
{
	vf row = vf_set((float)ky), dy = row - sg->cy;

	return (struct score_row){
		.term = sg->bias - vf_set(r->lambda) * (dy * dy),
		.in = sg->active & (vf_abs(row - sg->wy) <= vf_set((float)r->radius)),
	};
}

/*
 * Which lanes take the vector of window keys kx.. (lane 0's) on a row (sr:
 * what its scores share; yy, rel: the keys' row and column in the
 * rectangle), the keys' terms into *kterm; the useful lanes are counted in
 * the chunk.
 */
ROWS_INLINE vi score_in(const struct attn_rows *r, const struct attn_rect *rc,
			const struct segment *sg, struct score_row sr, int kx, int yy,
			int rel, vf *kterm, struct chunk *ch)
{
	vf pos = vf_lane_index() + (float)kx;
	vi in;

	*kterm = vf_load(rc->kterm + (size_t)yy * rc->pitch + rel);
	in = sr.in & (pos >= vf_set((float)rc->x0)) &
	     (pos <= vf_set((float)(rc->x0 + rc->w - 1))) & (*kterm > 0.5f * ATTN_NEG) &
	     (vf_abs(pos - sg->wx) <= vf_set((float)r->radius));
	ch->useful -= in;       /* a true lane is -1 */
	return in;
}

/* Their scores from their dot products; those of lanes not in, ATTN_NEG. */
ROWS_INLINE vf score_of(const struct attn_rows *r, const struct segment *sg,
			struct score_row sr, vf dot, int kx, vf kterm, vi in)
{
	vf dx = vf_lane_index() + (float)kx - sg->cx;
	vf s = vf_fma(vf_set(2.0f * r->scale), dot, kterm + sr.term - vf_set(r->lambda) * (dx * dx));

	return vf_select(in, s, vf_set(ATTN_NEG));
}

/* A score vector kept in the chunk, its values to be read from vt. */
ROWS_INLINE void score_keep(const struct attn_rows *r, const struct attn_rect *rc,
			    vf s, int yy, int rel, struct chunk *ch)
{
	ch->max = vf_max(ch->max, s);
	vf_store(ch->s + (size_t)ch->n * ATTN_LANES, s);
	ch->key[ch->n++] = yy * r->dv * rc->pitch + rel;
}

/*
 * The dot products of the segment's queries (q, features q_pitch apart) with
 * ROWS_GROUP neighbouring key vectors from k (features at kt_off): one
 * query load and two key loads serve all of them, and their sums are
 * independent chains.
 */
static void group_dots(const struct attn_rows *r, const struct attn_rect *rc,
		       const float *q, const float *k, vf dot[ROWS_GROUP])
{
	for (int g = 0; g < ROWS_GROUP; g++)
		dot[g] = vf_set(0.0f);
	for (int c = 0; r->scale != 0.0f && c < r->d; c++) {
		vf qv = vf_load(q + (size_t)c * r->q_pitch);
		const float *kc = k + rc->kt_off[c];
		vf a = vf_load(kc), b = vf_load(kc + ATTN_LANES);

		for (int g = 0; g < ROWS_GROUP; g++)
			dot[g] = vf_fma(qv, vf_shift(a, b, g), dot[g]);
	}
}

ROWS_INLINE vf one_dot(const struct attn_rows *r, const struct attn_rect *rc,
		  const float *q, const float *k)
{
	vf dot = vf_set(0.0f);

	for (int c = 0; r->scale != 0.0f && c < r->d; c++)
		dot = vf_fma(vf_load(q + (size_t)c * r->q_pitch), vf_load(k + rc->kt_off[c]),
			     dot);
	return dot;
}

/*
 * The dot products of one query (features q[c * q_pitch]) with the key
 * vector at k (features at kt_off), in four chains.
 */
ROWS_INLINE vf query_dot(const struct attn_rows *r, const struct attn_rect *rc,
		    const float *q, const float *k)
{
	vf d0 = vf_set(0.0f), d1 = d0, d2 = d0, d3 = d0;
	size_t qp = (size_t)r->q_pitch;
	const int *ko = rc->kt_off;
	int c = 0;

	if (r->scale == 0.0f)
		return d0;
	for (; c + 4 <= r->d; c += 4) {
		d0 = vf_fma(vf_set(q[c * qp]), vf_load(k + ko[c]), d0);
		d1 = vf_fma(vf_set(q[(c + 1) * qp]), vf_load(k + ko[c + 1]), d1);
		d2 = vf_fma(vf_set(q[(c + 2) * qp]), vf_load(k + ko[c + 2]), d2);
		d3 = vf_fma(vf_set(q[(c + 3) * qp]), vf_load(k + ko[c + 3]), d3);
	}
	for (; c < r->d; c++)
		d0 = vf_fma(vf_set(q[c * qp]), vf_load(k + ko[c]), d0);
	return (d0 + d1) + (d2 + d3);
}

/*
 * A score vector of one query kept compacted: its first len lanes (the
 * window's columns among them) follow the chunk's last, and their values
 * with them; none when no lane takes its key.
 */
ROWS_INLINE void score_compact(const struct attn_rows *r, const struct attn_rect *rc,
			  const struct segment *sg, const float *q, const float *k,
			  int kx, int ky, int yy, int rel, int len, struct chunk *ch)
{
	const float *v = rc->vt + (size_t)yy * r->dv * rc->pitch + rel;
	struct score_row sr = score_row(r, sg, ky);
	vf kterm;
	vi in = score_in(r, rc, sg, sr, kx, yy, rel, &kterm, ch);

	if (!vi_any(in))
		return;
	vf_store(ch->s + ch->n, score_of(r, sg, sr, query_dot(r, rc, q, k), kx, kterm, in));
	for (int c = 0; c < r->dv; c++)
		vf_store(ch->vals + (size_t)c * ATTN_ROWS_SPAN + ch->n,
			 vf_load(v + (size_t)c * rc->pitch));
	ch->n += len;
}

/* Whether a key vector starting at column rel of the rectangle may touch it. */
static int touches(const struct attn_rect *rc, int rel)
{
	return rel + ATTN_LANES > 0 && rel < rc->w;
}

/*
 * Vectors k0 .. k1-1 of a one-query segment, whose features start at q:
 * its window row by row, ATTN_LANES keys a vector, for those that may lie
 * in the rectangle.
 */
static void query_scores(const struct attn_rows *r, const struct attn_rect *rc,
			 const struct segment *sg, const float *q, int k0, int k1,
			 struct chunk *ch)
{
	int per_row = row_vectors(r), side = 2 * r->radius + 1;

	for (int k = k0; k < k1; k++) {
		int ky = sg->y + sg->oy0 + k / per_row - r->radius, yy = ky - rc->y0;
		int col = k % per_row * ATTN_LANES, kx = sg->x + sg->ox0 - r->radius + col;
		int rel = kx - rc->x0;

		if (yy < 0 || yy >= rc->h || !touches(rc, rel))
			continue;
		score_compact(r, rc, sg, q, rc->kt + (ptrdiff_t)yy * rc->kt_row + rel,
			      kx, ky, yy, rel, side - col < ATTN_LANES ? side - col : ATTN_LANES,
			      ch);
	}
	/* the last vector's lanes past the window are left out */
	vf_store(ch->s + ch->n, vf_set(ATTN_NEG));
	for (int c = 0; c < r->dv; c++)
		vf_store(ch->vals + (size_t)c * ATTN_ROWS_SPAN + ch->n, vf_set(0.0f));
}

/*
 * Offsets k0 .. k1-1 (row-major over the union of the segment's windows) of
 * the segment, whose features start at q: a vector of scores each, for
 * those whose keys may lie in the rectangle (a window row outside it is
 * skipped whole), ROWS_GROUP neighbours of a row at a time where they can.
 */
static void chunk_scores(const struct attn_rows *r, const struct attn_rect *rc,
			 const struct segment *sg, const float *q, int k0, int k1,
			 struct chunk *ch)
{
	int side = union_width(r, sg);

	for (int k = k0; k < k1;) {
		int u = k % side, left = side - u < k1 - k ? side - u : k1 - k;
		int ky = sg->y + sg->oy0 + k / side - r->radius, yy = ky - rc->y0;
		int kx = sg->x + sg->ox0 + u - r->radius, rel = kx - rc->x0;
		const float *kt = rc->kt + (ptrdiff_t)yy * rc->kt_row + rel;
		vf dot[ROWS_GROUP];

		if (yy < 0 || yy >= rc->h) {
			k += left;
		} else if (left >= ROWS_GROUP && touches(rc, rel) &&
			   touches(rc, rel + ROWS_GROUP - 1)) {
			struct score_row sr = score_row(r, sg, ky);
			vf kterm[ROWS_GROUP];
			vi in[ROWS_GROUP], any = { 0 };

			for (int g = 0; g < ROWS_GROUP; g++) {
				in[g] = score_in(r, rc, sg, sr, kx + g, yy, rel + g, &kterm[g], ch);
				any |= in[g];
			}
			k += ROWS_GROUP;
			if (!vi_any(any))
				continue;
			group_dots(r, rc, q, kt, dot);
			for (int g = 0; g < ROWS_GROUP; g++)
				if (vi_any(in[g]))
					score_keep(r, rc, score_of(r, sg, sr, dot[g], kx + g,
								   kterm[g], in[g]),
						   yy, rel + g, ch);
		} else {
			struct score_row sr = score_row(r, sg, ky);
			vf kterm = vf_set(ATTN_NEG);
			vi in = touches(rc, rel) ?
				score_in(r, rc, sg, sr, kx, yy, rel, &kterm, ch) : (vi){ 0 };

			if (vi_any(in))
				score_keep(r, rc, score_of(r, sg, sr, one_dot(r, rc, q, kt), kx,
							   kterm, in),
					   yy, rel, ch);
			k++;
		}
	}
}

/*
 * exp(s - max) of a chunk's scores into the lanes' sums and accumulators
 * (attn_lanes_base: a score left out, or any of a lane with none in its
 * window yet, adds 0).
 */
ROWS_INLINE void chunk_fold(const struct attn_rect *rc, const struct chunk *ch, int dv,
			    struct attn_lanes *ls)
{
	vf off = attn_lanes_offset(ls, vf_set(0.0f)), ent2 = vf_set(0.0f);

	for (int n = 0; n < ch->n; n++) {
		vf e = attn_exp_take(vf_load(ch->s + (size_t)n * ATTN_LANES), off, &ls->sum, &ent2);
		const float *v = rc->vt + ch->key[n];

		for (int c = 0; c < dv; c++)
			ls->acc[c] = vf_fma(e, vf_load(v + (size_t)c * rc->pitch), ls->acc[c]);
	}
	attn_lanes_add_entropy(ls, ent2);
}

/*
 * With scale 0 the score is the key's term, the lane's bias and the prior
 * alone, and exp of it factors: exp(kterm - kmax) of the key (once per key
 * and call, not per lane), times exp(-lambda dx^2) of its column and
 * exp(-lambda dy^2) of its row (once per segment), each relative to its
 * largest. They are summed relative to the sum of those largest and the
 * lane's bias, at or above all of this call's scores, and then merged into
 * the lanes' state. Where that bound is far above a lane's best score (its
 * best placed keys masked out), its exps would lose precision: the
 * segment runs chunk by chunk instead.
 */
struct prior_keys {
	const float *w;         /* exp(kterm - kmax), laid out as kterm */
	float kmax;             /* the largest kterm of the rectangle */
};

/* Window columns or rows of a segment the prior path takes, at most. */
#define PRIOR_SIDE_MAX 24

/*
 * How far below the bound a lane's best score may be in the prior path,
 * and how far below it a score is left out (exp of it a subnormal float,
 * slow to compute; and e^-40 of the best at most).
 */
#define PRIOR_SLACK 40.0f
#define PRIOR_FLOOR 80.0f

/*
 * Along one axis, per column or row: which lanes have the key in their
 * window, the prior's log there less its largest in the window (top), and
 * its exp.
 */
struct prior_axis {
	vf g[PRIOR_SIDE_MAX], lg[PRIOR_SIDE_MAX];
	vi in[PRIOR_SIDE_MAX];
	vf top;                 /* 0 for a lane without a key in its window */
};

/*
 * The axis at positions pos + i (i < n, lane l at pos + i + l when lanes
 * is set, else every lane at pos + i) for lane centres c and window
 * centres wc; positions outside [lo, hi] are out.
 */
ROWS_INLINE void prior_axis_fill(const struct attn_rows *r, struct prior_axis *a, int pos,
				 int n, int lanes, vf c, vf wc, int lo, int hi)
{
	vf rad = vf_set((float)r->radius), lam = vf_set(r->lambda), neg = vf_set(ATTN_NEG);

	a->top = neg;
	for (int i = 0; i < n; i++) {
		vf p = (lanes ? vf_lane_index() : vf_set(0.0f)) + (float)(pos + i), d = p - c;

		a->lg[i] = -(lam * (d * d));
		a->in[i] = (vf_abs(p - wc) <= rad) & (p >= vf_set((float)lo)) &
			   (p <= vf_set((float)hi));
		a->top = vf_max(a->top, vf_select(a->in[i], a->lg[i], neg));
	}
	a->top = vf_select(a->top > 0.5f * ATTN_NEG, a->top, vf_set(0.0f));
	for (int i = 0; i < n; i++) {
		a->lg[i] -= a->top;
		a->g[i] = vf_select(a->in[i], vf_exp(a->lg[i]), vf_set(0.0f));
	}
}

/* The segment by the prior path; returns the useful scores, or -1 when it does not take it. */
ROWS_INLINE long segment_prior_dv(const struct attn_rows *r, const struct attn_rect *rc,
				  const struct segment *sg, const struct prior_keys *pk,
				  struct attn_state *st, long *computed, int dv)
{
	int sx = union_width(r, sg), sy = union_height(r, sg);
	int kx0 = sg->x + sg->ox0 - r->radius, ky0 = sg->y + sg->oy0 - r->radius;
	struct prior_axis col, row;
	struct attn_lanes ls, part = { .sum = vf_set(0.0f), .ent = vf_set(0.0f) };
	vi useful = { 0 }, seen;
	vf best = vf_set(ATTN_NEG);
	long lanes = 0;

	prior_axis_fill(r, &col, kx0, sx, 1, sg->cx, sg->wx, rc->x0, rc->x0 + rc->w - 1);
	prior_axis_fill(r, &row, ky0, sy, 0, sg->cy, sg->wy, rc->y0, rc->y0 + rc->h - 1);
	for (int c = 0; c < dv; c++)
		part.acc[c] = vf_set(0.0f);
	for (int v = 0; v < sy; v++) {
		int yy = ky0 + v - rc->y0;
		size_t at = (size_t)yy * rc->pitch;

		if (yy < 0 || yy >= rc->h)
			continue;
		for (int u = 0; u < sx; u++) {
			int rel = kx0 + u - rc->x0;
			const float *vals = rc->vt + at * dv + rel;

			if (!touches(rc, rel))
				continue;
			vf kterm = vf_load(rc->kterm + at + rel);
			vi in = sg->active & col.in[u] & row.in[v] & (kterm > 0.5f * ATTN_NEG);
			vf x = (kterm - pk->kmax) + col.lg[u] + row.lg[v];
			/* far below the bound: left out before the products could turn subnormal */
			vi near = x > vf_set(-PRIOR_FLOOR);
			vf e = vf_select(in, vf_load(pk->w + at + rel) *
					 vf_select(near, col.g[u], vf_set(0.0f)) * row.g[v],
					 vf_set(0.0f));

			best = vf_max(best, vf_select(in, x, vf_set(ATTN_NEG)));
			part.sum += e;
			part.ent = vf_fma(e, vf_select(near, x, vf_set(0.0f)), part.ent);
			for (int c = 0; c < dv; c++)
				part.acc[c] = vf_fma(e, vf_load(vals + (size_t)c * rc->pitch), part.acc[c]);
			useful -= in;   /* a true lane is -1 */
			lanes += ATTN_LANES;
		}
	}
	seen = best > 0.5f * ATTN_NEG;
	if (vi_hsum(seen & (best < -PRIOR_SLACK)))
		return -1;
	part.max = sg->bias + pk->kmax + col.top + row.top;
	attn_lanes_load(st, sg->lane, &ls, dv);
	attn_lanes_merge(&ls, &part, seen, dv);
	attn_lanes_store(st, sg->lane, &ls, dv);
	*computed += lanes;
	return vi_hsum(useful);
}

/* One segment's windows, chunk by chunk; returns the useful scores. */
ROWS_INLINE long segment_run_dv(const struct attn_rows *r, const struct attn_rect *rc,
				const struct segment *sg, struct attn_state *st,
				long *computed, int dv)
{
	int offsets = segment_vectors(r, sg);
	const float *q = r->qt + (size_t)(sg->y - r->qy0) * r->d * r->q_pitch +
			 (sg->x - r->qx0);
	struct chunk ch = { .s = r->work, .key = r->keys };
	struct attn_lanes ls;
	long useful = 0;

	attn_lanes_load(st, sg->lane, &ls, dv);
	for (int k0 = 0; k0 < offsets; k0 += ATTN_ROWS_CHUNK) {
		int k1 = k0 + ATTN_ROWS_CHUNK < offsets ? k0 + ATTN_ROWS_CHUNK : offsets;

		ch.n = 0;
		ch.max = vf_set(ATTN_NEG);
		ch.useful = (vi){ 0 };
		chunk_scores(r, rc, sg, q, k0, k1, &ch);
		useful += vi_hsum(ch.useful);
		*computed += (long)ch.n * ATTN_LANES;
		if (!ch.n)
			continue;
		attn_lanes_rescale(&ls, ch.max, dv);
		chunk_fold(rc, &ch, dv, &ls);
	}
	attn_lanes_store(st, sg->lane, &ls, dv);
	return useful;
}

/* Whether the prior path takes the segment (pk: the keys' factors, or NULL). */
static int prior_path(const struct attn_rows *r, const struct segment *sg,
		      const struct prior_keys *pk)
{
	return pk && union_width(r, sg) <= PRIOR_SIDE_MAX &&
	       union_height(r, sg) <= PRIOR_SIDE_MAX;
}

/*
 * A segment, by the prior path where it takes it, else chunk by chunk, for
 * the value counts the modes use (1 and 3: stabilize; 3 per keyframe and 9
 * more: propagate) and any other.
 */
static long segment_run(const struct attn_rows *r, const struct attn_rect *rc,
			const struct segment *sg, const struct prior_keys *pk,
			struct attn_state *st, long *computed)
{
	long useful = !prior_path(r, sg, pk) ? -1 :
		      r->dv == 1 ? segment_prior_dv(r, rc, sg, pk, st, computed, 1) :
		      r->dv == 3 ? segment_prior_dv(r, rc, sg, pk, st, computed, 3) :
				   segment_prior_dv(r, rc, sg, pk, st, computed, r->dv);

	if (useful >= 0)
		return useful;
	switch (r->dv) {
	case 1:
		return segment_run_dv(r, rc, sg, st, computed, 1);
	case 3:
		return segment_run_dv(r, rc, sg, st, computed, 3);
	case 6:
		return segment_run_dv(r, rc, sg, st, computed, 6);
	case 12:
		return segment_run_dv(r, rc, sg, st, computed, 12);
	case 15:
		return segment_run_dv(r, rc, sg, st, computed, 15);
	default:
		return segment_run_dv(r, rc, sg, st, computed, r->dv);
	}
}

/*
 * Query n's window across the lanes, row by row, its keys folded compacted
 * into its state; returns the useful scores.
 */
static long query_run(const struct attn_rows *r, const struct attn_rect *rc,
		      const struct row_offsets *ro, int n, struct attn_state *st,
		      long *computed)
{
	int vectors = query_vectors(r);
	struct chunk ch = { .s = r->work, .vals = r->work + ATTN_ROWS_SPAN };
	struct segment sg;
	const float *q;
	long useful = 0;

	segment_one(r, ro, n, &sg);
	q = r->qt + (size_t)(sg.y - r->qy0) * r->d * r->q_pitch + (sg.x - r->qx0);
	for (int k0 = 0; k0 < vectors; k0 += ATTN_ROWS_CHUNK) {
		int k1 = k0 + ATTN_ROWS_CHUNK < vectors ? k0 + ATTN_ROWS_CHUNK : vectors;
		int used;
		vf vmax = vf_set(ATTN_NEG);
		float m;

		ch.n = 0;
		ch.useful = (vi){ 0 };
		query_scores(r, rc, &sg, q, k0, k1, &ch);
		useful += vi_hsum(ch.useful);
		used = attn_pad(ch.n);
		*computed += used;
		for (int j = 0; j < used; j += ATTN_LANES)
			vmax = vf_max(vmax, vf_load(ch.s + j));
		m = vf_hmax(vmax);
		if (m <= 0.5f * ATTN_NEG)
			continue;
		if (m > st->max[n])
			attn_state_rescale(st, n, m);
		attn_state_fold(st, n, ch.s, ch.vals, ATTN_ROWS_SPAN, used);
	}
	return useful;
}

/*
 * The factors of the prior path when it applies (scale 0, and room for
 * them in the scratch past what query_run uses), in *pk; else NULL.
 */
static const struct prior_keys *prior_keys_fill(const struct attn_rows *r,
						const struct attn_rect *rc,
						struct prior_keys *pk)
{
	size_t used = (size_t)(1 + r->dv) * ATTN_ROWS_SPAN + ATTN_LANES;
	size_t n = (size_t)rc->h * rc->pitch;
	vf kmax = vf_set(ATTN_NEG);
	float *w = r->work + used;

	if (r->scale != 0.0f || used + n + 2 * ATTN_LANES > ATTN_ROWS_WORK)
		return NULL;
	for (int y = 0; y < rc->h; y++)
		for (int x = 0; x < rc->w; x += ATTN_LANES)
			kmax = vf_max(kmax, vf_select(vf_lane_index() < (float)(rc->w - x),
						      vf_load(rc->kterm + (size_t)y * rc->pitch + x),
						      vf_set(ATTN_NEG)));
	pk->kmax = vf_hmax(kmax);
	pk->w = w + ATTN_LANES;
	/* the margin before too: a key vector may start before its run */
	for (long i = -ATTN_LANES; i < (long)n; i += ATTN_LANES) {
		vf x = vf_load(rc->kterm + i) - pk->kmax;

		vf_store(w + ATTN_LANES + i, vf_exp(vf_select(x < vf_set(0.0f), x, vf_set(0.0f))));
	}
	return pk;
}

long attn_rows_update(const struct attn_rows *rows, const struct attn_rect *rect,
		      struct attn_state *st, long *computed)
{
	struct prior_keys keys;
	const struct prior_keys *pk = prior_keys_fill(rows, rect, &keys);
	struct segment sg;
	long useful = 0, lanes = 0;

	for (int i = 0; i < rows->nq;) {
		struct row_offsets ro = { .i = i, .end = row_end(rows, i) };
		unsigned pending = (1u << (ro.end - i)) - 1u;

		row_offsets_fill(rows, &ro);
		while (pending) {
			segment_build(rows, &ro, &pending, &sg);
			if (!sparse(&sg)) {
				useful += segment_run(rows, rect, &sg, pk, st, &lanes);
				continue;
			}
			for (int l = 0; l < ATTN_LANES; l++)
				if (sg.lane[l] >= 0)
					useful += query_run(rows, rect, &ro, sg.lane[l], st,
							    &lanes);
		}
		i = ro.end;
	}
	if (computed)
		*computed = lanes;
	return useful;
}
