/* srv_redis_url: a small URL reader, no allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_redis_url.h"

#define SRV_REDIS_DB_MAX 1000000

#define SRV_REDIS_URL_FORMS "redis://[[user]:password@]host[:port][/db] or " \
	"unix://[[user]:password@]/path/to/socket[?db=N]"

static int srv_redis_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies len bytes of text to buf (size cap), decoding %XX. */
static int srv_redis_decode(const char *text, size_t len, char *buf, size_t cap)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (n + 1 >= cap)
			return -EINVAL;
		if (text[i] != '%') {
			buf[n++] = text[i];
			continue;
		}
		hi = i + 2 < len ? srv_redis_hexval(text[i + 1]) : -1;
		lo = i + 2 < len ? srv_redis_hexval(text[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (!hi && !lo))
			return -EINVAL;
		buf[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	buf[n] = '\0';
	return 0;
}

/* A decimal number from min to max, the whole of [text, text + len). */
static int srv_redis_number(const char *text, size_t len, long min, long max,
			    int *out)
{
	char digits[16], *end;
	long v;

	if (!len || len >= sizeof(digits) || strspn(text, "0123456789") < len)
		return -EINVAL;
	memcpy(digits, text, len);
	digits[len] = '\0';
	v = strtol(digits, &end, 10);
	if (*end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* "user:password", "user" or ":password" before an '@'. */
static int srv_redis_userinfo(const char *text, size_t len,
			      struct srv_redis_url *url)
{
	const char *colon = memchr(text, ':', len);
	size_t user_len = colon ? (size_t)(colon - text) : len;

	if (srv_redis_decode(text, user_len, url->user, sizeof(url->user)) < 0)
		return -EINVAL;
	if (!colon)
		return 0;
	return srv_redis_decode(colon + 1, len - user_len - 1, url->password,
				sizeof(url->password));
}

/* host[:port] or [v6][:port]. */
static int srv_redis_hostport(const char *text, size_t len,
			      struct srv_redis_url *url)
{
	const char *host = text, *port = NULL;
	size_t host_len = len;

	if (len && *text == '[') {
		const char *close = memchr(text, ']', len);

		if (!close)
			return -EINVAL;
		host = text + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < text + len) {
			if (close[1] != ':')
				return -EINVAL;
			port = close + 2;
		}
	} else if ((port = memchr(text, ':', len))) {
		host_len = (size_t)(port - text);
		port++;
	}
	if (!host_len || host_len >= sizeof(url->host))
		return -EINVAL;
	memcpy(url->host, host, host_len);
	url->host[host_len] = '\0';
	url->port = SRV_REDIS_PORT;
	return port ? srv_redis_number(port, (size_t)(text + len - port), 1, 65535,
				       &url->port) : 0;
}

/* host part and "/db" of a redis:// URL (after userinfo). */
static int srv_redis_tcp(const char *rest, struct srv_redis_url *url)
{
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

	if (srv_redis_hostport(rest, len, url) < 0)
		return -EINVAL;
	if (!slash || !slash[1])
		return 0;
	return srv_redis_number(slash + 1, strlen(slash + 1), 0, SRV_REDIS_DB_MAX,
				&url->db);
}

/* "/path[?db=N]" of a unix:// URL. */
static int srv_redis_unix(const char *rest, struct srv_redis_url *url)
{
	const char *query = strchr(rest, '?');
	size_t len = query ? (size_t)(query - rest) : strlen(rest);

	if (*rest != '/' || len >= sizeof(url->path))
		return -EINVAL;
	memcpy(url->path, rest, len);
	url->path[len] = '\0';
	if (!query)
		return 0;
	if (strncmp(query, "?db=", 4))
		return -EINVAL;
	return srv_redis_number(query + 4, strlen(query + 4), 0, SRV_REDIS_DB_MAX,
				&url->db);
}

int srv_redis_url_parse(const char *text, struct srv_redis_url *url,
			char *err, size_t errlen)
{
	const char *rest, *at, *end;
	int is_unix, ret;

	memset(url, 0, sizeof(*url));
	if (!strncmp(text, "redis://", 8))
		is_unix = 0;
	else if (!strncmp(text, "unix://", 7))
		is_unix = 1;
	else
		goto bad;
	rest = text + (is_unix ? 7 : 8);
	end = is_unix ? strchr(rest, '/') : rest + strcspn(rest, "/");
	at = end ? memchr(rest, '@', (size_t)(end - rest)) : NULL;
	if (at) {
		if (srv_redis_userinfo(rest, (size_t)(at - rest), url) < 0)
			goto bad;
		rest = at + 1;
	}
	ret = is_unix ? srv_redis_unix(rest, url) : srv_redis_tcp(rest, url);
	if (ret < 0)
		goto bad;
	return 0;

bad:
	snprintf(err, errlen, "--redis-url must be %s (the value is not shown: "
		 "it may hold a password)", SRV_REDIS_URL_FORMS);
	return -EINVAL;
}

void srv_redis_url_describe(const struct srv_redis_url *url, char *buf,
			    size_t len)
{
	if (*url->path)
		snprintf(buf, len, "unix:%s db %d", url->path, url->db);
	else
		snprintf(buf, len, "%s%s%s:%d db %d", strchr(url->host, ':') ? "[" : "",
			 url->host, strchr(url->host, ':') ? "]" : "", url->port,
			 url->db);
}
