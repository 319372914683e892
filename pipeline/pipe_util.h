/*
 * pipe_util: helpers shared by the pipeline's media files for the one-line
 * error messages and error codes they return.
 */
#ifndef PIPE_UTIL_H
#define PIPE_UTIL_H

#include <stddef.h>

/* printf into err (up to errlen bytes); err may be NULL. */
void pipe_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * For the public entry points: clear err on entry, then after a failure
 * that left it empty (out of memory and the like) say "what: <error>", so
 * every failure comes with its one line.
 */
void pipe_err_clear(char *err, size_t errlen);
void pipe_err_default(char *err, size_t errlen, const char *what, int ret);

/* The file name part of path, so messages name the file, not the server's folders. */
const char *pipe_basename(const char *path);

/*
 * Where msg begins with "path: ", puts the user's name for the file there
 * instead (the spec's name, not where the CLI or server keeps it).
 */
void pipe_err_rename(char *msg, size_t len, const char *path, const char *name);

/*
 * A libav result as the pipeline returns it: success and errno values
 * (AVERROR(ENOMEM), AVERROR(EIO), ...) stay, FFmpeg's own codes (invalid
 * data, unsupported, not found, ...) become -EINVAL.
 */
int pipe_errno(int averror);

#endif
