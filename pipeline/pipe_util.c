#include "pipeline/pipe_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pipe_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void pipe_err_clear(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
}

void pipe_err_default(char *err, size_t errlen, const char *what, int ret)
{
	if (err && errlen && !err[0])
		pipe_errf(err, errlen, "%s: %s", what, strerror(-ret));
}

const char *pipe_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* errno values are small; FFmpeg's own codes are negated four-letter tags. */
#define PIPE_MAX_ERRNO 4095

int pipe_errno(int averror)
{
	if (averror > -PIPE_MAX_ERRNO)
		return averror;
	return -EINVAL;
}

void pipe_err_rename(char *msg, size_t len, const char *path, const char *name)
{
	size_t plen = strlen(path);
	char rest[512];

	if (strncmp(msg, path, plen) != 0 || strncmp(msg + plen, ": ", 2) != 0)
		return;
	snprintf(rest, sizeof(rest), "%s", msg + plen);
	snprintf(msg, len, "%s%s", name, rest);
}
