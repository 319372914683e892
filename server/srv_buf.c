/* srv_buf: a growable text buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/srv_buf.h"

/* Capacity of the first allocation; it doubles from there. */
#define SRV_BUF_FIRST_CAP 1024

/* Makes room for need more bytes and the NUL. */
static bool srv_buf_reserve(struct srv_buf *buf, size_t need)
{
	size_t cap = buf->cap ? buf->cap : SRV_BUF_FIRST_CAP;
	char *data;

	if (buf->len + need + 1 <= buf->cap)
		return true;
	while (cap < buf->len + need + 1)
		cap *= 2;
	data = realloc(buf->data, cap);
	if (!data)
		return false;
	buf->data = data;
	buf->cap = cap;
	return true;
}

void srv_buf_printf(struct srv_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !srv_buf_reserve(buf, (size_t)n)) {
		buf->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
}

char *srv_buf_take(struct srv_buf *buf)
{
	char *text = NULL;

	if (!buf->failed && srv_buf_reserve(buf, 0)) {
		text = buf->data;
		text[buf->len] = '\0';
		buf->data = NULL;
	}
	srv_buf_release(buf);
	return text;
}

void srv_buf_release(struct srv_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = false;
}
