/*
 * Test media for the pipeline's unit tests: clips made with the ffmpeg CLI
 * from lavfi sources in a temporary folder, inspected with ffprobe.
 *
 * Header-only, its functions static inline: each test file is a program of
 * its own (see the Makefile), and not every file uses every helper.
 */
#ifndef PIPE_TEST_MEDIA_H
#define PIPE_TEST_MEDIA_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/frame.h>
#include <libavutil/rational.h>

#define MEDIA_CMD_MAX 4096
#define MEDIA_PATH_MAX 256

struct media_dir {
	char path[MEDIA_PATH_MAX];
};

static inline int media_dir_create(struct media_dir *dir)
{
	snprintf(dir->path, sizeof(dir->path), "/tmp/pipe_test_XXXXXX");
	return mkdtemp(dir->path) ? 0 : -errno;
}

/* Removes the folder and the files in it (the tests make no subfolders). */
static inline void media_dir_remove(struct media_dir *dir)
{
	char path[2 * MEDIA_PATH_MAX];
	struct dirent *entry;
	DIR *d = opendir(dir->path);

	if (!d)
		return;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir->path, entry->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir->path);
}

/* dir/name in a static buffer, one of a few in rotation. */
static inline const char *media_path(const struct media_dir *dir,
				     const char *name)
{
	static char bufs[8][2 * MEDIA_PATH_MAX];
	static int next;
	char *buf = bufs[next++ % 8];

	snprintf(buf, sizeof(bufs[0]), "%s/%s", dir->path, name);
	return buf;
}

static inline int media_vformat(char *cmd, const char *fmt, va_list ap)
{
	int n = vsnprintf(cmd, MEDIA_CMD_MAX, fmt, ap);

	return n > 0 && n < MEDIA_CMD_MAX ? 0 : -1;
}

/* Runs a shell command; 0 when it exits with 0. */
static inline int media_run(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int media_run(const char *fmt, ...)
{
	char cmd[MEDIA_CMD_MAX];
	va_list ap;
	int ret, status;

	va_start(ap, fmt);
	ret = media_vformat(cmd, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	status = system(cmd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Makes dir/name with ffmpeg and the given arguments (inputs, codecs). */
static inline int media_make(const struct media_dir *dir, const char *name,
			     const char *args)
{
	return media_run("ffmpeg -nostdin -hide_banner -loglevel error -y %s '%s/%s'",
			 args, dir->path, name);
}

/* Makes each clip of a table of { name, ffmpeg arguments }. */
static inline int media_make_all(const struct media_dir *dir,
				 const char *const (*clips)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (media_make(dir, clips[i][0], clips[i][1]))
			return -1;
	return 0;
}

/*
 * The standard output of a command, NUL-terminated, in a buffer the caller
 * frees; *len (if given) gets its length. NULL when the command fails.
 */
static inline char *media_output(size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline char *media_output(size_t *len, const char *fmt, ...)
{
	char cmd[MEDIA_CMD_MAX];
	size_t size = 0, cap = 1 << 16, n;
	char *buf, *bigger;
	va_list ap;
	FILE *p;
	int ret;

	va_start(ap, fmt);
	ret = media_vformat(cmd, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return NULL;
	buf = malloc(cap + 1);
	p = buf ? popen(cmd, "r") : NULL;
	if (!p) {
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + size, 1, cap - size, p)) > 0) {
		size += n;
		if (size < cap)
			continue;
		cap *= 2;
		bigger = realloc(buf, cap + 1);
		if (!bigger)
			break;
		buf = bigger;
	}
	buf[size] = '\0';
	if (pclose(p) != 0 || size >= cap) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = size;
	return buf;
}

/* ffprobe's "key=value" lines (-of default=nw=1) for one stream of path. */
static inline char *media_probe(const char *path, const char *stream,
				const char *what)
{
	return media_output(NULL,
			    "ffprobe -v error -select_streams %s %s -of default=nw=1 '%s'",
			    stream, what, path);
}

/* The values of the lines "key=..." in text, up to max of them; their count. */
static inline int media_values(const char *text, const char *key,
			       char vals[][128], int max)
{
	size_t klen = strlen(key);
	const char *line = text;
	int n = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t llen = end ? (size_t)(end - line) : strlen(line);

		if (llen > klen && !strncmp(line, key, klen) &&
		    line[klen] == '=') {
			if (n < max)
				snprintf(vals[n], 128, "%.*s",
					 (int)(llen - klen - 1), line + klen + 1);
			n++;
		}
		line = end ? end + 1 : NULL;
	}
	return n;
}

/* The first "key=..." value of text as an integer (0 when absent). */
static inline int64_t media_int(const char *text, const char *key)
{
	char val[1][128];

	return media_values(text, key, val, 1) ? strtoll(val[0], NULL, 10) : 0;
}

#define MEDIA_MAX_FRAMES 512

/* A video stream's frame timestamps, as ffprobe decodes them. */
struct media_pts {
	AVRational tb;
	int n;
	int64_t pts[MEDIA_MAX_FRAMES];
};

static inline int media_video_pts(const char *path, struct media_pts *out)
{
	char (*vals)[128] = calloc(MEDIA_MAX_FRAMES, 128);
	char *text = media_probe(path, "v:0",
				 "-show_entries stream=time_base:frame=pts");
	int i, ret = -1;

	if (!text || !vals)
		goto end;
	if (media_values(text, "time_base", vals, 1) != 1 ||
	    sscanf(vals[0], "%d/%d", &out->tb.num, &out->tb.den) != 2)
		goto end;
	out->n = media_values(text, "pts", vals, MEDIA_MAX_FRAMES);
	if (out->n > MEDIA_MAX_FRAMES)
		goto end;
	for (i = 0; i < out->n; i++)
		out->pts[i] = strtoll(vals[i], NULL, 10);
	ret = 0;
end:
	free(text);
	free(vals);
	return ret;
}

/* a in tb_a and b in tb_b are the same instant, exactly. */
static inline int media_same_time(int64_t a, AVRational tb_a, int64_t b,
				  AVRational tb_b)
{
	return a * tb_a.num * tb_b.den == b * tb_b.num * tb_a.den;
}

/* Every frame of path decoded by ffmpeg to raw pix_fmt; *len bytes. */
static inline uint8_t *media_raw(const char *path, const char *pix_fmt,
				 size_t *len)
{
	return (uint8_t *)media_output(len,
		"ffmpeg -nostdin -v error -i '%s' -map 0:v:0 -f rawvideo -pix_fmt %s -",
		path, pix_fmt);
}

/* Compares plane p of frame with a packed w x h plane; the count of differences. */
static inline long media_plane_diff(const AVFrame *frame, int p,
				    const uint8_t *packed, int w, int h)
{
	long diff = 0;
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			diff += frame->data[p][y * frame->linesize[p] + x] !=
				packed[y * w + x];
	return diff;
}

#endif
