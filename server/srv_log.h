/*
 * srv_log: structured logs, one JSON object per line on stderr: "ts"
 * (RFC 3339), "level", "msg", then the event's own fields. Lines below the
 * level set are dropped. Safe from any thread.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "server/srv_config.h"

struct cJSON;

void srv_log_set_level(enum srv_log_level level);

/* True when lines at level are written. */
bool srv_log_enabled(enum srv_log_level level);

/*
 * Writes one line: msg and the members of fields (a JSON object, may be
 * NULL), which the call deletes.
 */
void srv_log_fields(enum srv_log_level level, const char *msg,
		    struct cJSON *fields);

/* Writes one line whose "detail" is printf-style text. */
void srv_log(enum srv_log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One request: method, route, status, duration, bytes in and out. */
void srv_log_request(const char *method, const char *route, int status,
		     double seconds, uint64_t bytes_in, uint64_t bytes_out);

/* One job transition: the job id and the status it enters. */
void srv_log_job(const char *id, const char *status, const char *detail);

#endif
