/*
 * srv_range: the conditional and partial request headers of a download
 * (RFC 9110): Range with one byte range, If-None-Match, If-Range.
 */
#ifndef SRV_RANGE_H
#define SRV_RANGE_H

#include <stdbool.h>
#include <stdint.h>

enum srv_range_kind {
	SRV_RANGE_FULL,                 /* no usable Range: send it all (200) */
	SRV_RANGE_PARTIAL,              /* one satisfiable range (206) */
	SRV_RANGE_UNSATISFIABLE,        /* 416 */
};

/*
 * Reads a Range header (NULL when absent) against a body of size bytes.
 * PARTIAL sets *start and *len. Headers that are not one well-formed byte
 * range (other units, several ranges, bad syntax) give FULL, as RFC 9110
 * allows a server to ignore them.
 */
enum srv_range_kind srv_range_parse(const char *header, uint64_t size,
				    uint64_t *start, uint64_t *len);

/*
 * True when an If-None-Match header (a list of entity tags, or "*")
 * matches etag by weak comparison: the body need not be sent again.
 */
bool srv_etag_matches(const char *if_none_match, const char *etag);

/*
 * True when a Range may be honoured given If-Range (NULL when absent):
 * it must be etag itself (strong comparison); a date is not accepted.
 */
bool srv_if_range_allows(const char *if_range, const char *etag);

#endif
