#include "pipeline/pipe_audio.h"

#include <errno.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "pipeline/pipe_util.h"

/* AAC bit rate per channel, within the service's 128-192 kb/s per stream. */
#define PIPE_AAC_RATE_PER_CHANNEL 96000
#define PIPE_AAC_RATE_MIN 128000
#define PIPE_AAC_RATE_MAX 192000
/* The sample rate used when AAC cannot keep the source's. */
#define PIPE_AAC_FALLBACK_RATE 48000

struct pipe_audio {
	AVCodecContext *dec;
	AVCodecContext *enc;
	SwrContext *swr;             /* made from the first decoded frame */
	AVAudioFifo *fifo;           /* resampled samples not yet encoded */
	AVFrame *decoded;
	AVFrame *resampled;
	AVFrame *frame;              /* encoder input */
	AVPacket *pkt;
	int stream_index;
	int64_t next_pts;            /* of the FIFO's first sample, in enc->time_base */
};

static int open_decoder(struct pipe_audio *a, const AVCodecParameters *par,
			AVRational in_tb, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	int ret;

	if (!codec) {
		pipe_errf(err, errlen, "no decoder for the %s audio",
			  avcodec_get_name(par->codec_id));
		return -EINVAL;
	}
	a->dec = avcodec_alloc_context3(codec);
	if (!a->dec)
		return -ENOMEM;
	ret = avcodec_parameters_to_context(a->dec, par);
	if (ret < 0)
		return ret;
	a->dec->pkt_timebase = in_tb;
	ret = avcodec_open2(a->dec, codec, NULL);
	if (ret < 0)
		pipe_errf(err, errlen, "cannot decode the %s audio: %s",
			  codec->name, av_err2str(ret));
	return ret;
}

/* The source's rate when the encoder takes it, else the fallback. */
static int pick_rate(const AVCodec *codec, int rate)
{
	const int *r;

	if (!codec->supported_samplerates)
		return rate;
	for (r = codec->supported_samplerates; *r; r++)
		if (*r == rate)
			return rate;
	return PIPE_AAC_FALLBACK_RATE;
}

/* A source layout of channels in no stated order, as the usual order. */
static int known_layout(const AVChannelLayout *in, AVChannelLayout *out)
{
	if (in->order == AV_CHANNEL_ORDER_UNSPEC) {
		av_channel_layout_default(out, in->nb_channels);
		return 0;
	}
	return av_channel_layout_copy(out, in);
}

/* The source's layout when the encoder takes it, else stereo. */
static int pick_layout(const AVCodec *codec, const AVChannelLayout *in,
		       AVChannelLayout *out)
{
	const AVChannelLayout *l;
	int ret;

	ret = known_layout(in, out);
	if (ret < 0 || !codec->ch_layouts)
		return ret;
	for (l = codec->ch_layouts; l->nb_channels; l++)
		if (!av_channel_layout_compare(l, out))
			return 0;
	av_channel_layout_uninit(out);
	return av_channel_layout_copy(out,
				      &(AVChannelLayout)AV_CHANNEL_LAYOUT_STEREO);
}

static int open_encoder(struct pipe_audio *a, const AVCodecParameters *par,
			AVStream *st, int global_header, char *err,
			size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	AVCodecContext *enc;
	int ret;

	if (!codec) {
		pipe_errf(err, errlen, "no AAC encoder in this FFmpeg");
		return -EINVAL;
	}
	enc = a->enc = avcodec_alloc_context3(codec);
	if (!enc)
		return -ENOMEM;
	ret = pick_layout(codec, &par->ch_layout, &enc->ch_layout);
	if (ret < 0)
		return ret;
	enc->sample_fmt = codec->sample_fmts[0];
	enc->sample_rate = pick_rate(codec, par->sample_rate);
	enc->bit_rate = av_clip(PIPE_AAC_RATE_PER_CHANNEL *
				enc->ch_layout.nb_channels,
				PIPE_AAC_RATE_MIN, PIPE_AAC_RATE_MAX);
	enc->time_base = (AVRational){ 1, enc->sample_rate };
	if (global_header)
		enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ret = avcodec_open2(enc, codec, NULL);
	if (ret < 0) {
		pipe_errf(err, errlen, "cannot open the AAC encoder: %s",
			  av_err2str(ret));
		return ret;
	}
	st->time_base = enc->time_base;
	return avcodec_parameters_from_context(st->codecpar, enc);
}

static int alloc_buffers(struct pipe_audio *a)
{
	a->fifo = av_audio_fifo_alloc(a->enc->sample_fmt,
				      a->enc->ch_layout.nb_channels,
				      a->enc->frame_size);
	a->decoded = av_frame_alloc();
	a->resampled = av_frame_alloc();
	a->frame = av_frame_alloc();
	a->pkt = av_packet_alloc();
	if (!a->fifo || !a->decoded || !a->resampled || !a->frame || !a->pkt)
		return -ENOMEM;
	return 0;
}

int pipe_audio_open(const AVCodecParameters *par, AVRational in_tb,
		    AVStream *st, int global_header, struct pipe_audio **out,
		    char *err, size_t errlen)
{
	struct pipe_audio *a;
	int ret;

	a = av_mallocz(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->stream_index = st->index;
	ret = open_decoder(a, par, in_tb, err, errlen);
	if (ret < 0)
		goto free_audio;
	ret = open_encoder(a, par, st, global_header, err, errlen);
	if (ret < 0)
		goto free_audio;
	ret = alloc_buffers(a);
	if (ret < 0)
		goto free_audio;
	*out = a;
	return 0;

free_audio:
	pipe_audio_free(a);
	return ret;
}

/* Frames of the encoder's format in the encoder's layout and rate. */
static int alloc_samples(const struct pipe_audio *a, AVFrame *frame,
			 int nb_samples)
{
	int ret;

	av_frame_unref(frame);
	frame->format = a->enc->sample_fmt;
	frame->sample_rate = a->enc->sample_rate;
	frame->nb_samples = nb_samples;
	ret = av_channel_layout_copy(&frame->ch_layout, &a->enc->ch_layout);
	if (ret < 0)
		return ret;
	return av_frame_get_buffer(frame, 0);
}

/*
 * The resampler, set up for the decoder's actual output; output timestamps
 * start at the first frame's.
 */
static int setup_resampler(struct pipe_audio *a, const AVFrame *in)
{
	AVChannelLayout layout;
	int ret;

	ret = known_layout(&in->ch_layout, &layout);
	if (ret < 0)
		return ret;
	ret = swr_alloc_set_opts2(&a->swr, &a->enc->ch_layout,
				  a->enc->sample_fmt, a->enc->sample_rate,
				  &layout, in->format, in->sample_rate, 0, NULL);
	av_channel_layout_uninit(&layout);
	if (ret < 0)
		return ret;
	ret = swr_init(a->swr);
	if (ret < 0)
		return ret;
	if (in->best_effort_timestamp != AV_NOPTS_VALUE)
		a->next_pts = av_rescale_q(in->best_effort_timestamp,
					   a->dec->pkt_timebase,
					   a->enc->time_base);
	return 0;
}

/* Resamples in (NULL: what the resampler still holds) into the FIFO. */
static int resample(struct pipe_audio *a, const AVFrame *in)
{
	const uint8_t **in_data = in ? (const uint8_t **)in->extended_data : NULL;
	int in_samples = in ? in->nb_samples : 0;
	int ret;

	ret = swr_get_out_samples(a->swr, in_samples);
	if (ret <= 0)
		return ret;
	ret = alloc_samples(a, a->resampled, ret);
	if (ret < 0)
		return ret;
	ret = swr_convert(a->swr, a->resampled->extended_data,
			  a->resampled->nb_samples, in_data, in_samples);
	if (ret <= 0)
		return ret;
	if (av_audio_fifo_write(a->fifo, (void **)a->resampled->extended_data,
				ret) < ret)
		return -ENOMEM;
	return 0;
}

/*
 * Encodes the FIFO's full frames; with last set, the short frame left at
 * the end too.
 */
static int encode_fifo(struct pipe_audio *a, int last, pipe_packet_fn sink,
		       void *opaque)
{
	int size, ret;

	while ((size = av_audio_fifo_size(a->fifo)) >= a->enc->frame_size ||
	       (last && size > 0)) {
		ret = alloc_samples(a, a->frame, FFMIN(size, a->enc->frame_size));
		if (ret < 0)
			return ret;
		if (av_audio_fifo_read(a->fifo, (void **)a->frame->extended_data,
				       a->frame->nb_samples) < a->frame->nb_samples)
			return -EINVAL;
		a->frame->pts = a->next_pts;
		a->next_pts += a->frame->nb_samples;
		ret = pipe_encode(a->enc, a->frame, a->pkt, a->stream_index,
				  sink, opaque);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int pipe_audio_send(struct pipe_audio *a, const AVPacket *pkt,
		    pipe_packet_fn sink, void *opaque)
{
	int ret;

	ret = avcodec_send_packet(a->dec, pkt);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = avcodec_receive_frame(a->dec, a->decoded);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		if (!a->swr)
			ret = setup_resampler(a, a->decoded);
		if (ret >= 0)
			ret = resample(a, a->decoded);
		av_frame_unref(a->decoded);
		if (ret >= 0)
			ret = encode_fifo(a, 0, sink, opaque);
		if (ret < 0)
			return ret;
	}
}

int pipe_audio_flush(struct pipe_audio *audio, pipe_packet_fn sink,
		     void *opaque)
{
	int ret;

	ret = pipe_audio_send(audio, NULL, sink, opaque);
	if (ret < 0)
		return ret;
	/* no resampler: the stream had no audio to decode */
	if (audio->swr) {
		ret = resample(audio, NULL);
		if (ret < 0)
			return ret;
	}
	ret = encode_fifo(audio, 1, sink, opaque);
	if (ret < 0)
		return ret;
	return pipe_encode(audio->enc, NULL, audio->pkt, audio->stream_index,
			   sink, opaque);
}

void pipe_audio_free(struct pipe_audio *audio)
{
	if (!audio)
		return;
	avcodec_free_context(&audio->dec);
	avcodec_free_context(&audio->enc);
	swr_free(&audio->swr);
	if (audio->fifo)
		av_audio_fifo_free(audio->fifo);
	av_frame_free(&audio->decoded);
	av_frame_free(&audio->resampled);
	av_frame_free(&audio->frame);
	av_packet_free(&audio->pkt);
	av_free(audio);
}
