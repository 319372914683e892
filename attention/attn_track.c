#include "attention/attn_track.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_motion.h"

#define GRID 8                  /* pixels between tracked positions */
#define MOTION_CELL 48          /* the field follows large structures */
#define MOTION_RANGE 48         /* the largest motion from frame to frame */

struct attn_track {
	int width, height;
	uint8_t *anchor;        /* the anchor's coverage */
	uint8_t *occupied;      /* per GRID x GRID tile of the anchor: any coverage */
	int tw, th;             /* tiles */
	int gw, gh;             /* grid points, GRID apart, the last at or past the edge */
	float *ox, *oy;         /* per grid point: how far it moved since the anchor */
	float *nx, *ny;         /* the same for the next frame, while a step runs */
};

void attn_track_free(attn_track *tr)
{
	if (!tr)
		return;
	free(tr->anchor);
	free(tr->occupied);
	free(tr->ox);
	free(tr->oy);
	free(tr->nx);
	free(tr->ny);
	free(tr);
}

static void mark_occupied(attn_track *tr)
{
	for (int y = 0; y < tr->height; y++)
		for (int x = 0; x < tr->width; x++)
			if (tr->anchor[(size_t)y * tr->width + x])
				tr->occupied[(y / GRID) * tr->tw + x / GRID] = 1;
}

int attn_track_create(const struct attn_yuv8 *anchor, attn_track **out)
{
	size_t n = (size_t)anchor->width * anchor->height, points;
	attn_track *tr;

	if (!anchor->cover || anchor->width < 1 || anchor->height < 1)
		return -EINVAL;
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return -ENOMEM;
	tr->width = anchor->width;
	tr->height = anchor->height;
	tr->tw = (tr->width + GRID - 1) / GRID;
	tr->th = (tr->height + GRID - 1) / GRID;
	tr->gw = (tr->width - 1) / GRID + 2;
	tr->gh = (tr->height - 1) / GRID + 2;
	points = (size_t)tr->gw * tr->gh;
	tr->anchor = malloc(n);
	tr->occupied = calloc((size_t)tr->tw * tr->th, 1);
	tr->ox = calloc(points, sizeof(float));
	tr->oy = calloc(points, sizeof(float));
	tr->nx = malloc(sizeof(float) * points);
	tr->ny = malloc(sizeof(float) * points);
	if (!tr->anchor || !tr->occupied || !tr->ox || !tr->oy || !tr->nx || !tr->ny) {
		attn_track_free(tr);
		return -ENOMEM;
	}
	memcpy(tr->anchor, anchor->cover, n);
	mark_occupied(tr);
	*out = tr;
	return 0;
}

static int outside(const attn_track *tr, float x, float y)
{
	return x < -0.5f || y < -0.5f || x > tr->width - 0.5f ||
	       y > tr->height - 0.5f;
}

/* Bilinear between the grid values around pixel (x, y), clamped to the grid. */
static float grid_at(const attn_track *tr, const float *g, float x, float y)
{
	float fx = x / GRID, fy = y / GRID;
	int i = (int)floorf(fx), j = (int)floorf(fy);

	i = i < 0 ? 0 : i > tr->gw - 2 ? tr->gw - 2 : i;
	j = j < 0 ? 0 : j > tr->gh - 2 ? tr->gh - 2 : j;
	fx -= (float)i;
	fy -= (float)j;
	const float *r0 = g + (size_t)j * tr->gw + i, *r1 = r0 + tr->gw;
	float top = r0[0] + fx * (r0[1] - r0[0]);
	float bot = r1[0] + fx * (r1[1] - r1[0]);

	return top + fy * (bot - top);
}

static void swap(float **a, float **b)
{
	float *t = *a;

	*a = *b;
	*b = t;
}

/*
 * Each grid point of the next frame came from where the motion says in
 * the previous one (the field is smooth, so its value at a point is about
 * what moved to it), and had moved as much as the previous grid says
 * there, plus this motion. Content that came into view from outside
 * gets the motion of the edge it came through, which places it outside
 * the anchor frame, where nothing is covered.
 */
static void move_grid(attn_track *tr, const attn_motion *m)
{
	for (int gy = 0; gy < tr->gh; gy++)
		for (int gx = 0; gx < tr->gw; gx++) {
			int i = gy * tr->gw + gx;
			/* points past the frame's edge move with the edge */
			float x = (float)(gx * GRID < tr->width ? gx * GRID : tr->width - 1);
			float y = (float)(gy * GRID < tr->height ? gy * GRID : tr->height - 1);
			float dx, dy;

			attn_motion_at(m, x, y, &dx, &dy);
			tr->nx[i] = grid_at(tr, tr->ox, x - dx, y - dy) + dx;
			tr->ny[i] = grid_at(tr, tr->oy, x - dx, y - dy) + dy;
		}
	swap(&tr->ox, &tr->nx);
	swap(&tr->oy, &tr->ny);
}

/* How much of each motion cell the coverage covers, 0..1. */
static int cell_weights(const attn_motion *m, const uint8_t *cover, float **out)
{
	float *wt = calloc((size_t)m->gw * m->gh, sizeof(float));

	if (!wt)
		return -ENOMEM;
	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++)
			wt[(y / m->cell) * m->gw + x / m->cell] +=
				cover[(size_t)y * m->width + x];
	for (int i = 0; i < m->gw * m->gh; i++)
		wt[i] /= 255.0f * (float)(m->cell * m->cell);
	*out = wt;
	return 0;
}

/*
 * The weighted least-squares plane v = c0 + c1 x + c2 y through the cells'
 * values (x, y their centres). A slight pull of the slopes towards 0
 * keeps cells in one row or column solvable (no slope across them).
 * 0, or -EDOM when no cell has weight.
 */
static int fit_plane(const attn_motion *m, const float *v, const float *wt,
		     double c[3])
{
	double a[3][4] = { { 0 } };

	for (int i = 0; i < m->gw * m->gh; i++) {
		double f[3] = { 1.0, ((i % m->gw) + 0.5) * m->cell,
				((i / m->gw) + 0.5) * m->cell };

		for (int r = 0; r < 3; r++) {
			for (int k = 0; k < 3; k++)
				a[r][k] += wt[i] * f[r] * f[k];
			a[r][3] += wt[i] * f[r] * v[i];
		}
	}
	if (a[0][0] <= 0.0)
		return -EDOM;
	a[1][1] += 0.01 * a[0][0] * m->cell * m->cell;
	a[2][2] += 0.01 * a[0][0] * m->cell * m->cell;
	for (int k = 0; k < 3; k++)     /* Gauss-Jordan: positive definite, no pivoting */
		for (int r = 0; r < 3; r++) {
			double f = a[r][k] / a[k][k];

			for (int col = k; col < 4 && r != k; col++)
				a[r][col] -= f * a[k][col];
		}
	for (int k = 0; k < 3; k++)
		c[k] = a[k][3] / a[k][k];
	return 0;
}

static float plane_at(const double c[3], const attn_motion *m, int i)
{
	return (float)(c[0] + c[1] * ((i % m->gw) + 0.5) * m->cell +
		       c[2] * ((i / m->gw) + 0.5) * m->cell);
}

/*
 * What a mask covers is mostly one object: the field becomes the affine
 * motion that best fits the covered cells (cells far off a first fit are
 * left out of the second), so the mask moves, turns and scales as a whole
 * instead of being bent by the odd wrong match. Without cells enough for
 * a fit the field stays as it is.
 */
static int fit_affine(attn_motion *m, const uint8_t *cover)
{
	double cx[3], cy[3];
	float *wt = NULL;
	int cells = m->gw * m->gh, ret = cell_weights(m, cover, &wt);

	for (int pass = 0; ret >= 0 && pass < 2; pass++) {
		double err = 0.0, sw = 0.0;

		ret = fit_plane(m, m->dx, wt, cx);
		if (ret >= 0)
			ret = fit_plane(m, m->dy, wt, cy);
		for (int i = 0; ret >= 0 && i < cells; i++) {
			err += wt[i] * hypotf(m->dx[i] - plane_at(cx, m, i),
					      m->dy[i] - plane_at(cy, m, i));
			sw += wt[i];
		}
		for (int i = 0; ret >= 0 && pass == 0 && i < cells; i++)
			if (hypotf(m->dx[i] - plane_at(cx, m, i),
				   m->dy[i] - plane_at(cy, m, i)) >
			    fmax(1.0, 2.0 * err / sw))
				wt[i] = 0.0f;
	}
	for (int i = 0; ret >= 0 && i < cells; i++) {
		m->dx[i] = plane_at(cx, m, i);
		m->dy[i] = plane_at(cy, m, i);
	}
	free(wt);
	return ret == -EDOM ? 0 : ret;
}

/* The anchor's coverage at (x, y), bilinear; none outside the frame. */
static float anchor_at(const attn_track *tr, float x, float y)
{
	int w = tr->width, h = tr->height;
	float fx, fy, ax, ay;
	int x0, y0, x1, y1;

	if (outside(tr, x, y))
		return 0.0f;
	fx = floorf(x);
	fy = floorf(y);
	ax = x - fx;
	ay = y - fy;
	x0 = fx < 0 ? 0 : (int)fx;
	y0 = fy < 0 ? 0 : (int)fy;
	x1 = x0 + 1 < w ? x0 + 1 : w - 1;
	y1 = y0 + 1 < h ? y0 + 1 : h - 1;
	const uint8_t *r0 = tr->anchor + (size_t)y0 * w, *r1 = tr->anchor + (size_t)y1 * w;
	float top = r0[x0] + ax * (float)(r0[x1] - r0[x0]);
	float bot = r1[x0] + ax * (float)(r1[x1] - r1[x0]);

	return top + ay * (bot - top);
}

/*
 * 1 when the tile whose corner grid points are (i, j)..(i+1, j+1) may see
 * coverage: the box its corners came from in the anchor touches a
 * covered anchor tile.
 */
static int tile_may_cover(const attn_track *tr, int i, int j)
{
	float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;

	for (int c = 0; c < 4; c++) {
		int gx = i + c % 2, gy = j + c / 2;
		size_t g = (size_t)gy * tr->gw + gx;

		x0 = fminf(x0, (float)(gx * GRID) - tr->ox[g]);
		y0 = fminf(y0, (float)(gy * GRID) - tr->oy[g]);
		x1 = fmaxf(x1, (float)(gx * GRID) - tr->ox[g]);
		y1 = fmaxf(y1, (float)(gy * GRID) - tr->oy[g]);
	}
	if (x1 < -1.0f || y1 < -1.0f || x0 > tr->width || y0 > tr->height)
		return 0;
	int tx0 = x0 < 1.0f ? 0 : ((int)floorf(x0) - 1) / GRID;
	int ty0 = y0 < 1.0f ? 0 : ((int)floorf(y0) - 1) / GRID;
	int tx1 = ((int)ceilf(x1) + 1) / GRID, ty1 = ((int)ceilf(y1) + 1) / GRID;

	tx1 = tx1 >= tr->tw ? tr->tw - 1 : tx1;
	ty1 = ty1 >= tr->th ? tr->th - 1 : ty1;
	for (int ty = ty0; ty <= ty1; ty++)
		for (int tx = tx0; tx <= tx1; tx++)
			if (tr->occupied[ty * tr->tw + tx])
				return 1;
	return 0;
}

/* The coverage of the frame the grid now describes. */
static void write_cover(const attn_track *tr, uint8_t *out)
{
	int w = tr->width;

	memset(out, 0, (size_t)w * tr->height);
	for (int j = 0; j < tr->th; j++)
		for (int i = 0; i < tr->tw; i++) {
			if (!tile_may_cover(tr, i, j))
				continue;
			for (int y = j * GRID; y < (j + 1) * GRID && y < tr->height; y++)
				for (int x = i * GRID; x < (i + 1) * GRID && x < w; x++) {
					float ax = x - grid_at(tr, tr->ox, (float)x, (float)y);
					float ay = y - grid_at(tr, tr->oy, (float)x, (float)y);

					out[(size_t)y * w + x] =
						(uint8_t)lrintf(anchor_at(tr, ax, ay));
				}
		}
}

int attn_track_next(attn_track *tr, const struct attn_yuv8 *from,
		    const struct attn_yuv8 *to, uint8_t *out)
{
	int w = tr->width, h = tr->height, ret;
	attn_motion_frame *a = NULL, *b = NULL;
	attn_motion *m = NULL;
	float *weight = NULL;

	if (!from->cover || from->width != w || from->height != h ||
	    to->width != w || to->height != h)
		return -EINVAL;
	ret = attn_cover_floats(from, &weight);
	if (ret >= 0)
		ret = attn_motion_frame_create8(from->plane[0], weight, w, h, &a);
	free(weight);
	weight = NULL;
	if (ret >= 0)
		ret = attn_motion_frame_create8(to->plane[0], NULL, w, h, &b);
	if (ret >= 0)
		ret = attn_motion_estimate(a, b, MOTION_CELL, MOTION_RANGE, &m);
	if (ret >= 0)
		ret = fit_affine(m, from->cover);
	if (ret >= 0) {
		move_grid(tr, m);
		write_cover(tr, out);
	}
	attn_motion_free(m);
	attn_motion_frame_free(b);
	attn_motion_frame_free(a);
	free(weight);
	return ret;
}
