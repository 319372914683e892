/*
 * srv_route: which operation a method and path name. Pure.
 *
 * An operation has a route template ("/v1/jobs/{id}") used in logs and
 * metrics labels, so that ids do not multiply the series. HEAD is served
 * as GET.
 */
#ifndef SRV_ROUTE_H
#define SRV_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/srv_id.h"

/* Bytes of a studio file name, with its NUL. */
#define SRV_STUDIO_NAME_MAX 64

enum srv_op {
	SRV_OP_CREATE_JOB,
	SRV_OP_LIST_JOBS,
	SRV_OP_GET_JOB,
	SRV_OP_DELETE_JOB,
	SRV_OP_GET_OUTPUT,
	SRV_OP_CANCEL_JOB,
	SRV_OP_GET_EVENTS,      /* GET /v1/jobs/{id}/events: Server-Sent Events */
	SRV_OP_GET_ATTENTION,   /* GET /v1/jobs/{id}/attention: the heatmap video */
	SRV_OP_GET_FRAME,       /* GET /v1/jobs/{id}/frames/{n}.png */
	SRV_OP_HEALTHZ,
	SRV_OP_READYZ,
	SRV_OP_METRICS,
	SRV_OP_OPENAPI,
	SRV_OP_STUDIO,          /* GET /: the studio's page */
	SRV_OP_STUDIO_FILE,     /* GET /studio/{file} */
	SRV_OP_NOT_FOUND,       /* no such path (or a malformed job id) */
	SRV_OP_BAD_METHOD,      /* the path exists, not with this method */
	SRV_OP_COUNT,
};

struct srv_match {
	enum srv_op op;
	char id[SRV_ID_LEN + 1];        /* the {id} of job routes, else "" */
	int64_t frame;                  /* the {n} of the frame route, else 0 */
	char file[SRV_STUDIO_NAME_MAX]; /* the {file} of /studio/ ("" when longer) */
	const char *allow;              /* methods of the path, for 405's Allow */
	const char *route;              /* route template, "unmatched" for 404 */
};

/* Matches method and path (without the query string). */
void srv_route_match(const char *method, const char *path, struct srv_match *m);

/* True for operations under /v1, which need authentication. */
bool srv_route_is_v1(const char *path);

/* The method and route template of op, for metrics labels. */
const char *srv_op_method(enum srv_op op);
const char *srv_op_route(enum srv_op op);

#endif
