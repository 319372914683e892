/*
 * pipe_encode: the send-frame / receive-packets loop of an encoder, with
 * each packet handed to a sink (the writer's muxer).
 */
#ifndef PIPE_ENCODE_H
#define PIPE_ENCODE_H

#include <libavcodec/avcodec.h>

/*
 * Receives one encoded packet: pkt->stream_index is the output stream,
 * pkt->time_base the time base of its timestamps. Takes ownership of pkt's
 * reference (pkt is left blank).
 */
typedef int (*pipe_packet_fn)(void *opaque, AVPacket *pkt);

/*
 * Sends frame (borrowed; NULL flushes) to enc and passes every packet it
 * gives back to sink, tagged with stream_index. pkt is scratch space.
 */
int pipe_encode(AVCodecContext *enc, const AVFrame *frame, AVPacket *pkt,
		int stream_index, pipe_packet_fn sink, void *opaque);

#endif
