/* srv_range: Range, If-None-Match and If-Range. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_range.h"

/* Reads the decimal digits at *p; false when there are none or too many. */
static bool srv_range_number(const char **p, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	v = strtoull(*p, &end, 10);
	if (errno)
		return false;
	*p = end;
	*out = v;
	return true;
}

/* "-n": the last n bytes. */
static enum srv_range_kind srv_range_suffix(const char *p, uint64_t size,
					    uint64_t *start, uint64_t *len)
{
	uint64_t n;

	if (!srv_range_number(&p, &n) || *p)
		return SRV_RANGE_FULL;
	if (!n || !size)
		return SRV_RANGE_UNSATISFIABLE;
	*len = n < size ? n : size;
	*start = size - *len;
	return SRV_RANGE_PARTIAL;
}

enum srv_range_kind srv_range_parse(const char *header, uint64_t size,
				    uint64_t *start, uint64_t *len)
{
	const char *p = header;
	uint64_t first, last = UINT64_MAX;

	if (!p || strncmp(p, "bytes=", 6))
		return SRV_RANGE_FULL;
	p += 6;
	if (*p == '-')
		return srv_range_suffix(p + 1, size, start, len);
	if (!srv_range_number(&p, &first) || *p++ != '-')
		return SRV_RANGE_FULL;
	if (*p && (!srv_range_number(&p, &last) || last < first))
		return SRV_RANGE_FULL;
	if (*p)
		return SRV_RANGE_FULL;
	if (first >= size)
		return SRV_RANGE_UNSATISFIABLE;
	if (last >= size)
		last = size - 1;
	*start = first;
	*len = last - first + 1;
	return SRV_RANGE_PARTIAL;
}

/* The tag at *p without a W/ prefix: its quoted text's span. */
static bool srv_etag_next(const char **p, const char **tag, size_t *tag_len)
{
	const char *s = *p, *close;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return false;
	if (!strncmp(s, "W/", 2))
		s += 2;
	close = *s == '"' ? strchr(s + 1, '"') : NULL;
	if (!close)
		return false;
	*tag = s;
	*tag_len = (size_t)(close - s + 1);
	*p = close + 1;
	return true;
}

bool srv_etag_matches(const char *if_none_match, const char *etag)
{
	const char *p = if_none_match, *tag;
	size_t tag_len;

	if (!p)
		return false;
	if (!strcmp(p, "*"))
		return true;
	while (srv_etag_next(&p, &tag, &tag_len))
		if (tag_len == strlen(etag) && !memcmp(tag, etag, tag_len))
			return true;
	return false;
}

bool srv_if_range_allows(const char *if_range, const char *etag)
{
	return !if_range || !strcmp(if_range, etag);
}
