/*
 * srv_redis_keys: the names of what the Redis backend keeps. Pure.
 *
 *   maskattn:job:<id>               hash: the job's record (srv_redis_job)
 *   maskattn:status:<status>        set: ids of the jobs in that status
 *   maskattn:queue                  stream: one entry {job: <id>} per run
 *                                   waiting, read by the group "workers"
 *   maskattn:finished               sorted set: finished ids by finished_us
 *   maskattn:owner:<owner>          sorted set: the owner's list cursors
 *                                   (srv_job_cursor), all scored 0, read
 *                                   newest first by lexical range
 *   maskattn:idem:<owner>:<key>     string "<job id> <body sha256>"
 *
 * <owner> is the API key's hash, or "-" without authentication.
 */
#ifndef SRV_REDIS_KEYS_H
#define SRV_REDIS_KEYS_H

#include <stddef.h>

#include "server/srv_hash.h"
#include "server/srv_job.h"

#define SRV_REDIS_PREFIX   "maskattn:"
#define SRV_REDIS_QUEUE    SRV_REDIS_PREFIX "queue"
#define SRV_REDIS_FINISHED SRV_REDIS_PREFIX "finished"
#define SRV_REDIS_GROUP    "workers"

/* Longest Idempotency-Key. */
#define SRV_REDIS_IDEM_KEY_MAX 255

/* Room for any key name but idempotency keys, with its NUL. */
#define SRV_REDIS_KEY_LEN 96
#define SRV_REDIS_IDEM_LEN (SRV_REDIS_KEY_LEN + SRV_REDIS_IDEM_KEY_MAX)

/*
 * The keys the job scripts take, KEYS[1] to KEYS[SRV_RKEY_COUNT] in this
 * order: the status sets first, in the order of enum srv_status.
 */
enum srv_rkey {
	SRV_RKEY_JOB = SRV_STATUS_COUNT,
	SRV_RKEY_QUEUE,
	SRV_RKEY_FINISHED,
	SRV_RKEY_OWNER,
	SRV_RKEY_IDEM,
	SRV_RKEY_COUNT,
};

/*
 * The start of every job script: names for those keys, and move(id, from,
 * to), which moves id between the status sets named from and to.
 */
#define SRV_REDIS_LUA_KEYS \
	"local S = {queued = 1, running = 2, succeeded = 3, failed = 4, canceled = 5}\n" \
	"local JOB, QUEUE, FINISHED, OWNER, IDEM = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]\n" \
	"local function move(id, from, to)\n" \
	"  redis.call('SREM', KEYS[S[from]], id)\n" \
	"  redis.call('SADD', KEYS[S[to]], id)\n" \
	"end\n"

struct srv_redis_keys {
	char status[SRV_STATUS_COUNT][SRV_REDIS_KEY_LEN];
	char job[SRV_REDIS_KEY_LEN];
	char owner[SRV_REDIS_KEY_LEN];
	char idem[SRV_REDIS_IDEM_LEN];
	const char *argv[SRV_RKEY_COUNT];       /* the names, in order */
	size_t n;               /* SRV_RKEY_COUNT, or one less without idem */
};

/*
 * The keys of job id of owner ("" without auth), with its Idempotency-Key
 * idem_key (NULL when none). -EINVAL when idem_key is too long.
 */
int srv_redis_keys_job(struct srv_redis_keys *k, const char *id,
		       const char *owner, const char *idem_key);

/* maskattn:idem:<owner>:<key> in buf. -EINVAL when key is too long. */
int srv_redis_key_idem(const char *owner, const char *key,
		       char buf[SRV_REDIS_IDEM_LEN]);

/* maskattn:owner:<owner> in buf. */
void srv_redis_key_owner(const char *owner, char buf[SRV_REDIS_KEY_LEN]);

/* maskattn:job:<id> in buf. */
void srv_redis_key_job(const char *id, char buf[SRV_REDIS_KEY_LEN]);

/* maskattn:status:<status> in buf. */
void srv_redis_key_status(enum srv_status status, char buf[SRV_REDIS_KEY_LEN]);

#endif
