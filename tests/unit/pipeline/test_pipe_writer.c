#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pipeline/pipe_reader.h"
#include "pipeline/pipe_writer.h"
#include "tests/unit/pipeline/pipe_test_media.h"

static struct media_dir dir;

static const char *const clips[][2] = {
	{ "h264_aac.mp4", "-f lavfi -i testsrc2=s=320x240:r=25:d=2 -f lavfi -i sine=d=2 -c:v libx264 -c:a aac -shortest" },
	{ "h264.mov", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v libx264" },
	{ "ffv1_pcm.mkv", "-f lavfi -i testsrc2=s=160x120:r=25:d=2 -f lavfi -i sine=d=2:sample_rate=32000 -c:v ffv1 -c:a pcm_s16le" },
	{ "odd.mkv", "-f lavfi -i testsrc2=s=721x405:r=25:d=1,format=yuv444p -vf format=yuv420p -c:v ffv1" },
	{ "vp9_opus.webm", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i sine=d=1:sample_rate=48000 -c:v libvpx-vp9 -deadline realtime -c:a libopus" },
	{ "vfr.mp4", "-f lavfi -i testsrc2=s=160x120:r=25:d=2 -vf 'settb=1/1000,setpts=(N*40+mod(N\\,3)*10)/1000/TB' -fps_mode passthrough -enc_time_base 1/1000 -c:v libx264 -video_track_timescale 1000" },
	{ "tagged.mp4", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -c:v libx264 -color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv" },
	{ "flac.mkv", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i sine=d=1 -c:v ffv1 -c:a flac" },
	{ "two_audio.mov", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i sine=d=1 -f lavfi -i sine=d=1:frequency=880 -map 0 -map 1 -map 2 -c:v libx264 -c:a:0 aac -c:a:1 pcm_s16le" },
};

static int make_all(void)
{
	char args[MEDIA_CMD_MAX];

	if (media_make_all(&dir, clips, sizeof(clips) / sizeof(clips[0])))
		return -1;
	/* FFmpeg 5.1 turns the rotate tag into a display matrix on stream copy */
	snprintf(args, sizeof(args),
		 "-i '%s/h264.mov' -c copy -metadata:s:v:0 rotate=90", dir.path);
	return media_make(&dir, "rot.mp4", args);
}

static int make_clips(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	if (make_all()) {
		media_dir_remove(&dir);
		return -1;
	}
	return 0;
}

static int remove_clips(void **state)
{
	(void)state;
	media_dir_remove(&dir);
	return 0;
}

/* A reader feeding a writer, as a job does. */
struct copy_job {
	pipe_reader *reader;
	pipe_writer *writer;
	char err[256];
};

static int audio_to_writer(void *opaque, const AVPacket *pkt)
{
	struct copy_job *job = opaque;

	return pipe_writer_audio(job->writer, pkt, job->err, sizeof(job->err));
}

static void open_job(struct copy_job *job, const char *src, const char *out,
		     const struct pipe_writer_opts *wopts,
		     enum AVPixelFormat read_fmt)
{
	struct pipe_reader_opts ropts = {
		.pix_fmt = read_fmt,
		.on_audio = audio_to_writer,
		.opaque = job,
	};

	assert_int_equal(pipe_reader_open(media_path(&dir, src), &ropts,
					  &job->reader, job->err,
					  sizeof(job->err)), 0);
	assert_int_equal(pipe_writer_open(media_path(&dir, out),
					  pipe_reader_info(job->reader), wopts,
					  &job->writer, job->err,
					  sizeof(job->err)), 0);
}

/*
 * Reads src and writes every frame and audio packet to out, read in
 * read_fmt; keeps up to max frames. The frame count.
 */
static int copy_clip(const char *src, const char *out,
		     const struct pipe_writer_opts *wopts,
		     enum AVPixelFormat read_fmt, AVFrame **keep, int max)
{
	struct copy_job job = { 0 };
	AVFrame *frame;
	int n = 0, ret;

	open_job(&job, src, out, wopts, read_fmt);
	while ((ret = pipe_reader_next(job.reader, &frame, job.err,
				       sizeof(job.err))) == 0) {
		assert_int_equal(pipe_writer_video(job.writer, frame, job.err,
						   sizeof(job.err)), 0);
		if (keep && n < max)
			keep[n] = frame;
		else
			av_frame_free(&frame);
		n++;
	}
	assert_int_equal(ret, AVERROR_EOF);
	assert_int_equal(pipe_writer_finish(job.writer, job.err,
					    sizeof(job.err)), 0);
	pipe_writer_free(job.writer);
	pipe_reader_free(job.reader);
	return n;
}

static const struct pipe_writer_opts default_opts = {
	.pix_fmt = AV_PIX_FMT_YUV420P,
	.crf = 18,
};

static void free_frames(AVFrame **frames, int n)
{
	int i;

	for (i = 0; i < n; i++)
		av_frame_free(&frames[i]);
}

/* Same frame count and the same timestamps, exactly, as ffprobe sees them. */
static void expect_same_video_pts(const char *src, const char *out)
{
	struct media_pts *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	int i;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(media_video_pts(media_path(&dir, src), a), 0);
	assert_int_equal(media_video_pts(media_path(&dir, out), b), 0);
	assert_true(a->n > 0);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_true(media_same_time(a->pts[i], a->tb, b->pts[i], b->tb));
	free(a);
	free(b);
}

#define MAX_PACKETS 256

/*
 * The packets of one audio stream of a and of b have the same payloads,
 * bit for bit, in the same order (side data, such as the samples to skip,
 * moves between packets from one container to another).
 */
static void expect_same_audio(const char *a, const char *sa, const char *b,
			      const char *sb)
{
	const char *what = "-show_packets -show_data_hash MD5 -show_entries packet=data_hash";
	char *pa = media_probe(media_path(&dir, a), sa, what);
	char *pb = media_probe(media_path(&dir, b), sb, what);
	char (*ha)[128] = calloc(MAX_PACKETS, 128);
	char (*hb)[128] = calloc(MAX_PACKETS, 128);
	int n, i;

	assert_non_null(pa);
	assert_non_null(pb);
	assert_non_null(ha);
	assert_non_null(hb);
	n = media_values(pa, "data_hash", ha, MAX_PACKETS);
	assert_true(n > 10 && n <= MAX_PACKETS);
	assert_int_equal(media_values(pb, "data_hash", hb, MAX_PACKETS), n);
	for (i = 0; i < n; i++)
		assert_string_equal(ha[i], hb[i]);
	free(pa);
	free(pb);
	free(ha);
	free(hb);
}

static int64_t file_offset(const char *data, size_t len, const char *tag)
{
	const char *at = memmem(data, len, tag, strlen(tag));

	return at ? at - data : -1;
}

/*
 * H.264 + AAC in MP4 through reader and writer: the same frames and
 * timestamps, AAC packets copied bit for bit (with their timestamps),
 * moov in front, no creation time, and the same bytes on a second run.
 */
static void test_mp4_passthrough(void **state)
{
	char *src_audio, *out_audio, *tags, *file;
	size_t len;

	(void)state;
	assert_int_equal(copy_clip("h264_aac.mp4", "out.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 50);
	expect_same_video_pts("h264_aac.mp4", "out.mp4");

	src_audio = media_probe(media_path(&dir, "h264_aac.mp4"), "a:0",
				"-show_packets -show_data_hash MD5 -show_entries packet=pts,dts,duration,data_hash");
	out_audio = media_probe(media_path(&dir, "out.mp4"), "a:0",
				"-show_packets -show_data_hash MD5 -show_entries packet=pts,dts,duration,data_hash");
	assert_non_null(src_audio);
	assert_non_null(out_audio);
	assert_true(strlen(src_audio) > 1000);
	assert_string_equal(src_audio, out_audio);

	tags = media_output(NULL,
			    "ffprobe -v error -show_entries %s '%s'",
			    "format_tags:stream_tags:stream=codec_name",
			    media_path(&dir, "out.mp4"));
	assert_non_null(tags);
	assert_null(strstr(tags, "creation_time"));
	assert_non_null(strstr(tags, "codec_name=h264"));

	file = media_output(&len, "cat '%s'", media_path(&dir, "out.mp4"));
	assert_non_null(file);
	assert_true(file_offset(file, len, "moov") >= 0);
	assert_true(file_offset(file, len, "moov") < file_offset(file, len, "mdat"));

	assert_int_equal(copy_clip("h264_aac.mp4", "again.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 50);
	assert_int_equal(media_run("cmp -s '%s' '%s'", media_path(&dir, "out.mp4"),
				   media_path(&dir, "again.mp4")), 0);
	free(file);
	free(tags);
	free(src_audio);
	free(out_audio);
}

/* Opus, which MP4 can carry, is copied packet for packet. */
static void test_opus_copied(void **state)
{
	char *codec;

	(void)state;
	assert_int_equal(copy_clip("vp9_opus.webm", "opus.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 25);
	expect_same_video_pts("vp9_opus.webm", "opus.mp4");
	codec = media_probe(media_path(&dir, "opus.mp4"), "a:0",
			    "-show_entries stream=codec_name");
	assert_non_null(codec);
	assert_string_equal(codec, "codec_name=opus\n");
	expect_same_audio("vp9_opus.webm", "a:0", "opus.mp4", "a:0");
	free(codec);
}

/* PCM, which MP4 cannot carry, becomes AAC of the same length and rate. */
static void test_pcm_transcoded(void **state)
{
	char *probe;

	(void)state;
	assert_int_equal(copy_clip("ffv1_pcm.mkv", "pcm.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 50);
	expect_same_video_pts("ffv1_pcm.mkv", "pcm.mp4");
	probe = media_probe(media_path(&dir, "pcm.mp4"), "a:0",
			    "-show_entries stream=codec_name,sample_rate,channels,start_time,duration,bit_rate");
	assert_non_null(probe);
	assert_non_null(strstr(probe, "codec_name=aac\n"));
	assert_int_equal(media_int(probe, "sample_rate"), 32000);
	assert_int_equal(media_int(probe, "channels"), 1);
	assert_non_null(strstr(probe, "start_time=0.000000\n"));
	assert_non_null(strstr(probe, "duration=2.0"));
	assert_true(media_int(probe, "bit_rate") > 64000);
	free(probe);
}

/* FLAC, which FFmpeg 5.1 lists for MP4 but will not mux, becomes AAC. */
static void test_flac_transcoded(void **state)
{
	char *codec;

	(void)state;
	assert_int_equal(copy_clip("flac.mkv", "flac.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 25);
	codec = media_probe(media_path(&dir, "flac.mp4"), "a:0",
			    "-show_entries stream=codec_name");
	assert_non_null(codec);
	assert_string_equal(codec, "codec_name=aac\n");
	free(codec);
}

/* Two audio streams: AAC copied bit-exact, PCM transcoded, both kept. */
static void test_two_audio_streams(void **state)
{
	char *codecs;

	(void)state;
	assert_int_equal(copy_clip("two_audio.mov", "two.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 25);
	codecs = media_probe(media_path(&dir, "two.mp4"), "a",
			     "-show_entries stream=codec_name");
	assert_non_null(codecs);
	assert_string_equal(codecs, "codec_name=aac\ncodec_name=aac\n");
	expect_same_audio("two_audio.mov", "a:0", "two.mp4", "a:0");
	free(codecs);
}

/* The display matrix goes through: players turn the output the same way. */
static void test_rotation_kept(void **state)
{
	char *src, *out;

	(void)state;
	assert_int_equal(copy_clip("rot.mp4", "rot_out.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 25);
	src = media_probe(media_path(&dir, "rot.mp4"), "v:0",
			  "-show_entries stream_side_data=rotation,displaymatrix");
	out = media_probe(media_path(&dir, "rot_out.mp4"), "v:0",
			  "-show_entries stream_side_data=rotation,displaymatrix");
	assert_non_null(src);
	assert_non_null(out);
	assert_non_null(strstr(src, "rotation=90"));
	assert_string_equal(src, out);
	free(src);
	free(out);
}

/* A source described without a stream: the matrix from its rotation. */
static void test_rotation_from_info(void **state)
{
	struct pipe_reader_opts ropts = { .pix_fmt = AV_PIX_FMT_YUV420P };
	struct pipe_video_info info;
	pipe_reader *r;
	pipe_writer *w;
	AVFrame *frame;
	char err[256] = "", *probe;

	(void)state;
	assert_int_equal(pipe_reader_open(media_path(&dir, "h264.mov"), &ropts,
					  &r, err, sizeof(err)), 0);
	info = *pipe_reader_info(r);
	info.video = NULL;
	info.rotation = 90;
	assert_int_equal(pipe_writer_open(media_path(&dir, "turned.mp4"), &info,
					  &default_opts, &w, err, sizeof(err)), 0);
	while (pipe_reader_next(r, &frame, err, sizeof(err)) == 0) {
		assert_int_equal(pipe_writer_video(w, frame, err, sizeof(err)), 0);
		av_frame_free(&frame);
	}
	assert_int_equal(pipe_writer_finish(w, err, sizeof(err)), 0);
	pipe_writer_free(w);
	pipe_reader_free(r);

	probe = media_probe(media_path(&dir, "turned.mp4"), "v:0",
			    "-show_entries stream_side_data=rotation");
	assert_non_null(probe);
	/* ffprobe shows the counterclockwise angle */
	assert_string_equal(probe, "rotation=-90\n");
	assert_int_equal(pipe_reader_open(media_path(&dir, "turned.mp4"), &ropts,
					  &r, err, sizeof(err)), 0);
	assert_int_equal(pipe_reader_info(r)->rotation, 90);
	pipe_reader_free(r);
	free(probe);
}

static void test_variable_frame_rate(void **state)
{
	(void)state;
	assert_int_equal(copy_clip("vfr.mp4", "vfr_out.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 50);
	expect_same_video_pts("vfr.mp4", "vfr_out.mp4");
}

/* Matrix, range, primaries and transfer of the source are written. */
static void test_colour_tags(void **state)
{
	char *probe;

	(void)state;
	assert_int_equal(copy_clip("tagged.mp4", "tagged_out.mp4", &default_opts,
				   AV_PIX_FMT_YUV420P, NULL, 0), 25);
	probe = media_probe(media_path(&dir, "tagged_out.mp4"), "v:0",
			    "-show_entries stream=color_range,color_space,color_transfer,color_primaries");
	assert_non_null(probe);
	assert_string_equal(probe, "color_range=tv\ncolor_space=bt709\n"
				   "color_transfer=bt709\ncolor_primaries=bt709\n");
	free(probe);
}

/* yuv444p at crf 0 is lossless: the output decodes to the frames written. */
static void test_yuv444_lossless(void **state)
{
	const size_t size = 320 * 240 * 3;
	AVFrame *frames[50];
	size_t len;
	uint8_t *raw;
	int n, i, p;
	struct pipe_writer_opts opts = {
		.pix_fmt = AV_PIX_FMT_YUV444P,
		.crf = 0,
	};

	(void)state;
	n = copy_clip("h264_aac.mp4", "lossless.mp4", &opts, AV_PIX_FMT_YUV444P,
		      frames, 50);
	assert_int_equal(n, 50);
	raw = media_raw(media_path(&dir, "lossless.mp4"), "yuv444p", &len);
	assert_non_null(raw);
	assert_int_equal(len, n * size);
	for (i = 0; i < n; i++)
		for (p = 0; p < 3; p++)
			assert_int_equal(media_plane_diff(frames[i], p,
							  raw + i * size + p * size / 3,
							  320, 240), 0);
	free(raw);
	free_frames(frames, n);
}

/*
 * 721x405 in yuv420p is coded 722x406, the last column and row repeated;
 * at crf 0 the picture comes back exactly.
 */
static void test_odd_size_padded(void **state)
{
	const int w = 721, h = 405, pw = 722, ph = 406;
	const size_t size = pw * ph * 3 / 2;
	struct pipe_writer_opts opts = {
		.pix_fmt = AV_PIX_FMT_YUV420P,
		.crf = 0,
	};
	AVFrame *frames[25];
	size_t len;
	uint8_t *raw;
	int n, i, y;

	(void)state;
	n = copy_clip("odd.mkv", "odd.mp4", &opts, AV_PIX_FMT_YUV420P, frames, 25);
	assert_int_equal(n, 25);
	raw = media_raw(media_path(&dir, "odd.mp4"), "yuv420p", &len);
	assert_non_null(raw);
	assert_int_equal(len, n * size);
	for (i = 0; i < n; i++) {
		const uint8_t *luma = raw + i * size;
		const uint8_t *cb = luma + pw * ph;

		for (y = 0; y < h; y++) {
			assert_memory_equal(luma + y * pw,
					    frames[i]->data[0] + y * frames[i]->linesize[0], w);
			assert_int_equal(luma[y * pw + w], luma[y * pw + w - 1]);
		}
		assert_memory_equal(luma + h * pw, luma + (h - 1) * pw, pw);
		for (y = 0; y < ph / 2; y++)
			assert_memory_equal(cb + y * pw / 2,
					    frames[i]->data[1] + y * frames[i]->linesize[1],
					    pw / 2);
	}
	free(raw);
	free_frames(frames, n);
}

/* Frames of another format (4:4:4 into a 4:2:0 file) are converted. */
static void test_converts_frames(void **state)
{
	AVFrame *frames[25];
	size_t len;
	uint8_t *raw;
	long total = 0;
	int n, x, y;

	(void)state;
	n = copy_clip("h264.mov", "converted.mp4", &default_opts,
		      AV_PIX_FMT_YUV444P, frames, 25);
	assert_int_equal(n, 25);
	raw = media_raw(media_path(&dir, "converted.mp4"), "yuv420p", &len);
	assert_non_null(raw);
	assert_int_equal(len, n * 160 * 120 * 3 / 2);
	for (y = 0; y < 120; y++)
		for (x = 0; x < 160; x++)
			total += abs(raw[y * 160 + x] -
				     frames[0]->data[0][y * frames[0]->linesize[0] + x]);
	/* crf 18: close to the source, on average within a couple of levels */
	assert_true(total < 2 * 160 * 120);
	free(raw);
	free_frames(frames, n);
}

/*
 * A writer freed before it is finished leaves no file, and the file that
 * was at its path before stays as it was.
 */
static void test_unfinished_removed(void **state)
{
	struct copy_job job = { 0 };
	const char *out = media_path(&dir, "partial.mp4");
	char part[PATH_MAX];
	AVFrame *frame;
	FILE *f;
	int i;

	(void)state;
	snprintf(part, sizeof(part), "%s.part", out);
	f = fopen(out, "w");
	assert_non_null(f);
	fputs("an earlier result", f);
	fclose(f);
	open_job(&job, "h264.mov", "partial.mp4", &default_opts,
		 AV_PIX_FMT_YUV420P);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pipe_reader_next(job.reader, &frame, job.err,
						  sizeof(job.err)), 0);
		assert_int_equal(pipe_writer_video(job.writer, frame, job.err,
						   sizeof(job.err)), 0);
		av_frame_free(&frame);
	}
	assert_int_equal(access(part, F_OK), 0);
	pipe_writer_free(job.writer);
	assert_int_equal(access(part, F_OK), -1);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(part, sizeof(part), f));
	fclose(f);
	assert_string_equal(part, "an earlier result");
	unlink(out);
	pipe_reader_free(job.reader);
}

static void test_bad_input(void **state)
{
	struct copy_job job = { 0 };
	struct pipe_writer_opts bad_crf = { .pix_fmt = AV_PIX_FMT_YUV420P, .crf = 52 };
	struct pipe_writer_opts bad_fmt = { .pix_fmt = AV_PIX_FMT_GRAY8, .crf = 18 };
	struct pipe_writer_opts bad_preset = {
		.pix_fmt = AV_PIX_FMT_YUV420P, .crf = 18, .preset = "warp",
	};
	const struct pipe_video_info *info;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	pipe_writer *w = NULL;
	char err[256] = "";

	(void)state;
	open_job(&job, "h264.mov", "bad.mp4", &default_opts, AV_PIX_FMT_YUV420P);
	info = pipe_reader_info(job.reader);
	assert_int_equal(pipe_writer_open(media_path(&dir, "x.mp4"), info,
					  &bad_crf, &w, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "crf"));
	assert_int_equal(pipe_writer_open(media_path(&dir, "x.mp4"), info,
					  &bad_fmt, &w, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pix_fmt"));
	assert_int_equal(pipe_writer_open(media_path(&dir, "x.mp4"), info,
					  &bad_preset, &w, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "warp"));
	assert_int_equal(access(media_path(&dir, "x.mp4"), F_OK), -1);
	assert_null(w);

	frame->format = AV_PIX_FMT_YUV420P;
	frame->width = 80;
	frame->height = 60;
	assert_int_equal(av_frame_get_buffer(frame, 0), 0);
	assert_int_equal(pipe_writer_video(job.writer, frame, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "80x60"));
	pkt->stream_index = 7;
	assert_int_equal(pipe_writer_audio(job.writer, pkt, err, sizeof(err)),
			 -EINVAL);
	av_packet_free(&pkt);
	av_frame_free(&frame);
	pipe_writer_free(job.writer);
	pipe_reader_free(job.reader);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mp4_passthrough),
		cmocka_unit_test(test_opus_copied),
		cmocka_unit_test(test_pcm_transcoded),
		cmocka_unit_test(test_flac_transcoded),
		cmocka_unit_test(test_two_audio_streams),
		cmocka_unit_test(test_rotation_kept),
		cmocka_unit_test(test_rotation_from_info),
		cmocka_unit_test(test_variable_frame_rate),
		cmocka_unit_test(test_colour_tags),
		cmocka_unit_test(test_yuv444_lossless),
		cmocka_unit_test(test_odd_size_padded),
		cmocka_unit_test(test_converts_frames),
		cmocka_unit_test(test_unfinished_removed),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, make_clips, remove_clips);
}
