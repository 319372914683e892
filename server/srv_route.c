/* srv_route: a table of paths, each with its methods. */
#include <stdlib.h>
#include <string.h>

#include "server/srv_route.h"

#define SRV_JOBS_PREFIX "/v1/jobs/"
#define SRV_STUDIO_PREFIX "/studio/"

enum srv_path {
	SRV_PATH_JOBS,
	SRV_PATH_JOB,
	SRV_PATH_OUTPUT,
	SRV_PATH_CANCEL,
	SRV_PATH_EVENTS,
	SRV_PATH_ATTENTION,
	SRV_PATH_FRAME,
	SRV_PATH_HEALTHZ,
	SRV_PATH_READYZ,
	SRV_PATH_METRICS,
	SRV_PATH_OPENAPI,
	SRV_PATH_STUDIO,
	SRV_PATH_STUDIO_FILE,
	SRV_PATH_NONE,
};

struct srv_method_op {
	const char *method;
	enum srv_op op;
};

struct srv_path_def {
	const char *route;              /* template */
	const char *allow;
	struct srv_method_op ops[2];    /* unused entries have a NULL method */
};

static const struct srv_path_def srv_paths[] = {
	[SRV_PATH_JOBS] = { "/v1/jobs", "GET, HEAD, POST",
		{ { "GET", SRV_OP_LIST_JOBS }, { "POST", SRV_OP_CREATE_JOB } } },
	[SRV_PATH_JOB] = { "/v1/jobs/{id}", "GET, HEAD, DELETE",
		{ { "GET", SRV_OP_GET_JOB }, { "DELETE", SRV_OP_DELETE_JOB } } },
	[SRV_PATH_OUTPUT] = { "/v1/jobs/{id}/output", "GET, HEAD",
		{ { "GET", SRV_OP_GET_OUTPUT } } },
	[SRV_PATH_CANCEL] = { "/v1/jobs/{id}/cancel", "POST",
		{ { "POST", SRV_OP_CANCEL_JOB } } },
	[SRV_PATH_EVENTS] = { "/v1/jobs/{id}/events", "GET, HEAD",
		{ { "GET", SRV_OP_GET_EVENTS } } },
	[SRV_PATH_ATTENTION] = { "/v1/jobs/{id}/attention", "GET, HEAD",
		{ { "GET", SRV_OP_GET_ATTENTION } } },
	[SRV_PATH_FRAME] = { "/v1/jobs/{id}/frames/{n}.png", "GET, HEAD",
		{ { "GET", SRV_OP_GET_FRAME } } },
	[SRV_PATH_HEALTHZ] = { "/healthz", "GET, HEAD",
		{ { "GET", SRV_OP_HEALTHZ } } },
	[SRV_PATH_READYZ] = { "/readyz", "GET, HEAD",
		{ { "GET", SRV_OP_READYZ } } },
	[SRV_PATH_METRICS] = { "/metrics", "GET, HEAD",
		{ { "GET", SRV_OP_METRICS } } },
	[SRV_PATH_OPENAPI] = { "/openapi.yaml", "GET, HEAD",
		{ { "GET", SRV_OP_OPENAPI } } },
	[SRV_PATH_STUDIO] = { "/", "GET, HEAD",
		{ { "GET", SRV_OP_STUDIO } } },
	[SRV_PATH_STUDIO_FILE] = { "/studio/{file}", "GET, HEAD",
		{ { "GET", SRV_OP_STUDIO_FILE } } },
};

#define SRV_N_PATHS (sizeof(srv_paths) / sizeof(srv_paths[0]))

/* Most digits of a frame number (below 10^18, so it fits an int64_t). */
#define SRV_FRAME_DIGITS 18

/* "/frames/{n}.png": n in decimal, without leading zeros. */
static bool srv_route_is_frame(const char *tail)
{
	const char *n;
	size_t digits;

	if (strncmp(tail, "/frames/", strlen("/frames/")))
		return false;
	n = tail + strlen("/frames/");
	digits = strspn(n, "0123456789");
	return digits && digits <= SRV_FRAME_DIGITS && (n[0] != '0' || digits == 1) &&
	       !strcmp(n + digits, ".png");
}

/* "{id}", or "{id}/" and output, cancel, events, attention, frames/{n}.png, after /v1/jobs/. */
static enum srv_path srv_route_job_path(const char *rest, char *id)
{
	const char *tail = rest + SRV_ID_LEN;

	if (strlen(rest) < SRV_ID_LEN)
		return SRV_PATH_NONE;
	memcpy(id, rest, SRV_ID_LEN);
	id[SRV_ID_LEN] = '\0';
	if (!srv_id_valid(id))
		return SRV_PATH_NONE;
	if (!*tail)
		return SRV_PATH_JOB;
	if (!strcmp(tail, "/output"))
		return SRV_PATH_OUTPUT;
	if (!strcmp(tail, "/cancel"))
		return SRV_PATH_CANCEL;
	if (!strcmp(tail, "/events"))
		return SRV_PATH_EVENTS;
	if (!strcmp(tail, "/attention"))
		return SRV_PATH_ATTENTION;
	if (srv_route_is_frame(tail))
		return SRV_PATH_FRAME;
	return SRV_PATH_NONE;
}

/* The {file} after /studio/: copied when it fits, else "" (no such file). */
static enum srv_path srv_route_studio_path(const char *rest, char *file)
{
	size_t len = strlen(rest);

	if (len < SRV_STUDIO_NAME_MAX)
		memcpy(file, rest, len + 1);
	return SRV_PATH_STUDIO_FILE;
}

static enum srv_path srv_route_path(const char *path, struct srv_match *m)
{
	size_t i;

	if (!strncmp(path, SRV_JOBS_PREFIX, strlen(SRV_JOBS_PREFIX)))
		return srv_route_job_path(path + strlen(SRV_JOBS_PREFIX), m->id);
	if (!strncmp(path, SRV_STUDIO_PREFIX, strlen(SRV_STUDIO_PREFIX)))
		return srv_route_studio_path(path + strlen(SRV_STUDIO_PREFIX), m->file);
	for (i = 0; i < SRV_N_PATHS; i++)
		if (!strchr(srv_paths[i].route, '{') &&
		    !strcmp(srv_paths[i].route, path))
			return (enum srv_path)i;
	return SRV_PATH_NONE;
}

void srv_route_match(const char *method, const char *path, struct srv_match *m)
{
	const struct srv_path_def *def;
	enum srv_path p;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!strcmp(method, "HEAD"))
		method = "GET";
	p = srv_route_path(path, m);
	if (p == SRV_PATH_NONE) {
		m->op = SRV_OP_NOT_FOUND;
		m->id[0] = '\0';
		m->route = "unmatched";
		return;
	}
	if (p == SRV_PATH_FRAME)
		m->frame = strtoll(strrchr(path, '/') + 1, NULL, 10);
	def = &srv_paths[p];
	m->allow = def->allow;
	m->route = def->route;
	m->op = SRV_OP_BAD_METHOD;
	for (i = 0; i < 2 && def->ops[i].method; i++)
		if (!strcmp(def->ops[i].method, method))
			m->op = def->ops[i].op;
}

bool srv_route_is_v1(const char *path)
{
	return !strncmp(path, "/v1/", 4) || !strcmp(path, "/v1");
}

/* The path and method that make op. */
static const struct srv_method_op *srv_op_find(enum srv_op op, const char **route)
{
	size_t i, j;

	for (i = 0; i < SRV_N_PATHS; i++) {
		for (j = 0; j < 2 && srv_paths[i].ops[j].method; j++) {
			if (srv_paths[i].ops[j].op == op) {
				*route = srv_paths[i].route;
				return &srv_paths[i].ops[j];
			}
		}
	}
	return NULL;
}

const char *srv_op_method(enum srv_op op)
{
	const char *route;
	const struct srv_method_op *mo = srv_op_find(op, &route);

	return mo ? mo->method : "any";
}

const char *srv_op_route(enum srv_op op)
{
	const char *route = op == SRV_OP_NOT_FOUND ? "unmatched" : "any";

	srv_op_find(op, &route);
	return route;
}
