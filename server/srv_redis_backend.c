/*
 * srv_redis_backend: the job scripts, and the backend's calls built on
 * them. Every script may run twice (srv_redis_call sends a command once
 * more after a stale connection), so each checks what it would change.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "api/api_errors.h"
#include "server/srv_clock.h"
#include "server/srv_log.h"
#include "server/srv_redis.h"
#include "server/srv_redis_backend.h"
#include "server/srv_redis_job.h"
#include "server/srv_redis_keys.h"
#include "server/srv_redis_runs.h"

/* How long a worker waits for new entries in one XREADGROUP. */
#define SRV_RB_BLOCK_MS "1000"

/* Pause after Redis failed a worker, and between tries to record an outcome. */
#define SRV_RB_PAUSE_NS (SRV_NS_PER_S / 2)

/* How long an outcome is retried while Redis cannot be reached. */
#define SRV_RB_FINISH_WAIT_NS (30 * SRV_NS_PER_S)

/* How often cancel and delete look whether a running job stopped. */
#define SRV_RB_POLL_NS (50 * 1000 * 1000)

/* Finished jobs deleted by one retention sweep at most. */
#define SRV_RB_EXPIRE_BATCH "64"

/* ARGV: id, list cursor, then the record's field-value pairs. */
static const char srv_rb_submit_lua[] = SRV_REDIS_LUA_KEYS
	"if redis.call('EXISTS', JOB) == 1 then return 1 end\n"
	"redis.call('HSET', JOB, unpack(ARGV, 3))\n"
	"redis.call('SADD', KEYS[S.queued], ARGV[1])\n"
	"redis.call('ZADD', OWNER, 0, ARGV[2])\n"
	"redis.call('HSET', JOB, 'entry', redis.call('XADD', QUEUE, '*', 'job', ARGV[1]))\n"
	"return 1\n";

/*
 * ARGV: group, entry, id, attempt, runner, now_us, most runs, the problem
 * of a job failed for too many runs. {0}: nothing to run (the entry is
 * stale, the job gone or finished); {1, status before, runner before,
 * record}: run it; {2, status before, runner before}: failed.
 */
static const char srv_rb_start_lua[] = SRV_REDIS_LUA_KEYS
	"local function drop()\n"
	"  redis.call('XACK', QUEUE, ARGV[1], ARGV[2])\n"
	"  redis.call('XDEL', QUEUE, ARGV[2])\n"
	"end\n"
	"local st = redis.call('HGET', JOB, 'status')\n"
	"if redis.call('HGET', JOB, 'entry') ~= ARGV[2] or (st ~= 'queued' and st ~= 'running') then\n"
	"  drop()\n"
	"  return {0}\n"
	"end\n"
	"local prev = redis.call('HGET', JOB, 'runner') or ''\n"
	"if redis.call('HGET', JOB, 'attempt') == ARGV[4] then\n"
	"  return {1, st, prev, redis.call('HGETALL', JOB)}\n"
	"end\n"
	"if redis.call('HINCRBY', JOB, 'runs', 1) > tonumber(ARGV[7]) then\n"
	"  redis.call('HSET', JOB, 'status', 'failed', 'finished_us', ARGV[6], 'error', ARGV[8])\n"
	"  redis.call('HDEL', JOB, 'attempt', 'cancel')\n"
	"  move(ARGV[3], st, 'failed')\n"
	"  redis.call('ZADD', FINISHED, ARGV[6], ARGV[3])\n"
	"  drop()\n"
	"  return {2, st, prev}\n"
	"end\n"
	"move(ARGV[3], st, 'running')\n"
	"redis.call('HSET', JOB, 'status', 'running', 'started_us', ARGV[6], 'frames_done', 0,"
	" 'frames_total', 0, 'fps', 0, 'attempt', ARGV[4], 'runner', ARGV[5])\n"
	"return {1, st, prev, redis.call('HGETALL', JOB)}\n";

/*
 * ARGV: group, entry, id, attempt, finished_us, the status entered, then
 * the record's field-value pairs. 1: recorded; 0: the record names
 * another run (or none).
 */
static const char srv_rb_finish_lua[] = SRV_REDIS_LUA_KEYS
	"if redis.call('HGET', JOB, 'attempt') ~= ARGV[4] then\n"
	"  if redis.call('HGET', JOB, 'done_by') == ARGV[4] then return 1 end\n"
	"  return 0\n"
	"end\n"
	"redis.call('HSET', JOB, unpack(ARGV, 7))\n"
	"redis.call('HSET', JOB, 'done_by', ARGV[4])\n"
	"redis.call('HDEL', JOB, 'attempt', 'cancel')\n"
	"move(ARGV[3], 'running', ARGV[6])\n"
	"redis.call('XACK', QUEUE, ARGV[1], ARGV[2])\n"
	"redis.call('XDEL', QUEUE, ARGV[2])\n"
	"if ARGV[6] == 'queued' then\n"
	"  redis.call('HINCRBY', JOB, 'runs', -1)\n"
	"  redis.call('HSET', JOB, 'entry', redis.call('XADD', QUEUE, '*', 'job', ARGV[3]))\n"
	"else\n"
	"  redis.call('ZADD', FINISHED, ARGV[5], ARGV[3])\n"
	"end\n"
	"return 1\n";

/* ARGV: group, entry, id. An entry read but not run goes back to the stream. */
static const char srv_rb_giveback_lua[] = SRV_REDIS_LUA_KEYS
	"redis.call('XACK', QUEUE, ARGV[1], ARGV[2])\n"
	"redis.call('XDEL', QUEUE, ARGV[2])\n"
	"local st = redis.call('HGET', JOB, 'status')\n"
	"if redis.call('HGET', JOB, 'entry') == ARGV[2] and (st == 'queued' or st == 'running') then\n"
	"  redis.call('HSET', JOB, 'entry', redis.call('XADD', QUEUE, '*', 'job', ARGV[3]))\n"
	"end\n"
	"return 1\n";

/* ARGV: id, now_us. 1: canceled; 2: running, asked to stop; 0: finished. */
static const char srv_rb_cancel_lua[] = SRV_REDIS_LUA_KEYS
	"local st = redis.call('HGET', JOB, 'status')\n"
	"if st == 'queued' then\n"
	"  redis.call('HSET', JOB, 'status', 'canceled', 'finished_us', ARGV[2])\n"
	"  move(ARGV[1], 'queued', 'canceled')\n"
	"  redis.call('ZADD', FINISHED, ARGV[2], ARGV[1])\n"
	"  local e = redis.call('HGET', JOB, 'entry')\n"
	"  if e then redis.call('XDEL', QUEUE, e) end\n"
	"  return 1\n"
	"end\n"
	"if st == 'running' then\n"
	"  redis.call('HSET', JOB, 'cancel', '1')\n"
	"  return 2\n"
	"end\n"
	"return 0\n";

/* ARGV: id, list cursor. 1: deleted (or gone); -1: running. */
static const char srv_rb_delete_lua[] = SRV_REDIS_LUA_KEYS
	"local st = redis.call('HGET', JOB, 'status')\n"
	"if not st then return 1 end\n"
	"if st == 'running' then return -1 end\n"
	"local e = redis.call('HGET', JOB, 'entry')\n"
	"if e then redis.call('XDEL', QUEUE, e) end\n"
	"redis.call('SREM', KEYS[S[st]], ARGV[1])\n"
	"redis.call('ZREM', OWNER, ARGV[2])\n"
	"redis.call('ZREM', FINISHED, ARGV[1])\n"
	"if IDEM and string.sub(redis.call('GET', IDEM) or '', 1, 32) == ARGV[1] then\n"
	"  redis.call('DEL', IDEM)\n"
	"end\n"
	"redis.call('DEL', JOB)\n"
	"return 1\n";

/* The five status sets' sizes. */
static const char srv_rb_gauges_lua[] =
	"local n = {}\n"
	"for i = 1, 5 do n[i] = redis.call('SCARD', KEYS[i]) end\n"
	"return n\n";

/*
 * KEYS: the idempotency key; ARGV: job id, body hash. Answers an
 * srv_idem_result: {0}, {1, job id} or {2}.
 */
static const char srv_rb_idem_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v or string.sub(v, 1, 32) == ARGV[1] then\n"
	"  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])\n"
	"  return {0}\n"
	"end\n"
	"if string.sub(v, 34) ~= ARGV[2] then return {2} end\n"
	"return {1, string.sub(v, 1, 32)}\n";

/* KEYS: the stream; ARGV: group. Makes the group unless it exists. */
static const char srv_rb_group_lua[] =
	"redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')\n"
	"return 1\n";

/* KEYS: the stream; ARGV: group, consumer. Leaves the group when it holds nothing. */
static const char srv_rb_leave_lua[] =
	"if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then\n"
	"  redis.pcall('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
	"end\n"
	"return 1\n";

struct srv_rb {
	srv_backend base;
	const struct srv_config *cfg;   /* borrowed */
	const char *node;               /* borrowed: the consumer name */
	srv_metrics *metrics;           /* borrowed */
	srv_redis *redis;               /* owned, like the two below */
	srv_redis_runs *runs;
	char *interrupted;              /* problem of a job run too often */
	char min_idle[24];              /* --reclaim-after in ms */
	pthread_mutex_t lock;           /* the fields below */
	pthread_cond_t wake;            /* closed */
	int reserved;
	char cursor[SRV_REDIS_ENTRY_LEN];       /* where XAUTOCLAIM goes on */
	atomic_uint_fast64_t attempts;  /* runs started here */
	atomic_bool closed;
};

/* A stream entry delivered to this replica. */
struct srv_rb_entry {
	char id[SRV_REDIS_ENTRY_LEN];
	char job[SRV_ID_LEN + 1];
};

static struct srv_rb *srv_rb_of(srv_backend *b)
{
	return (struct srv_rb *)b;
}

/* Now in microseconds, as records keep times. */
static void srv_rb_now(char buf[SRV_REDIS_NUMBER_LEN])
{
	snprintf(buf, SRV_REDIS_NUMBER_LEN, "%" PRId64, srv_now_ns() / SRV_NS_PER_US);
}

/* Runs a job script on id's keys with nargs arguments. */
static int srv_rb_script(struct srv_rb *rb, const char *script, const char *id,
			 const char *owner, const char *idem_key, size_t nargs,
			 const char *const *args, redisReply **out)
{
	struct srv_redis_keys k;
	int ret = srv_redis_keys_job(&k, id, owner, idem_key);

	if (ret < 0)
		return ret;
	return srv_redis_eval(rb->redis, script, k.n, k.argv, nargs, args, out);
}

/* A script's integer answer (its first element when an array); 0 if none. */
static long long srv_rb_answer(const redisReply *reply)
{
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements)
		reply = reply->element[0];
	return reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

/* Runs a job script whose answer is an integer, into *answer. */
static int srv_rb_script_int(struct srv_rb *rb, const char *script, const char *id,
			     const char *owner, const char *idem_key, size_t nargs,
			     const char *const *args, long long *answer)
{
	redisReply *reply;
	int ret = srv_rb_script(rb, script, id, owner, idem_key, nargs, args, &reply);

	if (ret < 0)
		return ret;
	*answer = srv_rb_answer(reply);
	freeReplyObject(reply);
	return 0;
}

/* The job of a record (an HGETALL answer); -ENOENT when it is empty. */
static int srv_rb_decode(const redisReply *fields, srv_job **out)
{
	const char **argv;
	char why[160];
	size_t i;
	int ret;

	if (fields->type != REDIS_REPLY_ARRAY || !fields->elements)
		return -ENOENT;
	argv = calloc(fields->elements, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	for (i = 0; i < fields->elements; i++)
		argv[i] = fields->element[i]->type == REDIS_REPLY_STRING ?
			  fields->element[i]->str : "";
	ret = srv_redis_job_decode(argv, fields->elements, out, why, sizeof(why));
	free(argv);
	if (ret == -EINVAL)
		srv_log(SRV_LOG_ERROR, "bad job record", "%s", why);
	return ret;
}

/* A copy of job id, whoever owns it. */
static int srv_rb_read(struct srv_rb *rb, const char *id, srv_job **out)
{
	char key[SRV_REDIS_KEY_LEN];
	redisReply *reply;
	int ret;

	srv_redis_key_job(id, key);
	ret = srv_redis_call(rb->redis, SRV_REDIS_ARGV("HGETALL", key), &reply);
	if (ret < 0)
		return ret;
	ret = srv_rb_decode(reply, out);
	freeReplyObject(reply);
	return ret;
}

/* Makes the workers' group unless it exists. */
static int srv_rb_group(struct srv_rb *rb)
{
	const char *key = SRV_REDIS_QUEUE, *group = SRV_REDIS_GROUP;
	redisReply *reply;
	int ret;

	ret = srv_redis_eval(rb->redis, srv_rb_group_lua, 1, &key, 1, &group, &reply);
	if (!ret)
		freeReplyObject(reply);
	return ret;
}

/* Waits SRV_RB_PAUSE_NS, or less when the backend is closed. */
static void srv_rb_pause(struct srv_rb *rb)
{
	struct timespec ts = srv_deadline(srv_mono_ns() + SRV_RB_PAUSE_NS);

	pthread_mutex_lock(&rb->lock);
	if (!atomic_load(&rb->closed))
		pthread_cond_timedwait(&rb->wake, &rb->lock, &ts);
	pthread_mutex_unlock(&rb->lock);
}

static void srv_rb_free(srv_backend *b)
{
	struct srv_rb *rb = srv_rb_of(b);
	const char *key = SRV_REDIS_QUEUE;
	redisReply *reply;

	srv_redis_runs_free(rb->runs);
	if (rb->redis && !srv_redis_eval(rb->redis, srv_rb_leave_lua, 1, &key, 2,
					 (const char *[]){ SRV_REDIS_GROUP, rb->node },
					 &reply))
		freeReplyObject(reply);
	srv_redis_free(rb->redis);
	srv_dirs_free(b->dirs);
	free(rb->interrupted);
	pthread_cond_destroy(&rb->wake);
	pthread_mutex_destroy(&rb->lock);
	free(rb);
}

static bool srv_rb_ready(srv_backend *b)
{
	return srv_redis_ping(srv_rb_of(b)->redis);
}

static int srv_rb_reserve(srv_backend *b)
{
	struct srv_rb *rb = srv_rb_of(b);
	char key[SRV_REDIS_KEY_LEN];
	redisReply *reply;
	long long queued;
	int ret;

	srv_redis_key_status(SRV_QUEUED, key);
	ret = srv_redis_call(rb->redis, SRV_REDIS_ARGV("SCARD", key), &reply);
	if (ret < 0)
		return ret;
	queued = srv_rb_answer(reply);
	freeReplyObject(reply);
	pthread_mutex_lock(&rb->lock);
	if (queued + rb->reserved >= rb->cfg->queue)
		ret = -EAGAIN;
	else
		rb->reserved++;
	pthread_mutex_unlock(&rb->lock);
	return ret;
}

static void srv_rb_unreserve(srv_backend *b)
{
	struct srv_rb *rb = srv_rb_of(b);

	pthread_mutex_lock(&rb->lock);
	rb->reserved--;
	pthread_mutex_unlock(&rb->lock);
}

static int srv_rb_idem_claim(srv_backend *b, const char *owner, const char *key,
			     const char *body_hash, const char *job_id,
			     char found[SRV_ID_LEN + 1])
{
	char name[SRV_REDIS_IDEM_LEN];
	const char *keys[] = { name };
	redisReply *reply;
	long long answer;
	int ret;

	ret = srv_redis_key_idem(owner, key, name);
	if (!ret)
		ret = srv_redis_eval(srv_rb_of(b)->redis, srv_rb_idem_lua, 1, keys, 2,
				     (const char *[]){ job_id, body_hash }, &reply);
	if (ret < 0)
		return ret;
	answer = srv_rb_answer(reply);
	if (answer == SRV_IDEM_SAME && reply->elements == 2 &&
	    reply->element[1]->type == REDIS_REPLY_STRING &&
	    srv_id_valid(reply->element[1]->str))
		memcpy(found, reply->element[1]->str, SRV_ID_LEN + 1);
	else if (answer == SRV_IDEM_SAME)
		ret = -EPROTO;
	freeReplyObject(reply);
	return ret < 0 ? ret : (int)answer;
}

static void srv_rb_idem_forget(srv_backend *b, const char *owner, const char *key)
{
	char name[SRV_REDIS_IDEM_LEN];
	redisReply *reply;

	if (!srv_redis_key_idem(owner, key, name) &&
	    !srv_redis_call(srv_rb_of(b)->redis, SRV_REDIS_ARGV("DEL", name), &reply))
		freeReplyObject(reply);
}

/* Writes job's record and queues it: the job's directory is in jobs/ already. */
static int srv_rb_record(struct srv_rb *rb, const srv_job *job)
{
	const char *args[2 + 2 * SRV_REDIS_JOB_FIELDS];
	struct srv_redis_record rec;
	char cursor[SRV_CURSOR_LEN];
	long long answer;
	int ret;

	ret = srv_redis_job_encode(job, &rec);
	if (ret < 0)
		return ret;
	srv_job_cursor(job->created_ns, job->id, cursor);
	args[0] = job->id;
	args[1] = cursor;
	memcpy(&args[2], rec.argv, rec.argc * sizeof(*args));
	ret = srv_rb_script_int(rb, srv_rb_submit_lua, job->id, job->owner, NULL,
				2 + rec.argc, args, &answer);
	srv_redis_job_release(&rec);
	return ret;
}

static int srv_rb_submit(srv_backend *b, const srv_job *job)
{
	struct srv_rb *rb = srv_rb_of(b);
	int ret;

	ret = srv_dirs_adopt(b->dirs, job->id);
	if (ret < 0)
		return ret;
	ret = srv_rb_record(rb, job);
	if (ret < 0) {
		srv_dirs_remove(b->dirs, job->id);
		return ret;
	}
	srv_rb_unreserve(b);
	srv_log_job(job->id, "queued", NULL);
	return 0;
}

static int srv_rb_get(srv_backend *b, const char *id, const char *owner,
		      srv_job **out)
{
	int ret = srv_rb_read(srv_rb_of(b), id, out);

	if (ret < 0 || !strcmp((*out)->owner, owner))
		return ret;
	srv_job_free(*out);
	return -ENOENT;
}

/* Appends the API documents of the jobs the members name to array. */
static int srv_rb_page(struct srv_rb *rb, const redisReply *members, size_t limit,
		       cJSON *array, char next[SRV_CURSOR_LEN])
{
	const char *id;
	srv_job *job;
	cJSON *item;
	size_t i;
	int ret;

	*next = '\0';
	for (i = 0; i < members->elements; i++) {
		if (i == limit) {
			snprintf(next, SRV_CURSOR_LEN, "%s", members->element[i - 1]->str);
			break;
		}
		id = strchr(members->element[i]->str, '-');
		if (!id || !srv_id_valid(id + 1))
			continue;
		ret = srv_rb_read(rb, id + 1, &job);
		if (ret == -ENOENT)
			continue;
		if (ret < 0)
			return ret;
		item = srv_job_api_cjson(job);
		srv_job_free(job);
		if (!item || !cJSON_AddItemToArray(array, item)) {
			cJSON_Delete(item);
			return -ENOMEM;
		}
	}
	return 0;
}

static int srv_rb_list(srv_backend *b, const char *owner, const char *cursor,
		       size_t limit, char **out)
{
	struct srv_rb *rb = srv_rb_of(b);
	char key[SRV_REDIS_KEY_LEN], max[1 + SRV_CURSOR_LEN], next[SRV_CURSOR_LEN];
	char id[SRV_ID_LEN + 1], count[24];
	redisReply *reply;
	cJSON *array;
	int64_t ns;
	int ret;

	if (cursor && srv_job_cursor_parse(cursor, &ns, id) < 0)
		return -EINVAL;
	max[0] = '(';
	if (cursor)
		srv_job_cursor(ns, id, max + 1);
	else
		snprintf(max, sizeof(max), "+");
	srv_redis_key_owner(owner, key);
	snprintf(count, sizeof(count), "%zu", limit + 1);
	ret = srv_redis_call(rb->redis, SRV_REDIS_ARGV("ZREVRANGEBYLEX", key, max, "-",
						       "LIMIT", "0", count), &reply);
	if (ret < 0)
		return ret;
	array = cJSON_CreateArray();
	ret = array ? srv_rb_page(rb, reply, limit, array, next) : -ENOMEM;
	freeReplyObject(reply);
	if (ret < 0) {
		cJSON_Delete(array);
		return ret;
	}
	*out = srv_job_page(array, *next ? next : NULL);
	return *out ? 0 : -ENOMEM;
}

/* Waits until job id is no longer running or until deadline; *out: the job then. */
static int srv_rb_wait(struct srv_rb *rb, const char *id, int64_t deadline,
		       srv_job **out)
{
	struct timespec pause = { 0, SRV_RB_POLL_NS };
	int ret;

	for (;;) {
		ret = srv_rb_read(rb, id, out);
		if (ret < 0 || (*out)->status != SRV_RUNNING || srv_mono_ns() >= deadline)
			return ret;
		srv_job_free(*out);
		nanosleep(&pause, NULL);
	}
}

/* Cancels job (a copy, replaced by the job afterwards), waiting until deadline. */
static int srv_rb_cancel_job(struct srv_rb *rb, srv_job **job, int64_t deadline)
{
	char now[SRV_REDIS_NUMBER_LEN], id[SRV_ID_LEN + 1];
	long long answer;
	int ret;

	srv_rb_now(now);
	memcpy(id, (*job)->id, sizeof(id));
	ret = srv_rb_script_int(rb, srv_rb_cancel_lua, id, "", NULL, 2,
				(const char *[]){ id, now }, &answer);
	if (ret < 0 || !answer)
		return ret;
	if (answer == 1) {
		srv_log_job(id, "canceled", NULL);
		srv_metrics_job(rb->metrics, SRV_CANCELED, 0);
	}
	srv_job_free(*job);
	*job = NULL;
	ret = srv_rb_wait(rb, id, deadline, job);
	if (!ret && answer == 1)
		srv_backend_final(&rb->base, *job);
	return ret;
}

static int srv_rb_cancel(srv_backend *b, const char *id, const char *owner,
			 srv_job **out)
{
	struct srv_rb *rb = srv_rb_of(b);
	int ret;

	*out = NULL;
	ret = srv_rb_get(b, id, owner, out);
	if (!ret)
		ret = srv_rb_cancel_job(rb, out, srv_mono_ns() + SRV_CANCEL_WAIT_NS);
	if (ret < 0 && *out) {
		srv_job_free(*out);
		*out = NULL;
	}
	return ret;
}

/* Deletes a job that is not running: its record, its keys, its files. */
static int srv_rb_delete_job(struct srv_rb *rb, const srv_job *job)
{
	char cursor[SRV_CURSOR_LEN];
	long long answer;
	int ret;

	srv_job_cursor(job->created_ns, job->id, cursor);
	ret = srv_rb_script_int(rb, srv_rb_delete_lua, job->id, job->owner,
				job->idem_key, 2, (const char *[]){ job->id, cursor },
				&answer);
	if (ret < 0)
		return ret;
	if (answer < 0)
		return -EBUSY;
	srv_log_job(job->id, "deleted", NULL);
	return srv_dirs_remove(rb->base.dirs, job->id);
}

static int srv_rb_remove(srv_backend *b, const char *id, const char *owner)
{
	struct srv_rb *rb = srv_rb_of(b);
	srv_job *job = NULL;
	int ret = srv_rb_get(b, id, owner, &job);

	if (!ret && job->status == SRV_RUNNING)
		ret = srv_rb_cancel_job(rb, &job, srv_mono_ns() + SRV_DELETE_WAIT_NS);
	if (!ret)
		ret = job->status == SRV_RUNNING ? -EBUSY : srv_rb_delete_job(rb, job);
	srv_job_free(job);
	return ret;
}

/* The ids of up to a batch of jobs finished before before_ns. */
static int srv_rb_expired(struct srv_rb *rb, int64_t before_ns, redisReply **out)
{
	char before[SRV_REDIS_NUMBER_LEN];

	snprintf(before, sizeof(before), "(%" PRId64, before_ns / SRV_NS_PER_US);
	return srv_redis_call(rb->redis, SRV_REDIS_ARGV("ZRANGEBYSCORE",
			      SRV_REDIS_FINISHED, "-inf", before, "LIMIT", "0",
			      SRV_RB_EXPIRE_BATCH), out);
}

static void srv_rb_expire(srv_backend *b, int64_t before_ns)
{
	struct srv_rb *rb = srv_rb_of(b);
	redisReply *ids;
	srv_job *job;
	size_t i;

	if (srv_rb_expired(rb, before_ns, &ids) < 0)
		return;
	for (i = 0; i < ids->elements; i++) {
		if (srv_rb_read(rb, ids->element[i]->str, &job) < 0)
			continue;
		srv_rb_delete_job(rb, job);
		srv_job_free(job);
	}
	freeReplyObject(ids);
}

static void srv_rb_gauges(srv_backend *b, struct srv_gauges *g)
{
	struct srv_redis_keys k;
	redisReply *reply;
	size_t s;

	srv_redis_keys_job(&k, "", "", NULL);
	if (srv_redis_eval(srv_rb_of(b)->redis, srv_rb_gauges_lua, SRV_STATUS_COUNT,
			   k.argv, 0, NULL, &reply) < 0)
		return;
	for (s = 0; s < SRV_STATUS_COUNT && s < reply->elements; s++)
		g->jobs[s] = reply->element[s]->integer;
	g->queue_depth = g->jobs[SRV_QUEUED];
	freeReplyObject(reply);
}

/* The first entry of an entries array [[id, [field, value, ...]], ...]. */
static bool srv_rb_entry_read(const redisReply *entries, struct srv_rb_entry *e)
{
	const redisReply *entry, *fields;
	size_t i;

	if (entries->type != REDIS_REPLY_ARRAY || !entries->elements)
		return false;
	entry = entries->element[0];
	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING ||
	    entry->element[0]->len >= sizeof(e->id))
		return false;
	memcpy(e->id, entry->element[0]->str, entry->element[0]->len + 1);
	fields = entry->element[1];
	for (i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements; i += 2) {
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(fields->element[i]->str, "job") &&
		    srv_id_valid(fields->element[i + 1]->str)) {
			memcpy(e->job, fields->element[i + 1]->str, sizeof(e->job));
			return true;
		}
	}
	return false;
}

/* Takes over an entry another replica held silent too long: 1 when one was. */
static int srv_rb_autoclaim(struct srv_rb *rb, struct srv_rb_entry *e)
{
	char cursor[SRV_REDIS_ENTRY_LEN];
	redisReply *reply;
	bool got = false;
	int ret;

	pthread_mutex_lock(&rb->lock);
	memcpy(cursor, rb->cursor, sizeof(cursor));
	pthread_mutex_unlock(&rb->lock);
	ret = srv_redis_call(rb->redis, SRV_REDIS_ARGV("XAUTOCLAIM",
			     SRV_REDIS_QUEUE, SRV_REDIS_GROUP, rb->node, rb->min_idle,
			     cursor, "COUNT", "1"), &reply);
	if (ret < 0)
		return ret;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING) {
		pthread_mutex_lock(&rb->lock);
		snprintf(rb->cursor, sizeof(rb->cursor), "%s", reply->element[0]->str);
		pthread_mutex_unlock(&rb->lock);
		got = srv_rb_entry_read(reply->element[1], e);
	}
	freeReplyObject(reply);
	return got;
}

/* Waits for a new entry: 1 when one came. */
static int srv_rb_readgroup(struct srv_rb *rb, struct srv_rb_entry *e)
{
	const redisReply *stream;
	redisReply *reply;
	bool got = false;
	int ret;

	ret = srv_redis_call(rb->redis, SRV_REDIS_ARGV("XREADGROUP", "GROUP",
			     SRV_REDIS_GROUP, rb->node, "COUNT", "1", "BLOCK",
			     SRV_RB_BLOCK_MS, "STREAMS", SRV_REDIS_QUEUE, ">"), &reply);
	if (ret < 0)
		return ret;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements) {
		stream = reply->element[0];
		got = stream->type == REDIS_REPLY_ARRAY && stream->elements == 2 &&
		      srv_rb_entry_read(stream->element[1], e);
	}
	freeReplyObject(reply);
	return got;
}

/* Puts an entry read after close back into the stream for another replica. */
static void srv_rb_giveback(struct srv_rb *rb, const struct srv_rb_entry *e)
{
	long long answer;

	srv_rb_script_int(rb, srv_rb_giveback_lua, e->job, "", NULL, 3,
			  (const char *[]){ SRV_REDIS_GROUP, e->id, e->job }, &answer);
}

/* Registers the job a start script answered to run, as attempt. */
static int srv_rb_started(struct srv_rb *rb, const struct srv_rb_entry *e,
			  const char *attempt, const redisReply *reply,
			  srv_job **out)
{
	const redisReply *before = reply->element[1], *runner = reply->element[2];
	int ret;

	ret = srv_rb_decode(reply->element[3], out);
	if (!ret)
		ret = srv_redis_runs_add(rb->runs, *out, e->id, attempt);
	if (ret == -EBUSY)
		srv_job_free(*out);
	if (ret < 0)
		return ret;
	if (before->type == REDIS_REPLY_STRING && !strcmp(before->str, "running") &&
	    runner->type == REDIS_REPLY_STRING && strcmp(runner->str, rb->node))
		srv_log(SRV_LOG_WARN, "job reclaimed", "job %s was running on %s, "
			"silent for %d s: it runs again here", e->job, runner->str,
			rb->cfg->reclaim_after);
	return 1;
}

/* Job id was failed here for too many runs: logged, counted, told. */
static void srv_rb_failed_runs(struct srv_rb *rb, const char *id)
{
	srv_job *job;

	srv_log_job(id, "failed", "started too many times without finishing");
	srv_metrics_job(rb->metrics, SRV_FAILED, 0);
	if (srv_rb_read(rb, id, &job) < 0)
		return;
	srv_backend_final(&rb->base, job);
	srv_job_free(job);
}

/* Starts entry e's job here: 1 with *out when it is to run, 0 when not. */
static int srv_rb_start(struct srv_rb *rb, const struct srv_rb_entry *e,
			srv_job **out)
{
	char attempt[SRV_REDIS_ATTEMPT_LEN], now[SRV_REDIS_NUMBER_LEN], most[8];
	redisReply *reply;
	long long answer;
	int ret;

	snprintf(attempt, sizeof(attempt), "%s/%" PRIuFAST64, rb->node,
		 atomic_fetch_add(&rb->attempts, 1));
	snprintf(most, sizeof(most), "%d", SRV_REDIS_MAX_RUNS);
	srv_rb_now(now);
	ret = srv_rb_script(rb, srv_rb_start_lua, e->job, "", NULL, 8,
			    (const char *[]){ SRV_REDIS_GROUP, e->id, e->job, attempt,
					      rb->node, now, most, rb->interrupted },
			    &reply);
	if (ret < 0)
		return ret;
	answer = srv_rb_answer(reply);
	if (answer == 1 && reply->elements == 4)
		ret = srv_rb_started(rb, e, attempt, reply, out);
	freeReplyObject(reply);
	if (answer == 2)
		srv_rb_failed_runs(rb, e->job);
	return ret;
}

/* The next entry for this replica: 1 when there is one. */
static int srv_rb_next(struct srv_rb *rb, struct srv_rb_entry *e)
{
	int ret = srv_rb_autoclaim(rb, e);

	if (!ret)
		ret = srv_rb_readgroup(rb, e);
	if (ret == -EPROTO)
		ret = srv_rb_group(rb);
	return ret;
}

static int srv_rb_take(srv_backend *b, srv_job **out)
{
	struct srv_rb *rb = srv_rb_of(b);
	struct srv_rb_entry e;
	int ret;

	while (!atomic_load(&rb->closed)) {
		ret = srv_rb_next(rb, &e);
		if (ret < 0)
			srv_rb_pause(rb);
		if (ret <= 0)
			continue;
		if (atomic_load(&rb->closed)) {
			srv_rb_giveback(rb, &e);
			break;
		}
		if (srv_rb_start(rb, &e, out) == 1)
			return 0;
	}
	return -ESHUTDOWN;
}

static void srv_rb_progress(srv_backend *b, srv_job *job,
			    const struct pipe_progress *p)
{
	srv_redis_runs_progress(srv_rb_of(b)->runs, job, p);
}

/* The finish script's answer for a run, retried while Redis is away. */
static int srv_rb_record_end(struct srv_rb *rb, const srv_job *job,
			     const char *const *args, size_t nargs,
			     long long *answer)
{
	struct timespec pause = { 0, SRV_RB_PAUSE_NS };
	int64_t deadline = srv_mono_ns() + SRV_RB_FINISH_WAIT_NS;
	int ret;

	for (;;) {
		ret = srv_rb_script_int(rb, srv_rb_finish_lua, job->id, "", NULL,
					nargs, args, answer);
		if (ret != -ENOTCONN || srv_mono_ns() >= deadline)
			return ret;
		nanosleep(&pause, NULL);
	}
}

static int srv_rb_finish(srv_backend *b, srv_job *job, int ret,
			 const struct pipe_job_result *res, const char *err)
{
	struct srv_rb *rb = srv_rb_of(b);
	const char *args[6 + 2 * SRV_REDIS_JOB_FIELDS];
	char entry[SRV_REDIS_ENTRY_LEN], attempt[SRV_REDIS_ATTEMPT_LEN];
	char now[SRV_REDIS_NUMBER_LEN];
	struct srv_redis_record rec;
	enum srv_status status;
	long long answer = 0;

	status = srv_redis_runs_end(rb->runs, job, ret, res, err, entry, attempt);
	ret = srv_redis_job_encode(job, &rec);
	if (ret < 0)
		return ret;
	srv_rb_now(now);
	args[0] = SRV_REDIS_GROUP;
	args[1] = entry;
	args[2] = job->id;
	args[3] = attempt;
	args[4] = now;
	args[5] = srv_status_name(status);
	memcpy(&args[6], rec.argv, rec.argc * sizeof(*args));
	ret = srv_rb_record_end(rb, job, args, 6 + rec.argc, &answer);
	srv_redis_job_release(&rec);
	if (ret < 0)
		return ret;
	return answer == 1 ? (int)status : -ESTALE;
}

static void srv_rb_release(srv_backend *b, srv_job *job)
{
	srv_redis_runs_remove(srv_rb_of(b)->runs, job);
}

static void srv_rb_close(srv_backend *b)
{
	struct srv_rb *rb = srv_rb_of(b);

	pthread_mutex_lock(&rb->lock);
	atomic_store(&rb->closed, true);
	pthread_cond_broadcast(&rb->wake);
	pthread_mutex_unlock(&rb->lock);
}

static const struct srv_backend_ops srv_rb_ops = {
	.free = srv_rb_free,
	.ready = srv_rb_ready,
	.reserve = srv_rb_reserve,
	.unreserve = srv_rb_unreserve,
	.idem_claim = srv_rb_idem_claim,
	.idem_forget = srv_rb_idem_forget,
	.submit = srv_rb_submit,
	.get = srv_rb_get,
	.list = srv_rb_list,
	.cancel = srv_rb_cancel,
	.remove = srv_rb_remove,
	.expire = srv_rb_expire,
	.gauges = srv_rb_gauges,
	.take = srv_rb_take,
	.progress = srv_rb_progress,
	.finish = srv_rb_finish,
	.release = srv_rb_release,
	.close = srv_rb_close,
};

/* Connects (lazily) to cfg's Redis and makes the workers' group when it can. */
static int srv_rb_connect(struct srv_rb *rb, char *err, size_t errlen)
{
	struct srv_redis_url url;
	char where[320];
	int ret;

	ret = srv_redis_url_parse(rb->cfg->redis_url, &url, err, errlen);
	if (ret < 0)
		return ret;
	rb->redis = srv_redis_create(&url);
	if (!rb->redis) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv_redis_url_describe(&url, where, sizeof(where));
	explicit_bzero(url.password, sizeof(url.password));
	if (srv_rb_group(rb) < 0)
		srv_log(SRV_LOG_WARN, "redis not ready", "%s cannot be used yet: "
			"the service keeps trying", where);
	return 0;
}

int srv_redis_backend_open(const struct srv_config *cfg, const char *node,
			   srv_metrics *metrics, srv_backend **out, char *err,
			   size_t errlen)
{
	struct srv_rb *rb = calloc(1, sizeof(*rb));
	int ret;

	if (!rb)
		return -ENOMEM;
	rb->base.ops = &srv_rb_ops;
	rb->cfg = cfg;
	rb->node = node;
	rb->metrics = metrics;
	pthread_mutex_init(&rb->lock, NULL);
	srv_cond_init(&rb->wake);
	snprintf(rb->cursor, sizeof(rb->cursor), "0-0");
	snprintf(rb->min_idle, sizeof(rb->min_idle), "%lld",
		 (long long)cfg->reclaim_after * 1000);
	atomic_init(&rb->attempts, 1);
	atomic_init(&rb->closed, false);
	rb->interrupted = api_problem_json(500, "job-interrupted", "The job was "
					   "interrupted too often", "the replicas "
					   "running it stopped before it finished; "
					   "check their logs and resources", NULL);
	ret = rb->interrupted ? 0 : -ENOMEM;
	if (ret < 0)
		snprintf(err, errlen, "out of memory");
	if (!ret)
		ret = srv_dirs_open(cfg->data, false, &rb->base.dirs, err, errlen);
	if (!ret)
		ret = srv_rb_connect(rb, err, errlen);
	if (!ret) {
		ret = srv_redis_runs_start(rb->redis, node, cfg->workers, &rb->runs);
		if (ret < 0)
			snprintf(err, errlen, "cannot start the job keeper: %s",
				 strerror(-ret));
	}
	if (ret < 0)
		goto free_rb;
	*out = &rb->base;
	return 0;

free_rb:
	srv_rb_free(&rb->base);
	return ret;
}
