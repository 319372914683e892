/* srv_log: JSON lines on stderr. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <cJSON.h>

#include "server/srv_clock.h"
#include "server/srv_log.h"

static atomic_int srv_log_level = SRV_LOG_INFO;

void srv_log_set_level(enum srv_log_level level)
{
	atomic_store(&srv_log_level, (int)level);
}

bool srv_log_enabled(enum srv_log_level level)
{
	return (int)level >= atomic_load(&srv_log_level);
}

/* Prints the line; a line that cannot be built is dropped. */
static void srv_log_write(cJSON *line)
{
	char *text = cJSON_PrintUnformatted(line);

	if (text) {
		fprintf(stderr, "%s\n", text);
		free(text);
	}
}

void srv_log_fields(enum srv_log_level level, const char *msg, cJSON *fields)
{
	char ts[SRV_RFC3339_LEN];
	cJSON *line, *item;

	if (!srv_log_enabled(level))
		goto delete_fields;
	line = cJSON_CreateObject();
	if (!line)
		goto delete_fields;
	srv_rfc3339(srv_now_ns(), ts);
	cJSON_AddStringToObject(line, "ts", ts);
	cJSON_AddStringToObject(line, "level", srv_log_level_name(level));
	cJSON_AddStringToObject(line, "msg", msg);
	while (fields && fields->child) {
		item = cJSON_DetachItemViaPointer(fields, fields->child);
		cJSON_AddItemToObject(line, item->string, item);
	}
	srv_log_write(line);
	cJSON_Delete(line);
delete_fields:
	cJSON_Delete(fields);
}

void srv_log(enum srv_log_level level, const char *msg, const char *fmt, ...)
{
	char detail[512];
	cJSON *fields;
	va_list ap;

	if (!srv_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	fields = cJSON_CreateObject();
	if (fields)
		cJSON_AddStringToObject(fields, "detail", detail);
	srv_log_fields(level, msg, fields);
}

void srv_log_request(const char *method, const char *route, int status,
		     double seconds, uint64_t bytes_in, uint64_t bytes_out)
{
	cJSON *fields;

	if (!srv_log_enabled(SRV_LOG_INFO))
		return;
	fields = cJSON_CreateObject();
	if (!fields)
		return;
	cJSON_AddStringToObject(fields, "method", method);
	cJSON_AddStringToObject(fields, "route", route);
	cJSON_AddNumberToObject(fields, "status", status);
	cJSON_AddNumberToObject(fields, "duration_ms", seconds * 1e3);
	cJSON_AddNumberToObject(fields, "bytes_in", (double)bytes_in);
	cJSON_AddNumberToObject(fields, "bytes_out", (double)bytes_out);
	srv_log_fields(SRV_LOG_INFO, "request", fields);
}

void srv_log_job(const char *id, const char *status, const char *detail)
{
	cJSON *fields = cJSON_CreateObject();

	if (!fields)
		return;
	cJSON_AddStringToObject(fields, "job", id);
	cJSON_AddStringToObject(fields, "status", status);
	if (detail)
		cJSON_AddStringToObject(fields, "detail", detail);
	srv_log_fields(SRV_LOG_INFO, "job", fields);
}
