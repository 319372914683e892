/*
 * srv_redis_job: a job's record as the fields of a Redis hash. Pure.
 *
 * The record holds every stored field of srv_job (times in microseconds,
 * as state files do); an empty value stands for none (no error, no final
 * metrics, no Idempotency-Key), so writing a record whole replaces every
 * field. The backend keeps fields of its own beside them (attempt, runs,
 * runner, done_by, cancel), which decoding ignores.
 */
#ifndef SRV_REDIS_JOB_H
#define SRV_REDIS_JOB_H

#include <stddef.h>

#include "server/srv_job.h"

#define SRV_REDIS_JOB_FIELDS 17

/* Numbers in a record, as text. */
#define SRV_REDIS_NUMBERS 10
#define SRV_REDIS_NUMBER_LEN 32

/* A record as HSET arguments: field, value, field, value, ... */
struct srv_redis_record {
	const char *argv[2 * SRV_REDIS_JOB_FIELDS];
	size_t argc;
	char numbers[SRV_REDIS_NUMBERS][SRV_REDIS_NUMBER_LEN];
	char *inputs;           /* owned: the inputs' JSON */
};

/* job's record into rec (release it after use). 0 or -ENOMEM. */
int srv_redis_job_encode(const srv_job *job, struct srv_redis_record *rec);

void srv_redis_job_release(struct srv_redis_record *rec);

/*
 * The job of a record given as n strings, field, value, field, value...
 * (what HGETALL answers). *out is owned by the caller. -EINVAL with a
 * message in err when a field is missing or wrong, -ENOMEM.
 */
int srv_redis_job_decode(const char *const *argv, size_t n, srv_job **out,
			 char *err, size_t errlen);

#endif
