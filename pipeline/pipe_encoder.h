/*
 * pipe_encoder: a thread that encodes and muxes a job's video frames while
 * the next ones are being made. Frames wait in a short queue; audio
 * packets, which the reader hands over from its own thread, wait in a
 * list that the thread muxes before each frame and after the last: the
 * reader never waits for a frame to be encoded, and the writer is used
 * by one thread at a time.
 */
#ifndef PIPE_ENCODER_H
#define PIPE_ENCODER_H

#include <stddef.h>

#include <libavcodec/packet.h>
#include <libavutil/frame.h>

#include "pipeline/pipe_writer.h"

typedef struct pipe_encoder pipe_encoder;

/*
 * Starts the thread on writer (borrowed: it must outlive the encoder);
 * depth frames wait at most. 0 or a negative errno.
 */
int pipe_encoder_start(pipe_writer *writer, int depth, pipe_encoder **out);

/*
 * Queues frame, taking ownership of it (it is freed on error too); waits
 * while the queue is full. Returns 0, or the first error of an earlier
 * frame with its message in err.
 */
int pipe_encoder_video(pipe_encoder *enc, AVFrame *frame, char *err,
		       size_t errlen);

/*
 * Hands an audio packet (borrowed; a reference is kept) to the thread, to
 * be muxed before the next video frame. 0, -ENOMEM, or the first error
 * of an earlier frame with its message in err.
 */
int pipe_encoder_audio(pipe_encoder *enc, const AVPacket *pkt, char *err,
		       size_t errlen);

/*
 * Waits until every queued frame is written and stops the thread. 0 or the
 * first error, with its message in err. The writer is then the caller's
 * again (to finish it).
 */
int pipe_encoder_finish(pipe_encoder *enc, char *err, size_t errlen);

/* Seconds the thread spent encoding. */
double pipe_encoder_seconds(const pipe_encoder *enc);

/* Stops the thread, dropping queued frames, and frees; NULL is fine. */
void pipe_encoder_free(pipe_encoder *enc);

#endif
