/*
 * srv_redis: commands to one Redis server (hiredis) over pooled
 * connections, from any thread: each command borrows an idle connection
 * (or opens one) and gives it back. A connection that fails is closed, and
 * the next command opens a new one, so the service reconnects by itself
 * once Redis is back. Losing and regaining Redis is logged once each way.
 * Thread-safe.
 */
#ifndef SRV_REDIS_H
#define SRV_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "server/srv_redis_url.h"

/* Seconds a command may take (beyond its own BLOCK time, kept below it). */
#define SRV_REDIS_TIMEOUT_S 5

typedef struct srv_redis srv_redis;

/* A pool for url (copied); NULL when out of memory. Connects lazily. */
srv_redis *srv_redis_create(const struct srv_redis_url *url);

/* Closes every connection; none may be borrowed. */
void srv_redis_free(srv_redis *r);

/* The argc, argv pair of a command written as its words. */
#define SRV_REDIS_ARGV(...) \
	(int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)), \
	(const char *[]){ __VA_ARGS__ }

/*
 * Runs one command, argc strings argv. *out is the reply
 * (freeReplyObject), never an error reply: -ENOTCONN when Redis cannot be
 * reached (or is loading its data), -EPROTO when it answered an error
 * (logged). A connection that was idle in the pool and turns out broken
 * (Redis restarted) is replaced and the command sent once more, so only
 * commands that may run twice go through here.
 */
int srv_redis_call(srv_redis *r, int argc, const char **argv, redisReply **out);

/*
 * EVAL of script with nkeys keys and nargs arguments, through
 * srv_redis_call (so the script must be safe to run twice).
 */
int srv_redis_eval(srv_redis *r, const char *script, size_t nkeys,
		   const char *const *keys, size_t nargs, const char *const *args,
		   redisReply **out);

/* True when Redis answers PING. */
bool srv_redis_ping(srv_redis *r);

#endif
