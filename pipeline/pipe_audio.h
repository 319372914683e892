/*
 * pipe_audio: one audio stream MP4 cannot carry, transcoded to AAC.
 *
 * Packets are decoded, resampled to the encoder's sample format (and rate
 * and channel layout, when AAC cannot keep them), cut into the encoder's
 * 1024-sample frames through a FIFO and encoded. Output timestamps count
 * samples from the first decoded frame's timestamp.
 */
#ifndef PIPE_AUDIO_H
#define PIPE_AUDIO_H

#include <stddef.h>

#include <libavformat/avformat.h>

#include "pipeline/pipe_encode.h"

struct pipe_audio;

/*
 * par and in_tb describe the source stream (borrowed for the call). st is
 * the output stream: its codec parameters and time base are set here.
 * global_header: the muxer wants the codec header out of band (MP4 does).
 */
int pipe_audio_open(const AVCodecParameters *par, AVRational in_tb,
		    AVStream *st, int global_header, struct pipe_audio **out,
		    char *err, size_t errlen);

/* Transcodes pkt (borrowed; NULL drains the decoder); packets go to sink. */
int pipe_audio_send(struct pipe_audio *audio, const AVPacket *pkt,
		    pipe_packet_fn sink, void *opaque);

/* Drains the decoder, the resampler, the FIFO and the encoder into sink. */
int pipe_audio_flush(struct pipe_audio *audio, pipe_packet_fn sink,
		     void *opaque);

void pipe_audio_free(struct pipe_audio *audio);

#endif
