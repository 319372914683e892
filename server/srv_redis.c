/* srv_redis: a stack of idle hiredis contexts under a mutex. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server/srv_log.h"
#include "server/srv_redis.h"

/* Idle connections kept; more are closed when given back. */
#define SRV_REDIS_IDLE_MAX 32

/* Seconds connecting may take. */
#define SRV_REDIS_CONNECT_S 1

struct srv_redis {
	struct srv_redis_url url;
	char where[320];                /* url for logs */
	pthread_mutex_t lock;
	redisContext *idle[SRV_REDIS_IDLE_MAX];
	size_t n_idle;
	atomic_bool down;               /* the last attempt failed */
};

/* Logs the first failure after success, and the first success after it. */
static void srv_redis_health(srv_redis *r, bool ok, const char *why)
{
	if (!ok && !atomic_exchange(&r->down, true))
		srv_log(SRV_LOG_WARN, "redis unreachable", "%s: %s; jobs are not "
			"taken, /readyz answers 503 until it is back", r->where, why);
	else if (ok && atomic_exchange(&r->down, false))
		srv_log(SRV_LOG_INFO, "redis reachable", "%s", r->where);
}

srv_redis *srv_redis_create(const struct srv_redis_url *url)
{
	srv_redis *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->url = *url;
	srv_redis_url_describe(url, r->where, sizeof(r->where));
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->down, false);
	return r;
}

void srv_redis_free(srv_redis *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_idle; i++)
		redisFree(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	explicit_bzero(r->url.password, sizeof(r->url.password));
	free(r);
}

/* Runs one command on c (see srv_redis_call). */
static int srv_redis_run(srv_redis *r, redisContext *c, int argc, const char **argv,
			 redisReply **out)
{
	redisReply *reply = redisCommandArgv(c, argc, argv, NULL);

	if (!reply) {
		srv_redis_health(r, false, c->errstr);
		return -ENOTCONN;
	}
	if (reply->type == REDIS_REPLY_ERROR && !strncmp(reply->str, "LOADING", 7)) {
		srv_redis_health(r, false, reply->str);
		freeReplyObject(reply);
		return -ENOTCONN;
	}
	srv_redis_health(r, true, NULL);
	if (reply->type == REDIS_REPLY_ERROR) {
		srv_log(SRV_LOG_ERROR, "redis error", "%s: %.*s", argv[0],
			(int)reply->len, reply->str);
		freeReplyObject(reply);
		return -EPROTO;
	}
	*out = reply;
	return 0;
}

/* Runs a command whose reply is not needed. */
static int srv_redis_do(srv_redis *r, redisContext *c, int argc, const char **argv)
{
	redisReply *reply;
	int ret = srv_redis_run(r, c, argc, argv, &reply);

	if (!ret)
		freeReplyObject(reply);
	return ret;
}

/* Sends AUTH (when there is a password) and SELECT on a new connection. */
static int srv_redis_hello(srv_redis *r, redisContext *c)
{
	const char *auth[] = { "AUTH", r->url.user, r->url.password };
	const char *select[] = { "SELECT", NULL };
	char db[16];
	int ret = 0;

	if (!*r->url.user)
		auth[1] = r->url.password;
	if (*r->url.password)
		ret = srv_redis_do(r, c, *r->url.user ? 3 : 2, auth);
	snprintf(db, sizeof(db), "%d", r->url.db);
	select[1] = db;
	if (!ret && r->url.db)
		ret = srv_redis_do(r, c, 2, select);
	return ret;
}

/* Opens a connection. */
static int srv_redis_connect(srv_redis *r, redisContext **out)
{
	struct timeval connect = { SRV_REDIS_CONNECT_S, 0 };
	struct timeval timeout = { SRV_REDIS_TIMEOUT_S, 0 };
	redisContext *c;
	int ret;

	c = *r->url.path ? redisConnectUnixWithTimeout(r->url.path, connect) :
			   redisConnectWithTimeout(r->url.host, r->url.port, connect);
	if (!c)
		return -ENOMEM;
	if (c->err) {
		srv_redis_health(r, false, c->errstr);
		redisFree(c);
		return -ENOTCONN;
	}
	redisSetTimeout(c, timeout);
	redisEnableKeepAlive(c);
	ret = srv_redis_hello(r, c);
	if (ret < 0) {
		redisFree(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* An idle connection, or NULL. */
static redisContext *srv_redis_idle(srv_redis *r)
{
	redisContext *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->n_idle)
		c = r->idle[--r->n_idle];
	pthread_mutex_unlock(&r->lock);
	return c;
}

/* Gives c back to the pool, or closes it when it failed or the pool is full. */
static void srv_redis_put(srv_redis *r, redisContext *c)
{
	bool kept = false;

	if (!c->err) {
		pthread_mutex_lock(&r->lock);
		if (r->n_idle < SRV_REDIS_IDLE_MAX) {
			r->idle[r->n_idle++] = c;
			kept = true;
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (!kept)
		redisFree(c);
}

int srv_redis_call(srv_redis *r, int argc, const char **argv, redisReply **out)
{
	redisContext *c = srv_redis_idle(r);
	bool pooled = c != NULL;
	int ret;

	if (!c && (ret = srv_redis_connect(r, &c)) < 0)
		return ret;
	ret = srv_redis_run(r, c, argc, argv, out);
	srv_redis_put(r, c);
	if (ret != -ENOTCONN || !pooled)
		return ret;
	ret = srv_redis_connect(r, &c);
	if (ret < 0)
		return ret;
	ret = srv_redis_run(r, c, argc, argv, out);
	srv_redis_put(r, c);
	return ret;
}

/* Most arguments an EVAL takes here. */
#define SRV_REDIS_EVAL_MAX 64

int srv_redis_eval(srv_redis *r, const char *script, size_t nkeys,
		   const char *const *keys, size_t nargs, const char *const *args,
		   redisReply **out)
{
	const char *argv[SRV_REDIS_EVAL_MAX];
	char count[16];
	size_t i, n = 0;

	if (3 + nkeys + nargs > SRV_REDIS_EVAL_MAX)
		return -E2BIG;
	snprintf(count, sizeof(count), "%zu", nkeys);
	argv[n++] = "EVAL";
	argv[n++] = script;
	argv[n++] = count;
	for (i = 0; i < nkeys; i++)
		argv[n++] = keys[i];
	for (i = 0; i < nargs; i++)
		argv[n++] = args[i];
	return srv_redis_call(r, (int)n, argv, out);
}

bool srv_redis_ping(srv_redis *r)
{
	const char *argv[] = { "PING" };
	redisReply *reply;

	if (srv_redis_call(r, 1, argv, &reply) < 0)
		return false;
	freeReplyObject(reply);
	return true;
}
