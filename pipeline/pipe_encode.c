#include "pipeline/pipe_encode.h"

int pipe_encode(AVCodecContext *enc, const AVFrame *frame, AVPacket *pkt,
		int stream_index, pipe_packet_fn sink, void *opaque)
{
	int ret;

	ret = avcodec_send_frame(enc, frame);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = avcodec_receive_packet(enc, pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		pkt->stream_index = stream_index;
		pkt->time_base = enc->time_base;
		/* takes ownership of pkt's reference */
		ret = sink(opaque, pkt);
		if (ret < 0)
			return ret;
	}
}
