/*
 * srv_reply: one HTTP request as the handlers see it, and the answers
 * they give: JSON documents, problem+json errors (RFC 9457), files.
 */
#ifndef SRV_REPLY_H
#define SRV_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "api/api_errors.h"
#include "server/srv_route.h"
#include "server/srv_service.h"
#include "server/srv_upload.h"

struct srv_request {
	srv_service *svc;               /* borrowed */
	struct MHD_Connection *conn;    /* borrowed */
	const char *method;             /* borrowed from MHD */
	struct srv_match match;
	char owner[SRV_HASH_LEN + 1];   /* caller's key hash, "" without auth */
	int64_t start_ns;               /* CLOCK_MONOTONIC */
	int status;                     /* answered with, 0 until then */
	uint64_t bytes_in;              /* body bytes received */
	uint64_t bytes_out;             /* body bytes of the answer */
	srv_upload *upload;             /* owned, POST /v1/jobs only */
	char job_id[SRV_ID_LEN + 1];    /* the job an upload makes */
	bool reserved;                  /* holds a place in the queue */
};

/* A request header, or NULL. */
const char *srv_request_header(const struct srv_request *req, const char *name);

/* A query string argument, or NULL. */
const char *srv_request_arg(const struct srv_request *req, const char *name);

/*
 * A response whose body is text (taken: freed by MHD), with Content-Type
 * ctype; its size is recorded in req for the log. NULL when out of memory
 * (text is then freed).
 */
struct MHD_Response *srv_response_text(struct srv_request *req, char *text,
				       const char *ctype);

/*
 * Queues resp (which it destroys) with status and an X-Served-By header
 * naming this replica; a NULL resp answers 500.
 */
enum MHD_Result srv_reply(struct srv_request *req, int status,
			  struct MHD_Response *resp);

/* Answers a problem without errors array. */
enum MHD_Result srv_reply_problem(struct srv_request *req, int status,
				  const char *slug, const char *title,
				  const char *detail);

/* Answers a problem with one more header (Retry-After, Allow, ...; NULL: none). */
enum MHD_Result srv_reply_problem_with(struct srv_request *req, int status,
				       const char *slug, const char *title,
				       const char *detail, const char *header,
				       const char *value);

/* Answers a problem whose errors array lists errs (which it frees). */
enum MHD_Result srv_reply_errors(struct srv_request *req, int status,
				 const char *slug, const char *title,
				 api_errors *errs);

/*
 * Answers a backend failure err: 503 with Retry-After while the backend
 * cannot be reached (-ENOTCONN), else 500 naming the error.
 */
enum MHD_Result srv_reply_unavailable(struct srv_request *req, int err);

/* Answers JSON text (taken) with status. */
enum MHD_Result srv_reply_json(struct srv_request *req, int status, char *text);

/* Answers the job document of job (a copy the caller owns). */
enum MHD_Result srv_reply_job(struct srv_request *req, int status,
			      const srv_job *job);

#endif
