/*
 * pipe_job: one job end to end.
 *
 * Three threads overlap: a reader decodes the clip once in order into a
 * ring of 2K+1+AHEAD frames (stabilize's temporal window and the frames
 * read ahead; K is 0 for propagate), each with its planes and coverage, and
 * hands the audio packets to the encoder; an attention thread runs the
 * engine and the blend on frame t; an encoder thread (pipe_encoder) encodes
 * frame t-1 meanwhile. Memory is bounded by the ring and the keyframes
 * held, not by the clip's length.
 *
 * The attention thread, and the engine's helpers, which inherit its
 * priority, run ATTEND_NICE nicer than the caller, the reader and the
 * encoder: where the busy threads outnumber the cores, the stages that feed
 * and drain attention get the CPU they need first, so attention never
 * waits for them and takes the rest. (On Linux a thread's nice value is
 * its own; a thread may always lower its priority.)
 */
#include "pipeline/pipe_job.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attention/attn_engine.h"
#include "attention/attn_track.h"
#include "pipeline/pipe_encoder.h"
#include "pipeline/pipe_heatmap.h"
#include "pipeline/pipe_frame.h"
#include "pipeline/pipe_keys.h"
#include "pipeline/pipe_masks.h"
#include "pipeline/pipe_reader.h"
#include "pipeline/pipe_util.h"
#include "pipeline/pipe_writer.h"

#define AHEAD 2                 /* frames the reader may read past the window */
#define RING_MAX (31 + AHEAD)
#define ENCODE_QUEUE 2
#define ATTEND_NICE 5
#define ERR_LEN 512

struct slot {
	int64_t index;          /* -1: empty */
	AVFrame *av;            /* the decoded frame */
	uint8_t *samples;       /* its 4:4:4 planes, owned */
	uint8_t *cover;         /* its coverage 0..255, owned; NULL: everything */
	struct attn_yuv8 yuv;   /* the view of both the engine reads */
};

struct job {
	const api_spec *spec;
	const struct pipe_job_files *files;
	const struct pipe_job_opts *opts;
	char *err;
	size_t errlen;
	pipe_reader *reader;
	const struct pipe_video_info *info;
	pipe_writer *writer;
	pipe_encoder *enc;
	/* the reader thread; lock guards read, made, stop, read_ret */
	pthread_t read_thread;
	bool reading;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int64_t made;           /* frames made by the attention thread */
	bool stop;              /* the reader is to stop */
	int read_ret;           /* its error, or 1 when it is done */
	int attend_ret;         /* the attention thread's error, 0 */
	char read_err[ERR_LEN];
	float *read_cov;        /* its coverage scratch */
	double read_seconds, attend_seconds, blend_seconds, encode_seconds;
	enum AVPixelFormat pix_fmt;
	int64_t frames;         /* in the clip */
	int64_t read;           /* frames read so far */
	int k;                  /* temporal window radius */
	int slots;              /* 2k + 1 + AHEAD ring slots in use */
	struct slot ring[RING_MAX];
	pipe_masks *masks;
	pipe_keys *keys;
	attn_engine *engine;
	attn_track *track;      /* stabilize: the mask carried from its last given frame */
	attn_frame *result;
	float *cov;             /* the coverage of the frame being made */
	float *entropy;         /* its entropy map, with files->attention */
	pipe_heatmap *heat;     /* files->attention's writer, NULL: none */
	pipe_heatmap *cover;    /* files->coverage's writer, NULL: none */
	float *given;           /* propagate: its mask when given, as floats */
	struct attn_frame_info stats;
	double start;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct slot *slot_of(struct job *j, int64_t index)
{
	return &j->ring[index % j->slots];
}

static void slot_release(struct slot *s)
{
	av_frame_free(&s->av);
	free(s->samples);
	free(s->cover);
	memset(s, 0, sizeof(*s));
	s->index = -1;
}

/* From the reader's thread. */
static int on_audio(void *opaque, const AVPacket *pkt)
{
	struct job *j = opaque;

	return pipe_encoder_audio(j->enc, pkt, j->read_err, sizeof(j->read_err));
}

/* Error messages name the spec's file, not where it is kept. */
static void name_video(const struct job *j, char *err, size_t errlen)
{
	pipe_err_rename(err, errlen, pipe_basename(j->files->video), j->spec->video);
	pipe_err_rename(err, errlen, j->files->video, j->spec->video);
}

static int open_media(struct job *j)
{
	struct pipe_reader_opts ro = { .pix_fmt = j->pix_fmt, .on_audio = on_audio,
				       .opaque = j, .count_frames = 1,
				       .limits = j->opts->limits };
	struct pipe_writer_opts wo = { .pix_fmt = j->pix_fmt,
				       .crf = j->spec->output.crf,
				       .preset = j->spec->output.preset };
	int ret = pipe_reader_open(j->files->video, &ro, &j->reader, j->err, j->errlen);

	if (ret < 0) {
		name_video(j, j->err, j->errlen);
		return ret;
	}
	j->info = pipe_reader_info(j->reader);
	j->frames = j->info->frame_count;
	return pipe_writer_open(j->files->output, j->info, &wo, &j->writer, j->err,
				j->errlen);
}

/* The frames the spec names exist (the reader checked the limits). */
static int check_frames(struct job *j)
{
	api_errors *errs = NULL;
	int ret;

	if (j->frames < 1) {
		pipe_errf(j->err, j->errlen, "video: %s has no frames", j->spec->video);
		return -EINVAL;
	}
	ret = api_spec_check_frames(j->spec, j->frames, &errs);
	if (ret < 0 && errs)
		api_errors_line(errs, j->err, j->errlen);
	api_errors_free(errs);
	return ret;
}

/* The engine; made by the thread that runs it, whose priority its helpers inherit. */
static int open_engine(struct job *j)
{
	struct attn_params p = {
		.temperature = (float)j->spec->temperature, .steps = j->spec->steps,
		.window = j->spec->window, .temporal = j->k, .seed = j->spec->seed,
		.threads = j->opts->threads > 0 ? j->opts->threads : 1,
	};

	return attn_engine_create(&p, &j->engine);
}

/* The frames and coverage maps the reader and the attention thread fill. */
static int open_buffers(struct job *j)
{
	size_t n = (size_t)j->info->width * j->info->height;
	int ret = attn_frame_create(j->info->width, j->info->height, 3, &j->result);

	if (ret >= 0 && j->spec->mode == API_MODE_PROPAGATE) {
		j->given = malloc(sizeof(float) * n);
		ret = j->given ? 0 : -ENOMEM;
	}
	if (ret >= 0) {
		j->cov = malloc(sizeof(float) * n);
		j->read_cov = malloc(sizeof(float) * n);
		ret = j->cov && j->read_cov ? 0 : -ENOMEM;
	}
	return ret;
}

/*
 * The coverage of a frame entering the ring: the mask video's or the
 * blended masks, or, when tracking in stabilize, the previous frame's
 * carried along the camera motion (restarting at each given mask).
 */
static void cover_to_floats(const uint8_t *cover, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = cover[i] / 255.0f;
}

static int slot_coverage(struct job *j, struct slot *s, char *err, size_t errlen)
{
	size_t n = (size_t)j->info->width * j->info->height;
	struct slot *prev;
	int tracking, ret;

	if (pipe_masks_none(j->masks))
		return 0;
	s->cover = malloc(n);
	if (!s->cover)
		return -ENOMEM;
	s->yuv.cover = s->cover;
	tracking = j->spec->mode == API_MODE_STABILIZE &&
		   pipe_masks_tracked(j->masks) && j->k > 0;
	prev = s->index > 0 ? slot_of(j, s->index - 1) : NULL;
	if (tracking && j->track && !pipe_masks_anchor(j->masks, s->index) &&
	    prev && prev->index == s->index - 1)
		return attn_track_next(j->track, &prev->yuv, &s->yuv, s->cover);
	ret = pipe_masks_at(j->masks, PIPE_MASK_MAIN, s->index, j->read_cov, err,
			    errlen);
	for (size_t i = 0; ret >= 0 && i < n; i++)
		s->cover[i] = (uint8_t)lrintf(j->read_cov[i] * 255.0f);
	if (ret >= 0 && tracking) {
		attn_track_free(j->track);
		j->track = NULL;
		ret = attn_track_create(&s->yuv, &j->track);
	}
	return ret;
}

/* Reads frame j->read of the clip into its slot (the reader's thread). */
static int read_one(struct job *j, char *err, size_t errlen)
{
	struct slot *s = slot_of(j, j->read);
	int ret;

	slot_release(s);
	s->index = j->read;
	ret = pipe_reader_next(j->reader, &s->av, err, errlen);
	if (ret == AVERROR_EOF) {
		pipe_errf(err, errlen, "video: %s ended after %lld of %lld "
			  "frames; the file is truncated", j->spec->video,
			  (long long)j->read, (long long)j->frames);
		return -EINVAL;
	}
	if (ret < 0) {
		name_video(j, err, errlen);
		return ret;
	}
	s->samples = malloc((size_t)3 * j->info->width * j->info->height);
	ret = s->samples ? pipe_frame_to_yuv8(s->av, s->samples, &s->yuv) : -ENOMEM;
	if (ret >= 0)
		ret = slot_coverage(j, s, err, errlen);
	return ret;
}

/* Reads past the last frame, so the last audio packets reach the writer. */
static int drain_reader(struct job *j, char *err, size_t errlen)
{
	AVFrame *extra = NULL;
	int ret = pipe_reader_next(j->reader, &extra, err, errlen);

	av_frame_free(&extra);
	return ret == AVERROR_EOF ? 0 : ret < 0 ? ret : 0;
}

/*
 * Waits until frame j->read's slot is free: the frame it held is out of
 * every window still to come. False when told to stop.
 */
static bool wait_slot(struct job *j)
{
	bool go;

	pthread_mutex_lock(&j->lock);
	while (!j->stop && j->read - j->slots + j->k >= j->made)
		pthread_cond_wait(&j->changed, &j->lock);
	go = !j->stop;
	pthread_mutex_unlock(&j->lock);
	return go;
}

static void *read_main(void *arg)
{
	struct job *j = arg;
	char err[ERR_LEN] = "";
	int ret = 0;

	while (ret >= 0 && j->read < j->frames && wait_slot(j)) {
		double t0 = now();

		ret = read_one(j, err, sizeof(err));
		pthread_mutex_lock(&j->lock);
		j->read_seconds += now() - t0;
		if (ret >= 0)
			j->read++;
		pthread_cond_broadcast(&j->changed);
		pthread_mutex_unlock(&j->lock);
	}
	if (ret >= 0 && j->read == j->frames)
		ret = drain_reader(j, err, sizeof(err));
	pthread_mutex_lock(&j->lock);
	if (ret < 0)
		snprintf(j->read_err, sizeof(j->read_err), "%s", err);
	j->read_ret = ret < 0 ? ret : 1;
	pthread_cond_broadcast(&j->changed);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/*
 * Waits until the reader holds every frame frame t's window needs. Its
 * error, if it failed first, with its message.
 */
static int wait_window(struct job *j, int64_t t)
{
	int64_t last = t + j->k < j->frames - 1 ? t + j->k : j->frames - 1;
	int ret;

	pthread_mutex_lock(&j->lock);
	while (j->read <= last && !j->read_ret)
		pthread_cond_wait(&j->changed, &j->lock);
	ret = j->read <= last ? j->read_ret : 0;
	if (ret < 0)
		pipe_errf(j->err, j->errlen, "%s", j->read_err);
	pthread_mutex_unlock(&j->lock);
	return ret;
}

/* Frame t is made: its slot may be read into once out of the windows. */
static void frame_made(struct job *j, int64_t t)
{
	pthread_mutex_lock(&j->lock);
	j->made = t + 1;
	pthread_cond_broadcast(&j->changed);
	pthread_mutex_unlock(&j->lock);
}

static int start_reader(struct job *j)
{
	if (pthread_create(&j->read_thread, NULL, read_main, j))
		return -EAGAIN;
	j->reading = true;
	return 0;
}

/* Stops the reader (if it still runs) and waits for it; its error. */
static int stop_reader(struct job *j)
{
	int ret;

	if (!j->reading)
		return 0;
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	pthread_cond_broadcast(&j->changed);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->read_thread, NULL);
	j->reading = false;
	ret = j->read_ret < 0 ? j->read_ret : 0;
	if (ret < 0)
		pipe_errf(j->err, j->errlen, "%s", j->read_err);
	return ret;
}

/* Waits for the reader to read past the end (the last audio); its error. */
static int finish_reader(struct job *j)
{
	pthread_mutex_lock(&j->lock);
	while (!j->read_ret)
		pthread_cond_wait(&j->changed, &j->lock);
	pthread_mutex_unlock(&j->lock);
	return stop_reader(j);
}

static int run_propagate(struct job *j, int64_t t, struct slot *cur)
{
	size_t np = (size_t)j->info->width * j->info->height;
	struct attn_keyframe keys[2];
	int n, ret = pipe_keys_around(j->keys, t, keys, &n, j->err, j->errlen);
	/* tracking carries masks between the frames they are given at */
	const float *given = pipe_masks_tracked(j->masks) ?
			     pipe_masks_anchor(j->masks, t) : NULL;

	if (ret < 0)
		return ret;
	if (!pipe_masks_tracked(j->masks) && cur->cover) {
		cover_to_floats(cur->cover, np, j->given);
		given = j->given;
	}
	return attn_propagate(j->engine, (int)t, &cur->yuv, keys, n, given,
			      j->result, j->cov, &j->stats);
}

static int run_stabilize(struct job *j, int64_t t, struct slot *cur)
{
	const struct attn_yuv8 *win[RING_MAX];
	struct attn_keyframe refs[2];
	int n, ret = pipe_keys_around(j->keys, t, refs, &n, j->err, j->errlen);

	if (ret < 0)
		return ret;
	for (int d = -j->k; d <= j->k; d++) {
		struct slot *s = t + d >= 0 && t + d < j->frames ? slot_of(j, t + d) : NULL;

		win[d + j->k] = s && s->index == t + d ? &s->yuv : NULL;
	}
	ret = attn_stabilize(j->engine, (int)t, win, refs, n, j->result, &j->stats);
	if (ret >= 0 && cur->cover)
		cover_to_floats(cur->cover, (size_t)j->info->width * j->info->height,
				j->cov);
	return ret;
}

static void report(struct job *j, int64_t done)
{
	struct pipe_progress p = { .frames_done = done, .frames_total = j->frames };
	double el = now() - j->start;

	if (!j->opts->on_progress)
		return;
	p.fps = el > 0 ? (double)done / el : 0.0;
	p.eta = p.fps > 0 ? (double)(j->frames - done) / p.fps : 0.0;
	j->opts->on_progress(j->opts->opaque, &p);
}

/*
 * The heatmap videos the files ask for; the entropy map is drawn at the
 * scale of an even spread over one full local window.
 */
static int open_heatmaps(struct job *j)
{
	float side = 2.0f * (float)j->spec->window + 1.0f;
	int ret = 0;

	if (j->files->attention) {
		j->entropy = malloc(sizeof(float) * j->info->width * j->info->height);
		if (!j->entropy)
			return -ENOMEM;
		j->stats.entropy_map = j->entropy;
		ret = pipe_heatmap_open(j->files->attention, j->info, PIPE_HEAT_ENTROPY,
					logf(side * side), &j->heat, j->err, j->errlen);
	}
	if (ret >= 0 && j->files->coverage)
		ret = pipe_heatmap_open(j->files->coverage, j->info, PIPE_HEAT_COVERAGE, 0.0f,
					&j->cover, j->err, j->errlen);
	return ret;
}

/* Frame pts of the heatmaps: the entropy map and coverage (NULL: all) just made. */
static int draw_heatmaps(struct job *j, const float *cov, int64_t pts)
{
	int ret = 0;

	if (j->heat)
		ret = pipe_heatmap_frame(j->heat, j->entropy, cov, pts, j->err, j->errlen);
	if (ret >= 0 && j->cover)
		ret = pipe_heatmap_frame(j->cover, cov, NULL, pts, j->err, j->errlen);
	return ret;
}

/* Finishes the heatmaps (before the output, so a failure leaves no output). */
static int finish_heatmaps(struct job *j)
{
	int ret = j->heat ? pipe_heatmap_finish(j->heat, j->err, j->errlen) : 0;

	if (ret >= 0 && j->cover)
		ret = pipe_heatmap_finish(j->cover, j->err, j->errlen);
	return ret;
}

/* After a failure: heatmaps already finished are removed too. */
static void remove_heatmaps(const struct pipe_job_files *files)
{
	if (files->attention)
		unlink(files->attention);
	if (files->coverage)
		unlink(files->coverage);
}

static int make_frame(struct job *j, int64_t t)
{
	struct slot *cur = slot_of(j, t);
	AVFrame *out = NULL;
	const float *cov;
	double t0 = now(), t1;
	int ret = j->spec->mode == API_MODE_PROPAGATE ? run_propagate(j, t, cur) :
							 run_stabilize(j, t, cur);

	t1 = now();
	j->attend_seconds += t1 - t0;
	if (ret < 0)
		return ret;
	cov = pipe_masks_none(j->masks) ? NULL : j->cov;
	ret = pipe_frame_blend(cur->av, j->result, cov,
			       pipe_masks_weight(j->masks, t), &out);
	j->blend_seconds += now() - t1;
	if (ret >= 0)
		ret = draw_heatmaps(j, cov, out->pts);
	if (ret < 0) {
		av_frame_free(&out);
		return ret;
	}
	/* takes ownership of out */
	return pipe_encoder_video(j->enc, out, j->err, j->errlen);
}

/* The attention thread: the engine, then every frame in order. */
static void *attend_main(void *arg)
{
	struct job *j = arg;
	int ret;

	/* best effort, the result unused: failing, the stages share the CPU evenly */
	(void)!nice(ATTEND_NICE);
	ret = open_engine(j);
	for (int64_t t = 0; ret >= 0 && t < j->frames; t++) {
		if (j->opts->cancel && atomic_load(j->opts->cancel)) {
			ret = -ECANCELED;
			break;
		}
		ret = wait_window(j, t);
		if (ret >= 0)
			ret = make_frame(j, t);
		frame_made(j, t);
		if (ret >= 0)
			report(j, t + 1);
	}
	j->attend_ret = ret;
	return NULL;
}

static int run_frames(struct job *j)
{
	pthread_t attend;
	int ret = pipe_encoder_start(j->writer, ENCODE_QUEUE, &j->enc);

	if (ret >= 0)
		ret = start_reader(j);
	if (ret >= 0 && pthread_create(&attend, NULL, attend_main, j))
		ret = -EAGAIN;
	if (ret >= 0) {
		pthread_join(attend, NULL);
		ret = j->attend_ret;
	}
	if (ret >= 0)
		ret = finish_reader(j);
	if (ret >= 0)
		ret = pipe_encoder_finish(j->enc, j->err, j->errlen);
	return ret;
}

static void fill_result(const struct job *j, struct pipe_job_result *res)
{
	const struct attn_stats *st = &j->stats.stats;

	memset(res, 0, sizeof(*res));
	res->frames = j->frames;
	res->seconds = now() - j->start;
	res->fps = res->seconds > 0 ? (double)j->frames / res->seconds : 0.0;
	res->attention_entropy_mean = j->stats.queries ?
		j->stats.entropy_sum / (double)j->stats.queries : 0.0;
	res->gflops = res->seconds > 0 ? st->flops / res->seconds * 1e-9 : 0.0;
	res->useful_share = st->scores ? (double)st->useful / (double)st->scores : 0.0;
	res->decode_seconds = j->read_seconds;
	res->attend_seconds = j->attend_seconds;
	res->blend_seconds = j->blend_seconds;
	res->encode_seconds = j->encode_seconds;
}

static void job_release(struct job *j)
{
	stop_reader(j);
	pipe_encoder_free(j->enc);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->changed);
	for (int i = 0; i < RING_MAX; i++)
		slot_release(&j->ring[i]);
	pipe_keys_free(j->keys);
	pipe_masks_free(j->masks);
	attn_engine_free(j->engine);
	attn_track_free(j->track);
	attn_frame_free(j->result);
	pipe_heatmap_free(j->heat);
	pipe_heatmap_free(j->cover);
	free(j->entropy);
	free(j->given);
	free(j->cov);
	free(j->read_cov);
	pipe_writer_free(j->writer);
	pipe_reader_free(j->reader);
}

static int job_setup(struct job *j)
{
	int ret = open_media(j);

	if (ret >= 0)
		ret = check_frames(j);
	if (ret >= 0)
		ret = pipe_masks_open(j->spec, j->files, j->info, j->opts->limits,
				      &j->masks, j->err, j->errlen);
	if (ret >= 0)
		ret = pipe_keys_open(j->spec, j->files, j->info, j->pix_fmt, j->masks,
				     j->opts->limits, &j->keys, j->err, j->errlen);
	if (ret >= 0)
		ret = open_buffers(j);
	if (ret >= 0)
		ret = open_heatmaps(j);
	return ret;
}

int pipe_job_run(const api_spec *spec, const struct pipe_job_files *files,
		 const struct pipe_job_opts *opts, struct pipe_job_result *res,
		 char *err, size_t errlen)
{
	struct job j = {
		.spec = spec, .files = files, .opts = opts, .err = err,
		.errlen = errlen, .start = now(),
		.pix_fmt = spec->output.pix_fmt == API_PIX_YUV444P ?
			   AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P,
		.k = spec->mode == API_MODE_STABILIZE ? spec->temporal_window : 0,
	};
	double t0;
	int ret;

	pipe_err_clear(err, errlen);
	j.slots = 2 * j.k + 1 + AHEAD;
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.changed, NULL);
	for (int i = 0; i < RING_MAX; i++)
		j.ring[i].index = -1;
	ret = job_setup(&j);
	if (ret >= 0)
		ret = run_frames(&j);
	t0 = now();
	if (ret >= 0)
		ret = finish_heatmaps(&j);
	if (ret >= 0)
		ret = pipe_writer_finish(j.writer, err, errlen);
	j.encode_seconds = (j.enc ? pipe_encoder_seconds(j.enc) : 0) + now() - t0;
	if (ret >= 0)
		fill_result(&j, res);
	if (ret == -ECANCELED)
		pipe_errf(err, errlen, "canceled");
	if (ret < 0)
		pipe_err_default(err, errlen, "job", ret);
	job_release(&j);
	if (ret < 0)
		remove_heatmaps(files);
	return ret;
}
