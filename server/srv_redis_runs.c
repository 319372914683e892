/* srv_redis_runs: a slot per worker, and the beat thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_clock.h"
#include "server/srv_log.h"
#include "server/srv_redis_job.h"
#include "server/srv_redis_keys.h"
#include "server/srv_redis_runs.h"

/*
 * ARGV: group, consumer, entry, attempt, then frames_done, frames_total,
 * fps ("" when progress did not move). -1: the record names another run;
 * 1: asked to stop; 0: carry on.
 */
static const char srv_redis_beat_lua[] = SRV_REDIS_LUA_KEYS
	"if redis.call('HGET', JOB, 'attempt') ~= ARGV[4] then return -1 end\n"
	"if ARGV[5] ~= '' then\n"
	"  redis.call('HSET', JOB, 'frames_done', ARGV[5], 'frames_total', ARGV[6],"
	" 'fps', ARGV[7])\n"
	"end\n"
	"redis.call('XCLAIM', QUEUE, ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')\n"
	"if redis.call('HGET', JOB, 'cancel') == '1' then return 1 end\n"
	"return 0\n";

struct srv_redis_run {
	srv_job *job;                   /* owned; NULL: a free slot */
	char entry[SRV_REDIS_ENTRY_LEN];
	char attempt[SRV_REDIS_ATTEMPT_LEN];
	bool moved;                     /* progress not written yet */
	bool lost;                      /* another run took the job over */
};

struct srv_redis_runs {
	srv_redis *redis;               /* borrowed */
	const char *consumer;           /* borrowed */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct srv_redis_run *slots;    /* owned */
	int n_slots;
	pthread_t thread;
	bool started;
};

/* What one beat sends, copied out of a slot under the lock. */
struct srv_redis_beat {
	char id[SRV_ID_LEN + 1];
	char entry[SRV_REDIS_ENTRY_LEN];
	char attempt[SRV_REDIS_ATTEMPT_LEN];
	char progress[3][SRV_REDIS_NUMBER_LEN];
};

/* The slot of job, lock held; NULL when it has none. */
static struct srv_redis_run *srv_redis_runs_find(srv_redis_runs *runs,
						 const srv_job *job)
{
	int i;

	for (i = 0; i < runs->n_slots; i++)
		if (runs->slots[i].job == job)
			return &runs->slots[i];
	return NULL;
}

/* Copies slot i for a beat; false when it is free. */
static bool srv_redis_runs_copy(srv_redis_runs *runs, int i,
				struct srv_redis_beat *b)
{
	struct srv_redis_run *run = &runs->slots[i];
	bool used;

	pthread_mutex_lock(&runs->lock);
	used = run->job && !run->lost;
	if (used) {
		memcpy(b->id, run->job->id, sizeof(b->id));
		memcpy(b->entry, run->entry, sizeof(b->entry));
		memcpy(b->attempt, run->attempt, sizeof(b->attempt));
		memset(b->progress, 0, sizeof(b->progress));
		if (run->moved) {
			snprintf(b->progress[0], sizeof(b->progress[0]), "%" PRId64,
				 run->job->frames_done);
			snprintf(b->progress[1], sizeof(b->progress[1]), "%" PRId64,
				 run->job->frames_total);
			snprintf(b->progress[2], sizeof(b->progress[2]), "%.6g",
				 run->job->metrics.fps);
		}
		run->moved = false;
	}
	pthread_mutex_unlock(&runs->lock);
	return used;
}

/* Applies a beat's answer to slot i, if it still holds the same run. */
static void srv_redis_runs_heard(srv_redis_runs *runs, int i,
				 const struct srv_redis_beat *b, int ret,
				 long long answer)
{
	struct srv_redis_run *run = &runs->slots[i];

	pthread_mutex_lock(&runs->lock);
	if (run->job && !strcmp(run->attempt, b->attempt)) {
		if (ret < 0 && *b->progress[0])
			run->moved = true;
		if (!ret && answer < 0) {
			run->lost = true;
			srv_log(SRV_LOG_WARN, "job taken over", "job %s now runs "
				"elsewhere (this replica was cut off from Redis): "
				"stopping it here", b->id);
		}
		if (!ret && answer)
			atomic_store(&run->job->cancel, 1);
	}
	pthread_mutex_unlock(&runs->lock);
}

static void srv_redis_runs_beat(srv_redis_runs *runs, int i)
{
	struct srv_redis_keys k;
	struct srv_redis_beat b;
	redisReply *reply;
	long long answer = 0;
	int ret;

	if (!srv_redis_runs_copy(runs, i, &b))
		return;
	srv_redis_keys_job(&k, b.id, "", NULL);
	ret = srv_redis_eval(runs->redis, srv_redis_beat_lua, k.n, k.argv, 7,
			     (const char *[]){ SRV_REDIS_GROUP, runs->consumer,
					       b.entry, b.attempt, b.progress[0],
					       b.progress[1], b.progress[2] },
			     &reply);
	if (!ret) {
		answer = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
		freeReplyObject(reply);
	}
	srv_redis_runs_heard(runs, i, &b, ret, answer);
}

static void *srv_redis_runs_main(void *arg)
{
	srv_redis_runs *runs = arg;
	struct timespec ts;
	int i;

	pthread_mutex_lock(&runs->lock);
	while (!runs->stopping) {
		ts = srv_deadline(srv_mono_ns() + SRV_REDIS_BEAT_NS);
		pthread_cond_timedwait(&runs->wake, &runs->lock, &ts);
		pthread_mutex_unlock(&runs->lock);
		for (i = 0; i < runs->n_slots; i++)
			srv_redis_runs_beat(runs, i);
		pthread_mutex_lock(&runs->lock);
	}
	pthread_mutex_unlock(&runs->lock);
	return NULL;
}

int srv_redis_runs_start(srv_redis *redis, const char *consumer, int slots,
			 srv_redis_runs **out)
{
	srv_redis_runs *runs = calloc(1, sizeof(*runs));
	int ret;

	if (!runs)
		return -ENOMEM;
	runs->redis = redis;
	runs->consumer = consumer;
	runs->n_slots = slots;
	pthread_mutex_init(&runs->lock, NULL);
	srv_cond_init(&runs->wake);
	runs->slots = calloc((size_t)slots, sizeof(*runs->slots));
	if (!runs->slots) {
		ret = -ENOMEM;
		goto free_runs;
	}
	ret = -pthread_create(&runs->thread, NULL, srv_redis_runs_main, runs);
	if (ret < 0)
		goto free_runs;
	runs->started = true;
	*out = runs;
	return 0;

free_runs:
	srv_redis_runs_free(runs);
	return ret;
}

void srv_redis_runs_free(srv_redis_runs *runs)
{
	if (!runs)
		return;
	pthread_mutex_lock(&runs->lock);
	runs->stopping = true;
	pthread_cond_signal(&runs->wake);
	pthread_mutex_unlock(&runs->lock);
	if (runs->started)
		pthread_join(runs->thread, NULL);
	free(runs->slots);
	pthread_cond_destroy(&runs->wake);
	pthread_mutex_destroy(&runs->lock);
	free(runs);
}

int srv_redis_runs_add(srv_redis_runs *runs, srv_job *job, const char *entry,
		       const char *attempt)
{
	struct srv_redis_run *run;

	pthread_mutex_lock(&runs->lock);
	run = srv_redis_runs_find(runs, NULL);
	if (run) {
		*run = (struct srv_redis_run){ .job = job };
		snprintf(run->entry, sizeof(run->entry), "%s", entry);
		snprintf(run->attempt, sizeof(run->attempt), "%s", attempt);
	}
	pthread_mutex_unlock(&runs->lock);
	return run ? 0 : -EBUSY;
}

void srv_redis_runs_progress(srv_redis_runs *runs, srv_job *job,
			     const struct pipe_progress *p)
{
	struct srv_redis_run *run;

	pthread_mutex_lock(&runs->lock);
	run = srv_redis_runs_find(runs, job);
	job->frames_done = p->frames_done;
	job->frames_total = p->frames_total;
	job->metrics.fps = p->fps;
	if (run)
		run->moved = true;
	pthread_mutex_unlock(&runs->lock);
}

enum srv_status srv_redis_runs_end(srv_redis_runs *runs, srv_job *job, int ret,
				   const struct pipe_job_result *res,
				   const char *err,
				   char entry[SRV_REDIS_ENTRY_LEN],
				   char attempt[SRV_REDIS_ATTEMPT_LEN])
{
	struct srv_redis_run *run;
	enum srv_status status;

	pthread_mutex_lock(&runs->lock);
	run = srv_redis_runs_find(runs, job);
	status = srv_job_end_run(job, ret, res, err);
	snprintf(entry, SRV_REDIS_ENTRY_LEN, "%s", run ? run->entry : "");
	snprintf(attempt, SRV_REDIS_ATTEMPT_LEN, "%s", run ? run->attempt : "");
	pthread_mutex_unlock(&runs->lock);
	return status;
}

void srv_redis_runs_remove(srv_redis_runs *runs, srv_job *job)
{
	struct srv_redis_run *run;

	pthread_mutex_lock(&runs->lock);
	run = srv_redis_runs_find(runs, job);
	if (run)
		run->job = NULL;
	pthread_mutex_unlock(&runs->lock);
	srv_job_free(job);
}
