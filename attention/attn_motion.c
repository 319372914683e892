#include "attention/attn_motion.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_frame.h"

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
	for (int i = 1; i < py->n; i++)
		free(py->l[i].p);
}

/* Level 0 borrows the plane; each next level halves it by 2x2 averaging. */
static int pyramid_build(const float *plane, int w, int h, int levels,
			 struct pyramid *py)
{
	py->n = 1;
	py->l[0] = (struct level){ w, h, (float *)plane };
	while (py->n < levels) {
		struct level *s = &py->l[py->n - 1], *d = &py->l[py->n];

		d->w = (s->w + 1) / 2;
		d->h = (s->h + 1) / 2;
		d->p = malloc(sizeof(float) * d->w * d->h);
		if (!d->p) {
			pyramid_free(py);
			return -ENOMEM;
		}
		for (int y = 0; y < d->h; y++) {
			for (int x = 0; x < d->w; x++) {
				int x1 = 2 * x + 1 < s->w ? 2 * x + 1 : 2 * x;
				int y1 = 2 * y + 1 < s->h ? 2 * y + 1 : 2 * y;
				const float *r0 = s->p + (size_t)2 * y * s->w;
				const float *r1 = s->p + (size_t)y1 * s->w;

				d->p[(size_t)y * d->w + x] = 0.25f *
					(r0[2 * x] + r0[x1] + r1[2 * x] + r1[x1]);
			}
		}
		py->n++;
	}
	return 0;
}

static float px(const struct level *l, int x, int y)
{
	x = x < 0 ? 0 : x >= l->w ? l->w - 1 : x;
	y = y < 0 ? 0 : y >= l->h ? l->h - 1 : y;
	return l->p[(size_t)y * l->w + x];
}

struct match {
	const struct level *a, *b;
	const struct level *w;          /* weights at this level, or NULL */
	int ax, ay, side;               /* the block of a (top-left corner) */
};

static float weight_at(const struct match *m, int x, int y)
{
	return m->w ? px(m->w, x, y) : 1.0f;
}

/*
 * Weighted zero-mean sum of squared differences between the block of a and
 * the block of b displaced by (dx, dy): a change of brightness does not
 * move the match, and only the weighted content counts.
 */
static float block_cost(const struct match *m, int dx, int dy)
{
	float sw = 0.0f, sd = 0.0f, sdd = 0.0f;

	for (int y = m->ay; y < m->ay + m->side; y++)
		for (int x = m->ax; x < m->ax + m->side; x++) {
			float w = weight_at(m, x, y);
			float d = px(m->a, x, y) - px(m->b, x + dx, y + dy);

			sw += w;
			sd += w * d;
			sdd += w * d * d;
		}
	return sw > 0.0f ? sdd - sd * sd / sw : 0.0f;
}

/* Best integer shift within +-r of (dx, dy); writes the 3x3 costs around it. */
static void search(const struct match *m, int r, int *dx, int *dy, float around[9])
{
	int bx = *dx, by = *dy;
	float best = INFINITY;

	for (int y = *dy - r; y <= *dy + r; y++)
		for (int x = *dx - r; x <= *dx + r; x++) {
			float c = block_cost(m, x, y);

			/* ties go to the smaller displacement: no motion wins */
			if (c < best || (c == best && abs(x) + abs(y) < abs(bx) + abs(by))) {
				best = c;
				bx = x;
				by = y;
			}
		}
	for (int i = 0; i < 9; i++)
		around[i] = block_cost(m, bx + i % 3 - 1, by + i / 3 - 1);
	*dx = bx;
	*dy = by;
}

/* Sub-pixel offset of a parabola's minimum through costs l, c, r. */
static float vertex(float l, float c, float r)
{
	float den = l - 2.0f * c + r;

	if (den <= 1e-12f)
		return 0.0f;
	float off = 0.5f * (l - r) / den;

	return off < -0.5f ? -0.5f : off > 0.5f ? 0.5f : off;
}

/*
 * Levels until the coarsest is about TOP_SIDE wide or the search range
 * there is a few pixels.
 */
static int levels_for(int w, int h, int range)
{
	int n = 1;

	while (n < MAX_LEVELS && (w >> n) >= TOP_SIDE && (h >> n) >= TOP_SIDE / 2
	       && (range >> n) >= 2)
		n++;
	return n;
}

struct pyramids {
	struct pyramid a, b, w;         /* w.n == 0 without weights */
	int finest;                     /* the finest level searched */
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
	int top = p->a.n - 1, dx = 0, dy = 0;
	float around[9] = { 0 };

	for (int l = top; l >= p->finest; l--) {
		int s = 1 << l;
		int side = cell / s < MIN_BLOCK ? MIN_BLOCK :
			   cell / s > MAX_BLOCK ? MAX_BLOCK : cell / s;
		struct match m = {
			.a = &p->a.l[l], .b = &p->b.l[l],
			.w = p->w.n ? &p->w.l[l] : NULL, .side = side,
			.ax = (int)floorf(cx / s) - side / 2,
			.ay = (int)floorf(cy / s) - side / 2,
		};

		if (l != top) {
			dx *= 2;
			dy *= 2;
		}
		search(&m, l == top ? (range + s - 1) / s : 1, &dx, &dy, around);
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

/* 3x3 median of a grid plane over the valid cells; invalid ones get it too. */
static void median_filter(float *g, const unsigned char *valid, int gw, int gh,
			  float *tmp)
{
	for (int y = 0; y < gh; y++)
		for (int x = 0; x < gw; x++) {
			float v[9];
			int n = 0;

			for (int i = 0; i < 9; i++) {
				int xx = x + i % 3 - 1, yy = y + i / 3 - 1;

				if (xx >= 0 && xx < gw && yy >= 0 && yy < gh &&
				    valid[yy * gw + xx])
					v[n++] = g[yy * gw + xx];
			}
			tmp[y * gw + x] = n ? median(v, n) : 0.0f;
		}
	memcpy(g, tmp, sizeof(float) * gw * gh);
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

/* Cells whose block touches weighted content (all cells without weights). */
static int cell_valid(const float *weight, int w, int h, int cell, int gx, int gy)
{
	int x0 = (gx - 1) * cell, y0 = (gy - 1) * cell;

	if (!weight)
		return 1;
	for (int y = y0 < 0 ? 0 : y0; y < y0 + 3 * cell && y < h; y++)
		for (int x = x0 < 0 ? 0 : x0; x < x0 + 3 * cell && x < w; x++)
			if (weight[(size_t)y * w + x] > 0.0f)
				return 1;
	return 0;
}

static void pyramids_free(struct pyramids *p)
{
	pyramid_free(&p->a);
	pyramid_free(&p->b);
	pyramid_free(&p->w);
}

static int pyramids_build(const float *a, const float *b, const float *weight,
			  int w, int h, int range, struct pyramids *p)
{
	int levels = levels_for(w, h, range), ret;

	memset(p, 0, sizeof(*p));
	p->finest = levels > 2 ? 1 : 0;
	ret = pyramid_build(a, w, h, levels, &p->a);
	if (ret >= 0)
		ret = pyramid_build(b, w, h, levels, &p->b);
	if (ret >= 0 && weight)
		ret = pyramid_build(weight, w, h, levels, &p->w);
	if (ret < 0)
		pyramids_free(p);
	return ret;
}

static void estimate_cells(const struct pyramids *p, const float *weight,
			   attn_motion *m, int range, unsigned char *valid)
{
	for (int gy = 0; gy < m->gh; gy++)
		for (int gx = 0; gx < m->gw; gx++) {
			int i = gy * m->gw + gx;

			valid[i] = (unsigned char)cell_valid(weight, m->width, m->height,
							     m->cell, gx, gy);
			if (valid[i])
				cell_motion(p, (gx + 0.5f) * m->cell,
					    (gy + 0.5f) * m->cell, m->cell, range,
					    &m->dx[i], &m->dy[i]);
		}
}

int attn_motion_estimate(const float *a, const float *b, const float *weight,
			 int width, int height, int cell, int range,
			 attn_motion **out)
{
	struct pyramids p;
	unsigned char *valid;
	attn_motion *m;
	float *tmp;
	int ret = attn_motion_zero(width, height, cell, &m);

	if (ret < 0)
		return ret;
	tmp = malloc(sizeof(float) * m->gw * m->gh);
	valid = malloc((size_t)m->gw * m->gh);
	ret = tmp && valid ? pyramids_build(a, b, weight, width, height, range, &p) :
			     -ENOMEM;
	if (ret < 0)
		goto out_free;
	estimate_cells(&p, weight, m, range, valid);
	median_filter(m->dx, valid, m->gw, m->gh, tmp);
	median_filter(m->dy, valid, m->gw, m->gh, tmp);
	pyramids_free(&p);
	*out = m;
	m = NULL;
out_free:
	free(valid);
	free(tmp);
	attn_motion_free(m);
	return ret;
}

void attn_motion_at(const attn_motion *m, float x, float y, float *dx, float *dy)
{
	float gx = x / m->cell - 0.5f, gy = y / m->cell - 0.5f;

	*dx = attn_sample(m->dx, m->gw, m->gh, gx, gy);
	*dy = attn_sample(m->dy, m->gw, m->gh, gx, gy);
}
