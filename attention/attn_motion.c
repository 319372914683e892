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

/*
 * Zero-mean sum of squared differences between the side x side block of a
 * at (ax, ay) and the block of b at (ax + dx, ay + dy) (top-left corners).
 */
static float block_cost(const struct level *a, const struct level *b, int ax,
			int ay, int side, int dx, int dy)
{
	float d[MAX_BLOCK * MAX_BLOCK], mean = 0.0f, cost = 0.0f;
	int n = 0;

	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++, n++) {
			d[n] = px(a, ax + x, ay + y) - px(b, ax + x + dx, ay + y + dy);
			mean += d[n];
		}
	mean /= (float)n;
	for (int i = 0; i < n; i++)
		cost += (d[i] - mean) * (d[i] - mean);
	return cost;
}

/* Best integer shift within +-r of (dx, dy); writes the 3x3 costs around it. */
static void search(const struct level *a, const struct level *b, int ax, int ay,
		   int side, int r, int *dx, int *dy, float around[9])
{
	int bx = *dx, by = *dy;
	float best = INFINITY;

	for (int y = *dy - r; y <= *dy + r; y++)
		for (int x = *dx - r; x <= *dx + r; x++) {
			float c = block_cost(a, b, ax, ay, side, x, y);

			/* ties go to the smaller displacement: no motion wins */
			if (c < best || (c == best && abs(x) + abs(y) < abs(bx) + abs(by))) {
				best = c;
				bx = x;
				by = y;
			}
		}
	for (int i = 0; i < 9; i++)
		around[i] = block_cost(a, b, ax, ay, side, bx + i % 3 - 1,
				       by + i / 3 - 1);
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

/*
 * The motion of one cell: exhaustive search at the top level, +-1 at each
 * finer one down to level finest, sub-pixel there. The block covers the
 * cell (within MIN_BLOCK..MAX_BLOCK), so the field follows the camera and
 * large structures, not small warps.
 */
static void cell_motion(const struct pyramid *pa, const struct pyramid *pb,
			float cx, float cy, int cell, int range, int finest,
			float *mx, float *my)
{
	int top = pa->n - 1, dx = 0, dy = 0;
	float around[9] = { 0 };

	for (int l = top; l >= finest; l--) {
		int s = 1 << l;
		int side = cell / s < MIN_BLOCK ? MIN_BLOCK :
			   cell / s > MAX_BLOCK ? MAX_BLOCK : cell / s;
		int ax = (int)floorf(cx / s) - side / 2, ay = (int)floorf(cy / s) - side / 2;
		int r = l == top ? (range + s - 1) / s : 1;

		if (l != top) {
			dx *= 2;
			dy *= 2;
		}
		search(&pa->l[l], &pb->l[l], ax, ay, side, r, &dx, &dy, around);
	}
	*mx = ((float)dx + vertex(around[3], around[4], around[5])) * (1 << finest);
	*my = ((float)dy + vertex(around[1], around[4], around[7])) * (1 << finest);
}

static float median9(float *v)
{
	for (int i = 1; i < 9; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			float t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[4];
}

/* 3x3 median of a grid plane, edges clamped. */
static void median_filter(float *g, int gw, int gh, float *tmp)
{
	for (int y = 0; y < gh; y++)
		for (int x = 0; x < gw; x++) {
			float v[9];

			for (int i = 0; i < 9; i++) {
				int xx = x + i % 3 - 1, yy = y + i / 3 - 1;

				xx = xx < 0 ? 0 : xx >= gw ? gw - 1 : xx;
				yy = yy < 0 ? 0 : yy >= gh ? gh - 1 : yy;
				v[i] = g[yy * gw + xx];
			}
			tmp[y * gw + x] = median9(v);
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

int attn_motion_estimate(const float *a, const float *b, int width, int height,
			 int cell, int range, attn_motion **out)
{
	struct pyramid pa, pb;
	attn_motion *m;
	float *tmp;
	int levels = levels_for(width, height, range), ret;

	ret = attn_motion_zero(width, height, cell, &m);
	if (ret < 0)
		return ret;
	tmp = malloc(sizeof(float) * m->gw * m->gh);
	if (!tmp) {
		ret = -ENOMEM;
		goto out_free_motion;
	}
	ret = pyramid_build(a, width, height, levels, &pa);
	if (ret < 0)
		goto out_free_tmp;
	ret = pyramid_build(b, width, height, levels, &pb);
	if (ret < 0)
		goto out_free_pa;
	for (int gy = 0; gy < m->gh; gy++)
		for (int gx = 0; gx < m->gw; gx++)
			cell_motion(&pa, &pb, (gx + 0.5f) * cell, (gy + 0.5f) * cell,
				    cell, range, levels > 2 ? 1 : 0,
				    &m->dx[gy * m->gw + gx], &m->dy[gy * m->gw + gx]);
	median_filter(m->dx, m->gw, m->gh, tmp);
	median_filter(m->dy, m->gw, m->gh, tmp);
	pyramid_free(&pb);
	pyramid_free(&pa);
	free(tmp);
	*out = m;
	return 0;

out_free_pa:
	pyramid_free(&pa);
out_free_tmp:
	free(tmp);
out_free_motion:
	attn_motion_free(m);
	return ret;
}

void attn_motion_at(const attn_motion *m, float x, float y, float *dx, float *dy)
{
	float gx = x / m->cell - 0.5f, gy = y / m->cell - 0.5f;

	*dx = attn_sample(m->dx, m->gw, m->gh, gx, gy);
	*dy = attn_sample(m->dy, m->gw, m->gh, gx, gy);
}
