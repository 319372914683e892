/* pipe_heatmap: planes drawn as frames, encoded on a thread of their own. */
#include "pipeline/pipe_heatmap.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#include "pipeline/pipe_encoder.h"
#include "pipeline/pipe_writer.h"

/* Frames waiting for the heatmap's encoder. */
#define PIPE_HEAT_QUEUE 4

/* The heatmaps are for looking at: a quick preset, the default quality. */
#define PIPE_HEAT_CRF 18
#define PIPE_HEAT_PRESET "veryfast"

/* The outline of the mask. */
#define PIPE_HEAT_EDGE 255

struct pipe_heatmap {
	enum pipe_heat_kind kind;
	float scale;
	int width, height;
	pipe_writer *writer;    /* owned, like enc */
	pipe_encoder *enc;
};

/* inferno at 0, 0.1, ..., 1 (matplotlib's colour map, as d3 samples it). */
static const uint8_t pipe_inferno[11][3] = {
	{ 0, 0, 4 }, { 22, 11, 57 }, { 66, 10, 104 }, { 106, 23, 110 },
	{ 147, 38, 103 }, { 188, 55, 84 }, { 221, 81, 58 }, { 243, 120, 25 },
	{ 252, 165, 10 }, { 246, 215, 70 }, { 252, 255, 164 },
};

void pipe_heatmap_colour(float v, uint8_t rgb[3])
{
	float x = (v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f) * 10.0f;
	int i = x >= 10.0f ? 9 : (int)x;
	float f = x - (float)i;

	for (int c = 0; c < 3; c++)
		rgb[c] = (uint8_t)lrintf((1.0f - f) * pipe_inferno[i][c] +
					 f * pipe_inferno[i + 1][c]);
}

int pipe_heatmap_open(const char *path, const struct pipe_video_info *info,
		      enum pipe_heat_kind kind, float scale, pipe_heatmap **out,
		      char *err, size_t errlen)
{
	struct pipe_writer_opts wo = { .pix_fmt = AV_PIX_FMT_YUV420P,
				       .crf = PIPE_HEAT_CRF, .preset = PIPE_HEAT_PRESET };
	struct pipe_video_info silent = *info;
	pipe_heatmap *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return -ENOMEM;
	h->kind = kind;
	h->scale = scale > 0.0f ? scale : 1.0f;
	h->width = info->width;
	h->height = info->height;
	silent.audio = NULL;
	silent.n_audio = 0;
	ret = pipe_writer_open(path, &silent, &wo, &h->writer, err, errlen);
	if (ret >= 0)
		ret = pipe_encoder_start(h->writer, PIPE_HEAT_QUEUE, &h->enc);
	if (ret < 0) {
		pipe_heatmap_free(h);
		return ret;
	}
	*out = h;
	return 0;
}

/* Whether pixel i (at x, y) is covered while a 4-neighbour is not. */
static int pipe_heat_edge(const float *cover, int w, int h, int x, int y)
{
	size_t i = (size_t)y * w + x;

	if (!(cover[i] >= 0.5f))
		return 0;
	return (x > 0 && cover[i - 1] < 0.5f) || (x + 1 < w && cover[i + 1] < 0.5f) ||
	       (y > 0 && cover[i - w] < 0.5f) || (y + 1 < h && cover[i + w] < 0.5f);
}

/* One RGB pixel of the entropy map. */
static void pipe_heat_entropy(const pipe_heatmap *h, const float *plane,
			      const float *cover, int x, int y, uint8_t *rgb)
{
	float e = plane[(size_t)y * h->width + x];

	if (cover && pipe_heat_edge(cover, h->width, h->height, x, y))
		memset(rgb, PIPE_HEAT_EDGE, 3);
	else if (isnan(e))
		memset(rgb, PIPE_HEAT_OUTSIDE, 3);
	else
		pipe_heatmap_colour(e / h->scale, rgb);
}

static void pipe_heat_draw(const pipe_heatmap *h, const float *plane,
			   const float *cover, AVFrame *f)
{
	for (int y = 0; y < h->height; y++) {
		uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];

		for (int x = 0; x < h->width; x++) {
			uint8_t *px = row + 3 * x;
			float m;

			if (h->kind == PIPE_HEAT_ENTROPY) {
				pipe_heat_entropy(h, plane, cover, x, y, px);
				continue;
			}
			m = plane ? plane[(size_t)y * h->width + x] : 1.0f;
			memset(px, (int)lrintf((m > 0.0f ? (m < 1.0f ? m : 1.0f) : 0.0f) * 255.0f), 3);
		}
	}
}

int pipe_heatmap_frame(pipe_heatmap *h, const float *plane, const float *cover,
		       int64_t pts, char *err, size_t errlen)
{
	AVFrame *f = av_frame_alloc();

	if (!f)
		return -ENOMEM;
	f->format = AV_PIX_FMT_RGB24;
	f->width = h->width;
	f->height = h->height;
	f->color_range = AVCOL_RANGE_JPEG;
	if (av_frame_get_buffer(f, 0) < 0) {
		av_frame_free(&f);
		return -ENOMEM;
	}
	pipe_heat_draw(h, plane, cover, f);
	f->pts = pts;
	/* takes ownership of f */
	return pipe_encoder_video(h->enc, f, err, errlen);
}

int pipe_heatmap_finish(pipe_heatmap *h, char *err, size_t errlen)
{
	int ret = pipe_encoder_finish(h->enc, err, errlen);

	if (ret >= 0)
		ret = pipe_writer_finish(h->writer, err, errlen);
	return ret;
}

void pipe_heatmap_free(pipe_heatmap *h)
{
	if (!h)
		return;
	pipe_encoder_free(h->enc);
	pipe_writer_free(h->writer);
	free(h);
}
