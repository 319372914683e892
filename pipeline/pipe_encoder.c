#include "pipeline/pipe_encoder.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIPE_ENCODER_ERR 512

struct pipe_encoder {
	pipe_writer *writer;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;           /* the queue, the flags, the error */
	pthread_mutex_t mux;            /* the writer */
	pthread_cond_t changed;
	AVFrame **queue;                /* ring of depth */
	int depth, head, count;
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

static void *encode_main(void *arg)
{
	pipe_encoder *enc = arg;
	char err[PIPE_ENCODER_ERR] = "";
	AVFrame *frame;

	while ((frame = take(enc))) {
		double t0 = now();
		int ret = 0;

		pthread_mutex_lock(&enc->lock);
		ret = enc->ret;
		pthread_mutex_unlock(&enc->lock);
		if (!ret) {
			pthread_mutex_lock(&enc->mux);
			ret = pipe_writer_video(enc->writer, frame, err, sizeof(err));
			pthread_mutex_unlock(&enc->mux);
		}
		av_frame_free(&frame);
		pthread_mutex_lock(&enc->lock);
		if (ret < 0)
			fail(enc, ret, err);
		enc->seconds += now() - t0;
		pthread_mutex_unlock(&enc->lock);
	}
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
	pthread_mutex_init(&enc->mux, NULL);
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

int pipe_encoder_audio(pipe_encoder *enc, const AVPacket *pkt, char *err,
		       size_t errlen)
{
	int ret;

	pthread_mutex_lock(&enc->mux);
	ret = pipe_writer_audio(enc->writer, pkt, err, errlen);
	pthread_mutex_unlock(&enc->mux);
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
	pthread_mutex_destroy(&enc->lock);
	pthread_mutex_destroy(&enc->mux);
	pthread_cond_destroy(&enc->changed);
	free(enc);
}
