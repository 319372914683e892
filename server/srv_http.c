/* srv_http: the daemon, routing and request lifecycle. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <microhttpd.h>

#include "server/srv_api_frames.h"
#include "server/srv_api_jobs.h"
#include "server/srv_api_ops.h"
#include "server/srv_api_submit.h"
#include "server/srv_clock.h"
#include "server/srv_conns.h"
#include "server/srv_http.h"
#include "server/srv_log.h"
#include "server/srv_static.h"

/*
 * Memory MHD gives each connection for headers and body reads. A request
 * line or headers that do not fit get MHD's own 414 or 431 (text/html).
 */
#define SRV_CONNECTION_MEMORY (128 * 1024)

/*
 * Bytes of a request target (path and query) and of the request's headers
 * accepted; past them 414 and 431 as problem+json, well before MHD's limit.
 */
#define SRV_MAX_TARGET  (8 * 1024)
#define SRV_MAX_HEADERS (32 * 1024)

/*
 * Descriptors kept open besides connections: the listening socket, MHD's
 * epoll and wake-up descriptors, the store's files, the media files of
 * running jobs, Redis, the log.
 */
#define SRV_FD_RESERVE 256

/* Status logged for a request whose client left before an answer. */
#define SRV_STATUS_CLIENT_GONE 499

typedef enum MHD_Result (*srv_handler)(struct srv_request *req);

static const srv_handler srv_handlers[SRV_OP_COUNT] = {
	[SRV_OP_CREATE_JOB] = srv_api_submit_begin,
	[SRV_OP_LIST_JOBS] = srv_api_list,
	[SRV_OP_GET_JOB] = srv_api_get,
	[SRV_OP_DELETE_JOB] = srv_api_delete,
	[SRV_OP_GET_OUTPUT] = srv_api_output,
	[SRV_OP_GET_EVENTS] = srv_api_events,
	[SRV_OP_GET_ATTENTION] = srv_api_attention,
	[SRV_OP_GET_FRAME] = srv_api_frame,
	[SRV_OP_CANCEL_JOB] = srv_api_cancel,
	[SRV_OP_HEALTHZ] = srv_api_healthz,
	[SRV_OP_READYZ] = srv_api_readyz,
	[SRV_OP_METRICS] = srv_api_metrics,
	[SRV_OP_OPENAPI] = srv_api_openapi,
	[SRV_OP_STUDIO] = srv_static_index,
	[SRV_OP_STUDIO_FILE] = srv_static_file,
};

static enum MHD_Result srv_http_not_allowed(struct srv_request *req)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "this path accepts %s", req->match.allow);
	return srv_reply_problem_with(req, 405, "method-not-allowed", "Method not allowed",
				      detail, MHD_HTTP_HEADER_ALLOW, req->match.allow);
}

static enum MHD_Result srv_http_unauthorized(struct srv_request *req)
{
	return srv_reply_problem_with(req, 401, "unauthorized", "Authentication required",
				      "send Authorization: Bearer <API key>",
				      MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				      "Bearer realm=\"maskattn\"");
}

static enum MHD_Result srv_http_add_size(void *cls, enum MHD_ValueKind kind,
					 const char *key, const char *value)
{
	size_t *total = cls;

	(void)kind;
	*total += strlen(key) + (value ? strlen(value) : 0) + 2;
	return MHD_YES;
}

/* Bytes of conn's values of kind, with a separator each for name and value. */
static size_t srv_http_values_size(struct MHD_Connection *conn, enum MHD_ValueKind kind)
{
	size_t total = 0;

	MHD_get_connection_values(conn, kind, srv_http_add_size, &total);
	return total;
}

/* Answers 414 or 431 (into *ret) when the request is too large to take. */
static bool srv_http_oversized(struct srv_request *req, const char *url,
			       enum MHD_Result *ret)
{
	char detail[96];

	if (strlen(url) + srv_http_values_size(req->conn, MHD_GET_ARGUMENT_KIND) >
	    SRV_MAX_TARGET) {
		snprintf(detail, sizeof(detail), "the path and query may have %d bytes "
			 "at most", SRV_MAX_TARGET);
		*ret = srv_reply_problem(req, 414, "uri-too-long", "URI too long", detail);
		return true;
	}
	if (srv_http_values_size(req->conn, MHD_HEADER_KIND) > SRV_MAX_HEADERS) {
		snprintf(detail, sizeof(detail), "the request headers may have %d bytes "
			 "at most", SRV_MAX_HEADERS);
		*ret = srv_reply_problem(req, 431, "headers-too-large",
					 "Request headers too large", detail);
		return true;
	}
	return false;
}

/* Answers a request: route, authenticate, hand to its handler. */
static enum MHD_Result srv_http_answer(struct srv_request *req, const char *url)
{
	const char *auth = srv_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	if (req->match.op == SRV_OP_NOT_FOUND)
		return srv_reply_problem(req, 404, "not-found", "No such route",
					 "see /openapi.yaml for the routes");
	if (req->match.op == SRV_OP_BAD_METHOD)
		return srv_http_not_allowed(req);
	if (srv_route_is_v1(url) &&
	    srv_auth_check(req->svc->auth, auth, req->owner) < 0)
		return srv_http_unauthorized(req);
	return srv_handlers[req->match.op](req);
}

/*
 * MHD calls this once with the headers, then for each piece of the body,
 * then once more at its end. An answer queued before the request is
 * whole closes the connection, so requests are answered at the end,
 * except uploads rejected from their headers (which should not be read).
 */
static enum MHD_Result srv_http_access(void *cls, struct MHD_Connection *conn,
				       const char *url, const char *method,
				       const char *version, const char *upload_data,
				       size_t *upload_data_size, void **con_cls)
{
	struct srv_request *req = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (!req) {
		srv_conns_request(conn);
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->svc = cls;
		req->conn = conn;
		req->method = method;
		req->start_ns = srv_mono_ns();
		*con_cls = req;
		srv_route_match(method, url, &req->match);
		if (srv_http_oversized(req, url, &ret))
			return ret;
		if (req->match.op == SRV_OP_CREATE_JOB)
			return srv_http_answer(req, url);
		return MHD_YES;
	}
	if (*upload_data_size)
		srv_conns_body(conn, *upload_data_size);
	else
		srv_conns_answering(conn);
	if (req->upload)
		return srv_api_submit_body(req, upload_data, upload_data_size);
	if (req->status)
		return MHD_NO;
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return srv_http_answer(req, url);
}

static void srv_http_completed(void *cls, struct MHD_Connection *conn,
			       void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct srv_request *req = *con_cls;
	srv_service *svc = cls;
	double seconds;
	int status;

	(void)toe;
	srv_conns_idle(conn);
	if (!req)
		return;
	seconds = (double)(srv_mono_ns() - req->start_ns) / SRV_NS_PER_S;
	status = req->status ? req->status : SRV_STATUS_CLIENT_GONE;
	srv_metrics_request(svc->metrics, req->match.op, status, seconds);
	srv_log_request(req->method, req->match.route, status, seconds,
			req->bytes_in, req->bytes_out);
	srv_api_submit_end(req);
	free(req);
	*con_cls = NULL;
}

/*
 * MHD decodes %XX in the path before routing. An encoded NUL would end the
 * path early ("/v1/jobs/ID%00/x" acting as "/v1/jobs/ID") and an encoded
 * slash would split it ("ID%2Foutput" acting as "ID/output"), unlike what
 * proxies and logs in front see. Text with either is left undecoded, so it
 * matches no route. Query values pass here too; none of ours holds them.
 */
static size_t srv_http_unescape(void *cls, struct MHD_Connection *conn, char *text)
{
	(void)cls;
	(void)conn;
	if (strstr(text, "%00") || strcasestr(text, "%2f"))
		return strlen(text);
	return MHD_http_unescape(text);
}

/*
 * Raises the soft limit of open files, up to the hard one, so that
 * max_connections sockets fit besides SRV_FD_RESERVE other descriptors.
 * Returns the connections that fit.
 */
static unsigned srv_http_fd_limit(int max_connections)
{
	rlim_t want = (rlim_t)max_connections + SRV_FD_RESERVE;
	struct rlimit lim;
	rlim_t was, fit;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= want)
		return (unsigned)max_connections;
	was = lim.rlim_cur;
	if (lim.rlim_max > was) {
		lim.rlim_cur = lim.rlim_max < want ? lim.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
			lim.rlim_cur = was;
		else
			srv_log(SRV_LOG_INFO, "open files", "soft limit raised from %ju "
				"to %ju for %d connections", (uintmax_t)was,
				(uintmax_t)lim.rlim_cur, max_connections);
	}
	if (lim.rlim_cur >= want)
		return (unsigned)max_connections;
	fit = lim.rlim_cur > 2 * SRV_FD_RESERVE ? lim.rlim_cur - SRV_FD_RESERVE :
	      lim.rlim_cur / 2;
	srv_log(SRV_LOG_WARN, "open files", "the limit (hard %ju) holds %ju "
		"connections, not --max-connections %d: raise it (ulimit -Hn, "
		"LimitNOFILE=, --ulimit nofile=)", (uintmax_t)lim.rlim_max,
		(uintmax_t)fit, max_connections);
	return (unsigned)fit;
}

int srv_http_start(srv_service *svc, char *err, size_t errlen)
{
	const struct srv_config *cfg = svc->cfg;
	/* The per-address limit only when set: MHD takes no option as no limit. */
	struct MHD_OptionItem per_ip[] = {
		{ cfg->max_connections_per_ip ? MHD_OPTION_PER_IP_CONNECTION_LIMIT :
		  MHD_OPTION_END, cfg->max_connections_per_ip, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned limit = srv_http_fd_limit(cfg->max_connections);
	int ret;

	ret = srv_conns_create(cfg->timeout, &svc->conns);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the connection timer: %s",
			 strerror(-ret));
		return ret;
	}
	svc->daemon = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO |
		MHD_ALLOW_SUSPEND_RESUME, (uint16_t)cfg->port,
		NULL, NULL, srv_http_access, svc,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, srv_http_completed, svc,
		MHD_OPTION_NOTIFY_CONNECTION, srv_conns_notify, svc->conns,
		MHD_OPTION_UNESCAPE_CALLBACK, srv_http_unescape, NULL,
		MHD_OPTION_ARRAY, per_ip,
		MHD_OPTION_END);
	if (!svc->daemon) {
		snprintf(err, errlen, "cannot listen on port %d; choose another "
			 "with --port or MASKATTN_PORT", cfg->port);
		return -EADDRINUSE;
	}
	return 0;
}

void srv_http_stop(srv_service *svc)
{
	if (svc->daemon)
		MHD_stop_daemon(svc->daemon);
	svc->daemon = NULL;
	srv_conns_free(svc->conns);
	svc->conns = NULL;
}

int srv_http_port(const srv_service *svc)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(svc->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : -1;
}
