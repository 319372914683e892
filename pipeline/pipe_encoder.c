#include "pipeline/pipe_encoder.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipe_util.h"

#define PIPE_ENCODER_ERR 512

struct pipe_encoder {
	pipe_writer *writer;            /* used by the thread alone while it runs */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;           /* the queues, the flags, the error */
	pthread_cond_t changed;
	AVFrame **queue;                /* ring of depth */
	int depth, head, count;
	AVPacket **audio;               /* audio packets to mux, in order, owned */
	int n_audio, cap_audio;
	bool stopping;                  /* no more frames will come */
	int ret;                        /* first error, 0 */
	char err[PIPE_ENCODER_ERR];
	double seconds;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Records the first error; later ones are consequences. Lock held. */
static void fail(pipe_encoder *enc, int ret, const char *msg)
{
	if (enc->ret)
		return;
	enc->ret = ret;
	snprintf(enc->err, sizeof(enc->err), "%s", msg);
}

/* The next frame to encode, or NULL once stopping and drained. */
static AVFrame *take(pipe_encoder *enc)
{
	AVFrame *frame = NULL;

	pthread_mutex_lock(&enc->lock);
	while (!enc->count && !enc->stopping)
		pthread_cond_wait(&enc->changed, &enc->lock);
	if (enc->count) {
		frame = enc->queue[enc->head];
		enc->head = (enc->head + 1) % enc->depth;
		enc->count--;
		pthread_cond_broadcast(&enc->changed);
	}
	pthread_mutex_unlock(&enc->lock);
	return frame;
}

static void free_packets(AVPacket **pkts, int n)
{
	for (int i = 0; i < n; i++)
		av_packet_free(&pkts[i]);
}

/*
 * Muxes the audio packets handed over so far (the list is taken out
 * under the lock, so the reader can add more meanwhile). 0 or an error.
 */
static int mux_audio(pipe_encoder *enc, char *err, size_t errlen)
{
	AVPacket **pkts;
	int n, i, ret = 0;

	pthread_mutex_lock(&enc->lock);
	pkts = enc->audio;
	n = enc->n_audio;
	enc->audio = NULL;
	enc->n_audio = enc->cap_audio = 0;
	pthread_mutex_unlock(&enc->lock);
	for (i = 0; i < n && ret >= 0; i++)
		ret = pipe_writer_audio(enc->writer, pkts[i], err, errlen);
	free_packets(pkts, n);
	free(pkts);
	return ret;
}

/*
 * Muxes the audio handed over so far, then encodes frame (NULL: none;
 * freed), unless an earlier step failed; records its error.
 */
static void encode_step(pipe_encoder *enc, AVFrame *frame, char *err, size_t errlen)
{
	double t0 = now();
	int ret;

	pthread_mutex_lock(&enc->lock);
	ret = enc->ret;
	pthread_mutex_unlock(&enc->lock);
	if (!ret)
		ret = mux_audio(enc, err, errlen);
	if (!ret && frame)
		ret = pipe_writer_video(enc->writer, frame, err, errlen);
	av_frame_free(&frame);
	pthread_mutex_lock(&enc->lock);
	if (ret < 0)
		fail(enc, ret, err);
	enc->seconds += now() - t0;
	pthread_mutex_unlock(&enc->lock);
}

static void *encode_main(void *arg)
{
	pipe_encoder *enc = arg;
	char err[PIPE_ENCODER_ERR] = "";
	AVFrame *frame;

	while ((frame = take(enc)))
		encode_step(enc, frame, err, sizeof(err));
	/* the audio after the last frame */
	encode_step(enc, NULL, err, sizeof(err));
	return NULL;
}

int pipe_encoder_start(pipe_writer *writer, int depth, pipe_encoder **out)
{
	pipe_encoder *enc = calloc(1, sizeof(*enc));

	if (!enc)
		return -ENOMEM;
	enc->writer = writer;
	enc->depth = depth > 0 ? depth : 1;
	enc->queue = calloc(enc->depth, sizeof(*enc->queue));
	if (!enc->queue) {
		free(enc);
		return -ENOMEM;
	}
	pthread_mutex_init(&enc->lock, NULL);
	pthread_cond_init(&enc->changed, NULL);
	if (pthread_create(&enc->thread, NULL, encode_main, enc)) {
		pipe_encoder_free(enc);
		return -EAGAIN;
	}
	enc->started = true;
	*out = enc;
	return 0;
}

/* The first error, copied out with its message. Lock held. */
static int first_error(const pipe_encoder *enc, char *err, size_t errlen)
{
	if (enc->ret && err && errlen)
		snprintf(err, errlen, "%s", enc->err);
	return enc->ret;
}

int pipe_encoder_video(pipe_encoder *enc, AVFrame *frame, char *err,
		       size_t errlen)
{
	int ret;

	pthread_mutex_lock(&enc->lock);
	while (enc->count == enc->depth && !enc->ret)
		pthread_cond_wait(&enc->changed, &enc->lock);
	ret = first_error(enc, err, errlen);
	if (!ret) {
		enc->queue[(enc->head + enc->count) % enc->depth] = frame;
		enc->count++;
		frame = NULL;
		pthread_cond_broadcast(&enc->changed);
	}
	pthread_mutex_unlock(&enc->lock);
	av_frame_free(&frame);
	return ret;
}

/* Room for one more audio packet. Lock held. */
static int audio_room(pipe_encoder *enc)
{
	AVPacket **grown;
	int cap;

	if (enc->n_audio < enc->cap_audio)
		return 0;
	cap = enc->cap_audio ? 2 * enc->cap_audio : 64;
	grown = realloc(enc->audio, sizeof(*grown) * cap);
	if (!grown)
		return -ENOMEM;
	enc->audio = grown;
	enc->cap_audio = cap;
	return 0;
}

int pipe_encoder_audio(pipe_encoder *enc, const AVPacket *pkt, char *err,
		       size_t errlen)
{
	AVPacket *copy = av_packet_clone(pkt);
	int ret;

	pthread_mutex_lock(&enc->lock);
	ret = first_error(enc, err, errlen);
	if (!ret && (!copy || audio_room(enc) < 0)) {
		ret = -ENOMEM;
		pipe_errf(err, errlen, "out of memory for an audio packet");
	}
	if (!ret) {
		enc->audio[enc->n_audio++] = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&enc->lock);
	av_packet_free(&copy);
	return ret;
}

/* Tells the thread no more frames come and waits for it. */
static void stop(pipe_encoder *enc)
{
	if (!enc->started)
		return;
	pthread_mutex_lock(&enc->lock);
	enc->stopping = true;
	pthread_cond_broadcast(&enc->changed);
	pthread_mutex_unlock(&enc->lock);
	pthread_join(enc->thread, NULL);
	enc->started = false;
}

int pipe_encoder_finish(pipe_encoder *enc, char *err, size_t errlen)
{
	stop(enc);
	return first_error(enc, err, errlen);
}

double pipe_encoder_seconds(const pipe_encoder *enc)
{
	return enc->seconds;
}

void pipe_encoder_free(pipe_encoder *enc)
{
	if (!enc)
		return;
	pthread_mutex_lock(&enc->lock);
	enc->ret = enc->ret ? enc->ret : -ECANCELED;
	pthread_mutex_unlock(&enc->lock);
	stop(enc);
	for (int i = 0; i < enc->count; i++)
		av_frame_free(&enc->queue[(enc->head + i) % enc->depth]);
	free(enc->queue);
	free_packets(enc->audio, enc->n_audio);
	free(enc->audio);
	pthread_mutex_destroy(&enc->lock);
	pthread_cond_destroy(&enc->changed);
	free(enc);
}
