#include "attention/attn_track.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn_motion.h"

#define GRID 8                  /* pixels between tracked positions */
#define MOTION_CELL 48          /* the field follows large structures */
#define MOTION_RANGE 48         /* the largest motion from frame to frame */
#define INLIER_PX 1.5           /* how far a cell may be from the motion it moves with */

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

/* What a cell's content shows of motion: its luma gradients' tensor. */
struct tensor {
	double xx, xy, yy;
};

/*
 * Per motion cell, the tensor of its covered pixels (weighted by their
 * coverage): a flat cell shows no motion, a straight edge only motion
 * across itself, a corner or texture all of it.
 */
static int cell_tensors(const attn_motion *m, const struct attn_yuv8 *from,
			struct tensor **out)
{
	const uint8_t *l = from->plane[0];
	int w = m->width, h = m->height;
	struct tensor *t = calloc((size_t)m->gw * m->gh, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (int y = 0; y < h; y++) {
		const uint8_t *r = l + (size_t)y * w, *cover = from->cover + (size_t)y * w;
		const uint8_t *up = y > 0 ? r - w : r, *down = y < h - 1 ? r + w : r;

		for (int x = 0; x < w; x++) {
			if (!cover[x])
				continue;
			double c = cover[x] / 255.0;
			double gx = r[x < w - 1 ? x + 1 : x] - r[x > 0 ? x - 1 : x];
			double gy = down[x] - up[x];
			struct tensor *ti = &t[(y / m->cell) * m->gw + x / m->cell];

			ti->xx += c * gx * gx;
			ti->xy += c * gx * gy;
			ti->yy += c * gy * gy;
		}
	}
	*out = t;
	return 0;
}

/*
 * A motion that moves, turns and scales about (cx, cy): at x' = x - cx,
 * y' = y - cy, dx = p[0] + p[2] x' - p[3] y' and dy = p[1] + p[3] x' + p[2] y'.
 */
struct similar {
	double cx, cy, p[4];
};

/* The centre of motion cell i, in pixels. */
static void cell_centre(const attn_motion *m, int i, double *x, double *y)
{
	*x = ((i % m->gw) + 0.5) * m->cell;
	*y = ((i / m->gw) + 0.5) * m->cell;
}

static void similar_at(const struct similar *a, const attn_motion *m, int i,
		       double *dx, double *dy)
{
	double x, y;

	cell_centre(m, i, &x, &y);
	x -= a->cx;
	y -= a->cy;
	*dx = a->p[0] + a->p[2] * x - a->p[3] * y;
	*dy = a->p[1] + a->p[3] * x + a->p[2] * y;
}

/* Solves the 4x4 system n x = n[.][4] in place into x; -EDOM when singular. */
static int solve4(double n[4][5], double x[4])
{
	for (int k = 0; k < 4; k++) {
		int piv = k;

		for (int r = k + 1; r < 4; r++)
			if (fabs(n[r][k]) > fabs(n[piv][k]))
				piv = r;
		if (!(fabs(n[piv][k]) > 0.0))
			return -EDOM;
		for (int c = 0; c < 5; c++) {
			double s = n[k][c];

			n[k][c] = n[piv][c];
			n[piv][c] = s;
		}
		for (int r = 0; r < 4; r++) {
			double f = n[r][k] / n[k][k];

			for (int c = k; c < 5 && r != k; c++)
				n[r][c] -= f * n[k][c];
		}
	}
	for (int k = 0; k < 4; k++)
		x[k] = n[k][4] / n[k][k];
	return 0;
}

/*
 * The motion closest to the kept cells' motions, each difference measured
 * through the cell's tensor: a cell only counts in what its content can
 * show, so the motion it reports along an edge or over flat content (its
 * search's tie, or noise) does not pull the mask. A slight pull of every
 * parameter towards no motion keeps what no cell shows where it is.
 * 0, or -EDOM when the cells show nothing.
 */
static int fit_tensors(const attn_motion *m, const struct tensor *t,
		       const unsigned char *keep, struct similar *a)
{
	double n[4][5] = { { 0 } }, sum = 0.0, sx = 0.0, sy = 0.0;
	int cells = m->gw * m->gh;

	for (int i = 0; i < cells; i++) {
		double tr = keep[i] ? t[i].xx + t[i].yy : 0.0, x, y;

		cell_centre(m, i, &x, &y);
		sum += tr;
		sx += tr * x;
		sy += tr * y;
	}
	if (!(sum > 0.0))
		return -EDOM;
	a->cx = sx / sum;
	a->cy = sy / sum;
	for (int i = 0; i < cells; i++) {
		double x, y;

		if (!keep[i])
			continue;
		cell_centre(m, i, &x, &y);
		x -= a->cx;
		y -= a->cy;
		/* d(dx), d(dy) by each parameter */
		double jx[4] = { 1.0, 0.0, x, -y }, jy[4] = { 0.0, 1.0, y, x };

		for (int r = 0; r < 4; r++) {
			double tx = t[i].xx * jx[r] + t[i].xy * jy[r];
			double ty = t[i].xy * jx[r] + t[i].yy * jy[r];

			for (int c = 0; c < 4; c++)
				n[r][c] += tx * jx[c] + ty * jy[c];
			n[r][4] += tx * m->dx[i] + ty * m->dy[i];
		}
	}
	for (int k = 0; k < 4; k++)
		n[k][k] += k < 2 ? 1e-6 * sum : 0.01 * sum * m->cell * m->cell;
	return solve4(n, a->p);
}

/* The square of how far cell i's motion is from (ex, ey), along what it shows. */
static double cell_error2(const attn_motion *m, const struct tensor *t, int i,
			  double ex, double ey)
{
	double tr = t[i].xx + t[i].yy;

	ex -= m->dx[i];
	ey -= m->dy[i];
	return tr > 0.0 ? (t[i].xx * ex * ex + 2.0 * t[i].xy * ex * ey +
			   t[i].yy * ey * ey) / tr : 0.0;
}

static double similar_error(const attn_motion *m, const struct tensor *t, int i,
			    const struct similar *a)
{
	double ex, ey;

	similar_at(a, m, i, &ex, &ey);
	return sqrt(cell_error2(m, t, i, ex, ey));
}

/*
 * Keeps the cells that agree with the motion most of the covered content
 * shows: among no motion and every cell's own, the one the most content
 * lies within INLIER_PX of (the smaller on a tie). A fit of every cell
 * at once would average an object with what crosses it, and stretch the
 * mask between the two. seen lists the n cells that show any motion.
 */
static void keep_dominant(const attn_motion *m, const struct tensor *t,
			  const int *seen, int n, unsigned char *keep)
{
	double best = -1.0, hx = 0.0, hy = 0.0, near2 = INLIER_PX * INLIER_PX;

	for (int c = -1; c < n; c++) {
		double cx = c < 0 ? 0.0 : m->dx[seen[c]], cy = c < 0 ? 0.0 : m->dy[seen[c]];
		double support = 0.0;

		for (int k = 0; k < n; k++)
			if (cell_error2(m, t, seen[k], cx, cy) <= near2)
				support += t[seen[k]].xx + t[seen[k]].yy;
		if (support > best || (support == best && hypot(cx, cy) < hypot(hx, hy))) {
			best = support;
			hx = cx;
			hy = cy;
		}
	}
	memset(keep, 0, (size_t)m->gw * m->gh);
	for (int k = 0; k < n; k++)
		keep[seen[k]] = cell_error2(m, t, seen[k], hx, hy) <= near2;
}

/*
 * Keeps the cells, of all of them, within twice the kept cells' mean
 * distance from the fit a (1 px at least), each weighted by what it shows.
 */
static void keep_near(const attn_motion *m, const struct tensor *t,
		      const struct similar *a, unsigned char *keep)
{
	int cells = m->gw * m->gh;
	double err = 0.0, sw = 0.0;

	for (int i = 0; i < cells; i++)
		if (keep[i]) {
			err += (t[i].xx + t[i].yy) * similar_error(m, t, i, a);
			sw += t[i].xx + t[i].yy;
		}
	for (int i = 0; i < cells; i++)
		keep[i] = similar_error(m, t, i, a) <= fmax(1.0, 2.0 * err / sw);
}

/*
 * What a mask covers is mostly one object: the field becomes the motion
 * (a move, a turn and a scale) that best fits the cells moving with most
 * of the covered content, refitted once without the cells far off the
 * first fit, so the mask moves as a whole instead of being bent by the
 * odd wrong match, sheared by a turning edge or stretched by what crosses
 * it. When the covered content shows no motion at all the field stays as
 * it is.
 */
static int fit_similar(attn_motion *m, const struct attn_yuv8 *from)
{
	int cells = m->gw * m->gh, n = 0, ret;
	struct tensor *t = NULL;
	unsigned char *keep = malloc((size_t)cells);
	int *seen = malloc(sizeof(int) * (size_t)cells);
	struct similar a;

	ret = keep && seen ? cell_tensors(m, from, &t) : -ENOMEM;
	if (ret < 0)
		goto out_free;
	for (int i = 0; i < cells; i++)
		if (t[i].xx + t[i].yy > 0.0)
			seen[n++] = i;
	keep_dominant(m, t, seen, n, keep);
	ret = fit_tensors(m, t, keep, &a);
	if (ret >= 0) {
		keep_near(m, t, &a, keep);
		ret = fit_tensors(m, t, keep, &a);
	}
	for (int i = 0; ret >= 0 && i < cells; i++) {
		double dx, dy;

		similar_at(&a, m, i, &dx, &dy);
		m->dx[i] = (float)dx;
		m->dy[i] = (float)dy;
	}
	if (ret == -EDOM)
		ret = 0;
out_free:
	free(t);
	free(seen);
	free(keep);
	return ret;
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
		ret = fit_similar(m, from);
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
