/*
 * srv_buf: a growable text buffer for documents built piece by piece
 * (the metrics page). A failed allocation is remembered: later appends do
 * nothing and srv_buf_take returns NULL, so callers check once at the end.
 */
#ifndef SRV_BUF_H
#define SRV_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct srv_buf {
	char *data;             /* owned, NUL-terminated when not NULL */
	size_t len;
	size_t cap;
	bool failed;            /* an allocation failed */
};

/* Appends printf-style text. */
void srv_buf_printf(struct srv_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The text, handed to the caller (free with free()); NULL when an append
 * failed. The buffer is empty afterwards.
 */
char *srv_buf_take(struct srv_buf *buf);

/* Frees what the buffer holds. */
void srv_buf_release(struct srv_buf *buf);

#endif
