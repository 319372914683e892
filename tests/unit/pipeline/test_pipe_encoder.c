/*
 * pipe_encoder: frames queued from one thread and audio handed over from
 * another come out as the same file a writer used directly makes (the
 * audio after the last frame too); an encoder stopped early drops the
 * frames and audio it holds without leaking.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipe_encoder.h"
#include "pipeline/pipe_reader.h"
#include "pipeline/pipe_writer.h"
#include "tests/unit/pipeline/pipe_test_media.h"

static struct media_dir dir;

static const char *const clips[][2] = {
	{ "clip.mp4", "-f lavfi -i testsrc2=s=160x120:r=25:d=1 -f lavfi -i sine=d=1 -c:v libx264 -c:a aac -shortest" },
};

static int make_clips(void **state)
{
	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	if (media_dir_create(&dir))
		return -1;
	if (media_make_all(&dir, clips, 1)) {
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

struct copy {
	pipe_reader *reader;
	pipe_writer *writer;
	pipe_encoder *enc;      /* NULL: the writer is used directly */
	char err[256];
};

static int audio_out(void *opaque, const AVPacket *pkt)
{
	struct copy *c = opaque;

	return c->enc ? pipe_encoder_audio(c->enc, pkt, c->err, sizeof(c->err)) :
			pipe_writer_audio(c->writer, pkt, c->err, sizeof(c->err));
}

/*
 * Opens clip.mp4 for reading, out for writing and, when depth > 0, an
 * encoder in front of it; the reader hands its audio to c's audio_out.
 */
static void copy_open(struct copy *c, const char *out, int depth)
{
	struct pipe_reader_opts ro = { .pix_fmt = AV_PIX_FMT_YUV420P,
				       .on_audio = audio_out, .opaque = c };
	struct pipe_writer_opts wo = { .pix_fmt = AV_PIX_FMT_YUV420P, .crf = 23 };

	assert_int_equal(pipe_reader_open(media_path(&dir, "clip.mp4"), &ro, &c->reader,
					  c->err, sizeof(c->err)), 0);
	assert_int_equal(pipe_writer_open(out, pipe_reader_info(c->reader), &wo,
					  &c->writer, c->err, sizeof(c->err)), 0);
	if (depth)
		assert_int_equal(pipe_encoder_start(c->writer, depth, &c->enc), 0);
}

/* Copies clip.mp4 into out, through an encoder when depth > 0. */
static void copy_clip(const char *out, int depth)
{
	struct copy c = { 0 };
	AVFrame *frame;
	int ret;

	copy_open(&c, out, depth);
	while ((ret = pipe_reader_next(c.reader, &frame, c.err, sizeof(c.err))) == 0) {
		if (c.enc) {
			assert_int_equal(pipe_encoder_video(c.enc, frame, c.err,
							    sizeof(c.err)), 0);
			continue;
		}
		assert_int_equal(pipe_writer_video(c.writer, frame, c.err, sizeof(c.err)), 0);
		av_frame_free(&frame);
	}
	assert_int_equal(ret, AVERROR_EOF);
	if (c.enc) {
		assert_int_equal(pipe_encoder_finish(c.enc, c.err, sizeof(c.err)), 0);
		assert_true(pipe_encoder_seconds(c.enc) > 0.0);
	}
	assert_int_equal(pipe_writer_finish(c.writer, c.err, sizeof(c.err)), 0);
	pipe_encoder_free(c.enc);
	pipe_writer_free(c.writer);
	pipe_reader_free(c.reader);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void test_same_bytes_as_the_writer_alone(void **state)
{
	static uint8_t a[1 << 20], b[1 << 20];
	char direct[512], queued[512];
	size_t na, nb;

	(void)state;
	snprintf(direct, sizeof(direct), "%s", media_path(&dir, "direct.mp4"));
	snprintf(queued, sizeof(queued), "%s", media_path(&dir, "queued.mp4"));
	copy_clip(direct, 0);
	copy_clip(queued, 2);
	na = read_file(direct, a, sizeof(a));
	nb = read_file(queued, b, sizeof(b));
	assert_true(na > 1000 && na < sizeof(a));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
}

static void test_free_drops_queued_frames_and_audio(void **state)
{
	struct copy c = { 0 };
	AVFrame *frame;

	(void)state;
	copy_open(&c, media_path(&dir, "dropped.mp4"), 4);
	/* the reader hands the audio it meets to the encoder, which holds it */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pipe_reader_next(c.reader, &frame, c.err, sizeof(c.err)), 0);
		assert_int_equal(pipe_encoder_video(c.enc, frame, c.err, sizeof(c.err)), 0);
	}
	pipe_encoder_free(c.enc);
	pipe_encoder_free(NULL);
	pipe_writer_free(c.writer);
	pipe_reader_free(c.reader);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_the_writer_alone),
		cmocka_unit_test(test_free_drops_queued_frames_and_audio),
	};

	return cmocka_run_group_tests(tests, make_clips, remove_clips);
}
