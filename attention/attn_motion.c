#include "attention/attn_motion.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_frame.h"
#include "attention/attn_simd.h"

#define MAX_LEVELS 8
#define MIN_BLOCK 8             /* matching block side, at least */
#define MAX_BLOCK 32            /* and at most */
#define TOP_SIDE 64             /* the coarsest level is about this small */

struct level {
	int w, h;
	float *p;
};

struct pyramid {
	int n;
	struct level l[MAX_LEVELS];
};

static void pyramid_free(struct pyramid *py)
{
	for (int i = 0; i < py->n; i++)
		free(py->l[i].p);
	py->n = 0;
}

/*
 * 2x2 averages of rows a and b (n samples; an odd last one pairs with
 * itself) into n / 2 rounded up samples, of 8-bit samples scaled to 0..1
 * or of floats.
 */
static void halve_row8(const uint8_t *a, const uint8_t *b, int n, float *out)
{
	int x;

	for (x = 0; 2 * x + 1 < n; x++)
		out[x] = (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) * (0.25f / 255.0f);
	if (n & 1)
		out[x] = (a[2 * x] + a[2 * x] + b[2 * x] + b[2 * x]) * (0.25f / 255.0f);
}

static void halve_rowf(const float *a, const float *b, int n, float *out)
{
	int x;

	for (x = 0; 2 * x + 1 < n; x++)
		out[x] = (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) * 0.25f;
	if (n & 1)
		out[x] = (a[2 * x] + a[2 * x] + b[2 * x] + b[2 * x]) * 0.25f;
}

/* A plane (8-bit samples scaled to 0..1, or floats) halved into half. */
static void halve_into(const uint8_t *p8, const float *pf, int width, int height,
		       float *half)
{
	int hw = (width + 1) / 2, hh = (height + 1) / 2;

	for (int y = 0; y < hh; y++) {
		size_t r0 = (size_t)2 * y * width;
		size_t r1 = (size_t)(2 * y + 1 < height ? 2 * y + 1 : 2 * y) * width;

		if (p8)
			halve_row8(p8 + r0, p8 + r1, width, half + (size_t)y * hw);
		else
			halve_rowf(pf + r0, pf + r1, width, half + (size_t)y * hw);
	}
}

/* Level 0 is a copy of the plane; each next level halves it by 2x2 averaging. */
static int pyramid_build(const float *plane, int w, int h, int levels,
			 struct pyramid *py)
{
	py->n = 0;
	py->l[0] = (struct level){ w, h, malloc(sizeof(float) * w * h) };
	if (!py->l[0].p)
		return -ENOMEM;
	memcpy(py->l[0].p, plane, sizeof(float) * w * h);
	py->n = 1;
	while (py->n < levels) {
		struct level *s = &py->l[py->n - 1], *d = &py->l[py->n];

		d->w = (s->w + 1) / 2;
		d->h = (s->h + 1) / 2;
		d->p = malloc(sizeof(float) * d->w * d->h);
		if (!d->p) {
			pyramid_free(py);
			return -ENOMEM;
		}
		halve_into(NULL, s->p, s->w, s->h, d->p);
		py->n++;
	}
	return 0;
}

/* v brought into 0 .. n-1: the nearest sample inside a level. */
static int clamp_index(int v, int n)
{
	return v < 0 ? 0 : v >= n ? n - 1 : v;
}

static const float *row_of(const struct level *l, int y)
{
	return l->p + (size_t)clamp_index(y, l->h) * l->w;
}

struct match {
	const struct level *a, *b;
	const struct level *w;          /* weights at this level, or NULL */
	int ax, ay, side;               /* the block of a (top-left corner) */
	float ab[MAX_BLOCK * MAX_BLOCK];        /* its samples, side x side */
	float wb[MAX_BLOCK * MAX_BLOCK];        /* and weights */
	float sw;                       /* the sum of its weights */
	const float *bw;                /* b around the shifts searched, clamped */
	int bx0, by0, pitch;            /* at b's (bx0, by0), rows pitch apart */
};

/* The samples (clamped at the borders) and weights of m's block of a. */
static void block_read(struct match *m)
{
	m->sw = 0.0f;
	for (int y = 0; y < m->side; y++) {
		const float *ra = row_of(m->a, m->ay + y);
		const float *rw = m->w ? row_of(m->w, m->ay + y) : NULL;

		for (int x = 0; x < m->side; x++) {
			int xa = clamp_index(m->ax + x, m->a->w);

			m->ab[y * m->side + x] = ra[xa];
			m->wb[y * m->side + x] = rw ? rw[xa] : 1.0f;
			m->sw += m->wb[y * m->side + x];
		}
	}
}

/*
 * Floats of the window of b that shifts within r (and one more, for the
 * costs around the best) of a centre need, blocks of up to side.
 */
static size_t window_floats(int side, int r)
{
	return (size_t)(side + 2 * r + 2) * (side + 2 * r + 2 + VF_LANES);
}

/*
 * b around the shifts within r (+1) of (dx, dy) into buf, clamped at b's
 * borders, so that every shift reads it as vectors without a bound check.
 */
static void window_read(struct match *m, int dx, int dy, int r, float *buf)
{
	int rows = m->side + 2 * r + 2;

	m->pitch = m->side + 2 * r + 2 + VF_LANES;
	m->bx0 = m->ax + dx - r - 1;
	m->by0 = m->ay + dy - r - 1;
	int inside = m->bx0 >= 0 && m->bx0 + m->pitch <= m->b->w;

	for (int y = 0; y < rows; y++) {
		const float *rb = row_of(m->b, m->by0 + y);
		float *o = buf + (size_t)y * m->pitch;

		if (inside) {
			memcpy(o, rb + m->bx0, sizeof(float) * m->pitch);
			continue;
		}
		for (int x = 0; x < m->pitch; x++)
			o[x] = rb[clamp_index(m->bx0 + x, m->b->w)];
	}
	m->bw = buf;
}

/*
 * Weighted zero-mean sums of squared differences between the block of a
 * and the blocks of b displaced by (dx0 + l, dy), a lane each: a change of
 * brightness does not move the match, and only the weighted content
 * counts.
 */
static void block_costs(const struct match *m, int dx0, int dy, float *cost)
{
	vf sd = vf_set(0.0f), sdd = vf_set(0.0f);
	const float *rb = m->bw + (size_t)(m->ay + dy - m->by0) * m->pitch +
			  (m->ax + dx0 - m->bx0);

	for (int y = 0; y < m->side; y++, rb += m->pitch) {
		for (int x = 0; x < m->side; x++) {
			float w = m->wb[y * m->side + x];
			vf d = m->ab[y * m->side + x] - vf_load(rb + x);

			sd += w * d;
			sdd += w * d * d;
		}
	}
	vf_store(cost, m->sw > 0.0f ? sdd - sd * sd / m->sw : vf_set(0.0f));
}

/*
 * 1 when the block displaced by (dx, dy) lies at least half inside b: a
 * block pushed off the frame matches the smeared border, not content.
 */
static int mostly_inside(const struct match *m, int dx, int dy)
{
	int x0 = m->ax + dx, y0 = m->ay + dy, x1 = x0 + m->side, y1 = y0 + m->side;
	int ix = (x1 < m->b->w ? x1 : m->b->w) - (x0 > 0 ? x0 : 0);
	int iy = (y1 < m->b->h ? y1 : m->b->h) - (y0 > 0 ? y0 : 0);

	return ix > 0 && iy > 0 && 2 * ix * iy >= m->side * m->side;
}

/*
 * Best integer shift within +-r of (dx, dy); writes the 3x3 costs around it
 * when around is not NULL.
 */
static void search(const struct match *m, int r, int *dx, int *dy, float around[9])
{
	int bx = *dx, by = *dy;
	float best = INFINITY, cost[VF_LANES];

	for (int y = *dy - r; y <= *dy + r; y++)
		for (int x0 = *dx - r; x0 <= *dx + r; x0 += VF_LANES) {
			block_costs(m, x0, y, cost);
			for (int x = x0; x <= *dx + r && x < x0 + VF_LANES; x++) {
				float c;

				if (!mostly_inside(m, x, y) && (x || y))
					continue;
				/* far matches must be clearly better: flat or repeating
				 * content should not send a cell across the frame */
				c = cost[x - x0] *
				    (1.0f + 0.25f * (float)((x - *dx) * (x - *dx) +
							    (y - *dy) * (y - *dy)) /
				     (float)(r * r + 1));

				/* ties go to the smaller displacement: no motion wins */
				if (c < best || (c == best && abs(x) + abs(y) < abs(bx) + abs(by))) {
					best = c;
					bx = x;
					by = y;
				}
			}
		}
	for (int i = 0; around && i < 3; i++) {
		block_costs(m, bx - 1, by + i - 1, cost);
		for (int j = 0; j < 3; j++)
			around[i * 3 + j] = cost[j];
	}
	*dx = bx;
	*dy = by;
}

/* Sub-pixel offset of a parabola's minimum through costs l, c, r. */
static float vertex(float l, float c, float r)
{
	float den = l - 2.0f * c + r;

	/* an exact match is exact, whatever the borders do to its neighbours */
	if (den <= 1e-12f || c == 0.0f)
		return 0.0f;
	float off = 0.5f * (l - r) / den;

	return off < -0.5f ? -0.5f : off > 0.5f ? 0.5f : off;
}

/* Levels until the coarsest is about TOP_SIDE wide (or tall, halved). */
static int levels_for(int w, int h)
{
	int n = 1;

	while (n < MAX_LEVELS && (w >> n) >= TOP_SIDE && (h >> n) >= TOP_SIDE / 2)
		n++;
	return n;
}

struct attn_motion_frame {
	int width, height;
	struct pyramid luma;
	struct pyramid weight;          /* n == 0 without a mask */
};

struct pyramids {
	const struct pyramid *a, *b, *w;        /* w NULL without weights */
	int finest;                             /* the finest level searched */
	float *window;                          /* scratch for window_read */
};

/*
 * The motion of one cell: exhaustive search at the top level, +-1 at each
 * finer one down to the finest, sub-pixel there. The block covers the
 * cell (within MIN_BLOCK..MAX_BLOCK), so the field follows the camera and
 * large structures, not small warps.
 */
static void cell_motion(const struct pyramids *p, float cx, float cy, int cell,
			int range, float *mx, float *my)
{
	int top = p->a->n - 1, dx = 0, dy = 0;
	float around[9] = { 0 };
	struct match m;

	for (int l = top; l >= p->finest; l--) {
		int s = 1 << l, r = l == top ? (range + s - 1) / s : 1;

		m.a = &p->a->l[l];
		m.b = &p->b->l[l];
		m.w = p->w ? &p->w->l[l] : NULL;
		m.side = cell / s < MIN_BLOCK ? MIN_BLOCK :
			 cell / s > MAX_BLOCK ? MAX_BLOCK : cell / s;
		m.ax = (int)floorf(cx / s) - m.side / 2;
		m.ay = (int)floorf(cy / s) - m.side / 2;
		if (l != top) {
			dx *= 2;
			dy *= 2;
		}
		block_read(&m);
		window_read(&m, dx, dy, r, p->window);
		/* the costs around the shift are wanted at the finest level alone */
		search(&m, r, &dx, &dy, l == p->finest ? around : NULL);
	}
	*mx = ((float)dx + vertex(around[3], around[4], around[5])) * (1 << p->finest);
	*my = ((float)dy + vertex(around[1], around[4], around[7])) * (1 << p->finest);
}

static float median(float *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			float t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

/* Median of the cells around (x, y), itself too, that `use` marks. */
static float median_around(const float *g, const unsigned char *use, int gw,
			   int gh, int x, int y, int *n)
{
	float v[9];

	*n = 0;
	for (int i = 0; i < 9; i++) {
		int xx = x + i % 3 - 1, yy = y + i / 3 - 1;

		if (xx >= 0 && xx < gw && yy >= 0 && yy < gh && use[yy * gw + xx])
			v[(*n)++] = g[yy * gw + xx];
	}
	return *n ? median(v, *n) : 0.0f;
}

/*
 * 3x3 median of a grid plane over the valid cells. An invalid cell then
 * takes the median of its smoothed valid neighbours (a lone wrong match
 * next to it must not carry over), or of every valid cell when none is
 * near (the motion of the whole masked content).
 */
static void median_filter(float *g, const unsigned char *valid, int gw, int gh,
			  float *tmp)
{
	int cells = gw * gh, n, n_all = 0;
	float all;

	for (int y = 0; y < gh; y++)
		for (int x = 0; x < gw; x++)
			if (valid[y * gw + x])
				tmp[y * gw + x] = median_around(g, valid, gw, gh, x, y, &n);
	for (int i = 0; i < cells; i++)
		if (valid[i])
			g[n_all++] = tmp[i];
	all = n_all ? median(g, n_all) : 0.0f;
	for (int y = 0; y < gh; y++)
		for (int x = 0; x < gw; x++) {
			int i = y * gw + x;

			if (valid[i])
				continue;
			tmp[i] = median_around(tmp, valid, gw, gh, x, y, &n);
			if (!n)
				tmp[i] = all;
		}
	memcpy(g, tmp, sizeof(float) * cells);
}

int attn_motion_zero(int width, int height, int cell, attn_motion **out)
{
	attn_motion *m;

	if (width < 1 || height < 1 || cell < 1)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->width = width;
	m->height = height;
	m->cell = cell;
	m->gw = (width + cell - 1) / cell;
	m->gh = (height + cell - 1) / cell;
	m->dx = calloc((size_t)m->gw * m->gh, sizeof(float));
	m->dy = calloc((size_t)m->gw * m->gh, sizeof(float));
	if (!m->dx || !m->dy) {
		attn_motion_free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void attn_motion_free(attn_motion *m)
{
	if (!m)
		return;
	free(m->dx);
	free(m->dy);
	free(m);
}

/*
 * Cells that hold weighted content, read at the coarsest level no larger
 * than a cell (all cells without weights). A cell without any would match
 * nothing (every displacement costs 0) and vote for zero motion.
 */
static int cell_valid(const struct pyramid *w, int cell, int gx, int gy)
{
	int l = 0, s;
	const struct level *lv;

	if (!w)
		return 1;
	while (l + 1 < w->n && (2 << l) <= cell)
		l++;
	lv = &w->l[l];
	s = 1 << l;
	for (int y = gy * cell / s; y < (gy + 1) * cell / s && y < lv->h; y++)
		for (int x = gx * cell / s; x < (gx + 1) * cell / s && x < lv->w; x++)
			if (lv->p[(size_t)y * lv->w + x] > 0.0f)
				return 1;
	return 0;
}

static void estimate_cells(const struct pyramids *p, attn_motion *m, int range,
			   unsigned char *valid)
{
	for (int gy = 0; gy < m->gh; gy++)
		for (int gx = 0; gx < m->gw; gx++) {
			int i = gy * m->gw + gx;

			valid[i] = (unsigned char)cell_valid(p->w, m->cell, gx, gy);
			if (valid[i])
				cell_motion(p, (gx + 0.5f) * m->cell,
					    (gy + 0.5f) * m->cell, m->cell, range,
					    &m->dx[i], &m->dy[i]);
		}
}

/* The search radius at the top level, or 1 when larger (the finer levels'). */
static int top_range(const struct pyramids *p, int range)
{
	int s = 1 << (p->a->n - 1), r = (range + s - 1) / s;

	return r > 1 ? r : 1;
}

/* Searches stop at half resolution where there are levels enough. */
static int finest_level(int levels)
{
	return levels > 2 ? 1 : 0;
}

/* The full-size level is never searched then: its memory goes back. */
static void drop_level0(struct pyramid *py)
{
	if (py->n > 0) {
		free(py->l[0].p);
		py->l[0].p = NULL;
	}
}

int attn_motion_frame_create(const float *luma, const float *weight, int width,
			     int height, attn_motion_frame **out)
{
	attn_motion_frame *f = calloc(1, sizeof(*f));
	int levels = levels_for(width, height), ret;

	if (!f)
		return -ENOMEM;
	f->width = width;
	f->height = height;
	ret = pyramid_build(luma, width, height, levels, &f->luma);
	if (ret >= 0 && weight)
		ret = pyramid_build(weight, width, height, levels, &f->weight);
	if (ret < 0) {
		attn_motion_frame_free(f);
		return ret;
	}
	if (finest_level(levels) > 0) {
		drop_level0(&f->luma);
		drop_level0(&f->weight);
	}
	*out = f;
	return 0;
}

/* From 8-bit luma through a float copy of the full level. */
static int create8_full(const uint8_t *luma, const float *weight, int width,
			int height, attn_motion_frame **out)
{
	size_t n = (size_t)width * height;
	float *tmp = malloc(sizeof(float) * (n ? n : 1));
	int ret;

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		tmp[i] = luma[i] * (1.0f / 255.0f);
	ret = attn_motion_frame_create(tmp, weight, width, height, out);
	free(tmp);
	return ret;
}

/* A pyramid whose level 1 is half (half size already); level 0 left empty. */
static int pyramid_from_half(const float *half, int width, int height,
			     int levels, struct pyramid *py)
{
	struct pyramid up;
	int ret = pyramid_build(half, (width + 1) / 2, (height + 1) / 2, levels - 1,
				&up);

	if (ret < 0)
		return ret;
	py->n = levels;
	py->l[0] = (struct level){ width, height, NULL };
	for (int i = 0; i < up.n; i++)
		py->l[i + 1] = up.l[i];
	return 0;
}

/* 2x2 averages of a plane of 8-bit samples (scaled to 0..1) or of floats. */
static float *halve(const uint8_t *p8, const float *pf, int width, int height)
{
	float *half = malloc(sizeof(float) * ((width + 1) / 2) * ((height + 1) / 2));

	if (half)
		halve_into(p8, pf, width, height, half);
	return half;
}

int attn_motion_frame_create8(const uint8_t *luma, const float *weight,
			      int width, int height, attn_motion_frame **out)
{
	int levels = levels_for(width, height), ret = -ENOMEM;
	attn_motion_frame *f;
	float *half;

	/* searches stop at half size: start there, without the full level */
	if (finest_level(levels) == 0)
		return create8_full(luma, weight, width, height, out);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->width = width;
	f->height = height;
	half = halve(luma, NULL, width, height);
	if (half)
		ret = pyramid_from_half(half, width, height, levels, &f->luma);
	free(half);
	if (ret >= 0 && weight) {
		half = halve(NULL, weight, width, height);
		ret = half ? pyramid_from_half(half, width, height, levels, &f->weight) :
			     -ENOMEM;
		free(half);
	}
	if (ret < 0) {
		attn_motion_frame_free(f);
		return ret;
	}
	*out = f;
	return 0;
}

void attn_motion_frame_free(attn_motion_frame *f)
{
	if (!f)
		return;
	pyramid_free(&f->luma);
	pyramid_free(&f->weight);
	free(f);
}

int attn_motion_estimate(const attn_motion_frame *a, const attn_motion_frame *b,
			 int cell, int range, attn_motion **out)
{
	struct pyramids p = {
		.a = &a->luma, .b = &b->luma, .w = a->weight.n ? &a->weight : NULL,
		.finest = finest_level(a->luma.n),
	};
	unsigned char *valid;
	attn_motion *m;
	float *tmp;
	int ret;

	if (a->width != b->width || a->height != b->height)
		return -EINVAL;
	/* beyond a quarter of the frame, matches are mostly the borders' */
	range = range < (a->width > a->height ? a->width : a->height) / 4 ? range :
		(a->width > a->height ? a->width : a->height) / 4;
	ret = attn_motion_zero(a->width, a->height, cell, &m);
	if (ret < 0)
		return ret;
	tmp = malloc(sizeof(float) * m->gw * m->gh);
	valid = malloc((size_t)m->gw * m->gh);
	p.window = malloc(sizeof(float) * window_floats(MAX_BLOCK, top_range(&p, range)));
	if (!tmp || !valid || !p.window) {
		ret = -ENOMEM;
		goto out_free;
	}
	estimate_cells(&p, m, range, valid);
	median_filter(m->dx, valid, m->gw, m->gh, tmp);
	median_filter(m->dy, valid, m->gw, m->gh, tmp);
	*out = m;
	m = NULL;
out_free:
	free(p.window);
	free(valid);
	free(tmp);
	attn_motion_free(m);
	return ret;
}

void attn_motion_at(const attn_motion *m, float x, float y, float *dx, float *dy)
{
	struct attn_taps t;

	attn_taps_at(m->gw, m->gh, x / m->cell - 0.5f, y / m->cell - 0.5f, &t);
	*dx = attn_taps_sample(m->dx, &t);
	*dy = attn_taps_sample(m->dy, &t);
}
