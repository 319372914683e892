/*
 * srv_local: the store's jobs are shared objects under the store's lock;
 * the queue holds references to them; a worker holds the job it runs
 * (busy) until its outcome is saved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipe_job.h"
#include "server/srv_clock.h"
#include "server/srv_local.h"
#include "server/srv_log.h"
#include "server/srv_queue.h"
#include "server/srv_store.h"

struct srv_local {
	srv_backend base;
	srv_metrics *metrics;           /* borrowed */
	srv_store *store;               /* owned, like everything below */
	srv_queue *queue;               /* of srv_job *, each holding a reference */
	srv_idem *idem;
};

static struct srv_local *srv_local_of(srv_backend *b)
{
	return (struct srv_local *)b;
}

/* A copy of job, read under the lock. */
static int srv_local_copy(struct srv_local *l, const srv_job *job, srv_job **out)
{
	srv_store_lock(l->store);
	*out = srv_job_copy(job);
	srv_store_unlock(l->store);
	return *out ? 0 : -ENOMEM;
}

/*
 * Takes job out of the queue when it waits there, lock held: it is then
 * canceled at once. True when it was taken (the queue's reference is the
 * caller's to drop).
 */
static bool srv_local_unqueue(struct srv_local *l, srv_job *job)
{
	if (job->status != SRV_QUEUED || !srv_queue_remove(l->queue, job))
		return false;
	job->status = SRV_CANCELED;
	job->finished_ns = srv_now_ns();
	return true;
}

/* Ends a job taken out of the queue: stored, logged, counted. */
static void srv_local_unqueued(struct srv_local *l, srv_job *job)
{
	srv_store_save(l->store, job);
	srv_log_job(job->id, "canceled", NULL);
	srv_metrics_job(l->metrics, SRV_CANCELED, 0);
	srv_backend_final(&l->base, job);
	srv_store_put(l->store, job);
}

static int srv_local_cancel_job(struct srv_local *l, srv_job *job)
{
	int64_t deadline = srv_mono_ns() + SRV_CANCEL_WAIT_NS;
	bool unqueued;

	srv_store_lock(l->store);
	unqueued = srv_local_unqueue(l, job);
	if (!unqueued && !srv_status_final(job->status)) {
		atomic_store(&job->cancel, 1);
		while (!srv_status_final(job->status) &&
		       srv_store_wait(l->store, deadline))
			;
	}
	srv_store_unlock(l->store);
	if (unqueued)
		srv_local_unqueued(l, job);
	return 0;
}

static int srv_local_delete_job(struct srv_local *l, srv_job *job)
{
	int64_t deadline = srv_mono_ns() + SRV_DELETE_WAIT_NS;
	bool unqueued;

	srv_store_lock(l->store);
	unqueued = srv_local_unqueue(l, job);
	atomic_store(&job->cancel, 1);
	while ((job->busy || job->status == SRV_RUNNING) &&
	       srv_store_wait(l->store, deadline))
		;
	if (job->busy) {
		srv_store_unlock(l->store);
		return -EBUSY;
	}
	srv_store_unlock(l->store);
	if (unqueued)
		srv_store_put(l->store, job);
	if (job->idem_key)
		srv_idem_forget(l->idem, job->owner, job->idem_key);
	srv_log_job(job->id, "deleted", NULL);
	return srv_store_remove(l->store, job);
}

/* Drops the references of a srv_store_select result. */
static void srv_local_put_all(struct srv_local *l, srv_job **jobs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		srv_store_put(l->store, jobs[i]);
	free(jobs);
}

static bool srv_local_is_queued(const srv_job *job, const void *opaque)
{
	(void)opaque;
	return job->status == SRV_QUEUED;
}

static bool srv_local_has_key(const srv_job *job, const void *opaque)
{
	(void)opaque;
	return job->idem_key != NULL;
}

/* Records the idempotency keys of the stored jobs. */
static int srv_local_recover_keys(struct srv_local *l)
{
	char found[SRV_ID_LEN + 1];
	srv_job **jobs;
	int i, n, ret = 0;

	n = srv_store_select(l->store, srv_local_has_key, NULL, &jobs);
	if (n < 0)
		return n;
	for (i = 0; i < n && ret >= 0; i++)
		ret = srv_idem_claim(l->idem, jobs[i]->owner, jobs[i]->idem_key,
				     jobs[i]->body_hash, jobs[i]->id, found);
	srv_local_put_all(l, jobs, n);
	return ret < 0 ? ret : 0;
}

/* Queues the stored jobs waiting (and those that were running) again. */
static int srv_local_recover(struct srv_local *l)
{
	srv_job **jobs;
	int i, n, ret;

	ret = srv_local_recover_keys(l);
	if (ret < 0)
		return ret;
	n = srv_store_select(l->store, srv_local_is_queued, NULL, &jobs);
	if (n < 0)
		return n;
	for (i = 0; i < n && !ret; i++) {
		srv_store_save(l->store, jobs[i]);
		srv_store_ref(l->store, jobs[i]);
		ret = srv_queue_push(l->queue, jobs[i], false);
		if (ret < 0)
			srv_store_put(l->store, jobs[i]);
		else
			srv_log_job(jobs[i]->id, "queued", "recovered at start-up");
	}
	srv_local_put_all(l, jobs, n);
	return ret;
}

/*
 * The jobs still queued are in the store's index too: freeing the store
 * frees them, so the queue's references need not be dropped one by one.
 */
static void srv_local_free(srv_backend *b)
{
	struct srv_local *l = srv_local_of(b);

	srv_store_free(l->store);
	srv_idem_free(l->idem);
	srv_queue_free(l->queue);
	srv_dirs_free(b->dirs);
	free(l);
}

static bool srv_local_ready(srv_backend *b)
{
	(void)b;
	return true;
}

static int srv_local_reserve(srv_backend *b)
{
	return srv_queue_reserve(srv_local_of(b)->queue);
}

static void srv_local_unreserve(srv_backend *b)
{
	srv_queue_unreserve(srv_local_of(b)->queue);
}

static int srv_local_idem_claim(srv_backend *b, const char *owner,
				const char *key, const char *body_hash,
				const char *job_id, char found[SRV_ID_LEN + 1])
{
	return srv_idem_claim(srv_local_of(b)->idem, owner, key, body_hash,
			      job_id, found);
}

static void srv_local_idem_forget(srv_backend *b, const char *owner,
				  const char *key)
{
	srv_idem_forget(srv_local_of(b)->idem, owner, key);
}

/*
 * A job stored but not queued (out of memory) runs after a restart, so
 * the submission still succeeds.
 */
static int srv_local_submit(srv_backend *b, const srv_job *job)
{
	struct srv_local *l = srv_local_of(b);
	srv_job *stored = srv_job_copy(job);
	int ret;

	if (!stored)
		return -ENOMEM;
	ret = srv_store_commit(l->store, stored);
	if (ret < 0) {
		srv_job_free(stored);
		return ret;
	}
	srv_store_ref(l->store, stored);
	ret = srv_queue_push(l->queue, stored, true);
	if (ret < 0) {
		srv_queue_unreserve(l->queue);
		srv_store_put(l->store, stored);
	}
	srv_log_job(job->id, ret < 0 ? "stored" : "queued",
		    ret < 0 ? "out of memory queueing: runs after a restart" : NULL);
	return 0;
}

/*
 * Applies fn (NULL: nothing) to job id of owner, then copies the job to
 * *out (out NULL: no copy). -ENOENT when there is no such job.
 */
static int srv_local_with(srv_backend *b, const char *id, const char *owner,
			  int (*fn)(struct srv_local *l, srv_job *job), srv_job **out)
{
	struct srv_local *l = srv_local_of(b);
	srv_job *job = srv_store_get(l->store, id, owner);
	int ret = 0;

	if (!job)
		return -ENOENT;
	if (fn)
		ret = fn(l, job);
	if (!ret && out)
		ret = srv_local_copy(l, job, out);
	srv_store_put(l->store, job);
	return ret;
}

static int srv_local_get(srv_backend *b, const char *id, const char *owner,
			 srv_job **out)
{
	return srv_local_with(b, id, owner, NULL, out);
}

static int srv_local_list(srv_backend *b, const char *owner, const char *cursor,
			  size_t limit, char **out)
{
	return srv_store_list(srv_local_of(b)->store, owner, cursor, limit, out);
}

static int srv_local_cancel(srv_backend *b, const char *id, const char *owner,
			    srv_job **out)
{
	return srv_local_with(b, id, owner, srv_local_cancel_job, out);
}

static int srv_local_remove(srv_backend *b, const char *id, const char *owner)
{
	return srv_local_with(b, id, owner, srv_local_delete_job, NULL);
}

static bool srv_local_is_expired(const srv_job *job, const void *opaque)
{
	const int64_t *before = opaque;

	return srv_status_final(job->status) && !job->busy &&
	       job->finished_ns < *before;
}

static void srv_local_expire(srv_backend *b, int64_t before_ns)
{
	struct srv_local *l = srv_local_of(b);
	srv_job **jobs;
	int i, n;

	n = srv_store_select(l->store, srv_local_is_expired, &before_ns, &jobs);
	for (i = 0; i < n; i++)
		srv_local_delete_job(l, jobs[i]);
	if (n >= 0)
		srv_local_put_all(l, jobs, n);
}

static void srv_local_count(srv_job *job, void *opaque)
{
	struct srv_gauges *g = opaque;

	g->jobs[job->status]++;
}

static void srv_local_gauges(srv_backend *b, struct srv_gauges *g)
{
	struct srv_local *l = srv_local_of(b);

	srv_store_each(l->store, srv_local_count, g);
	g->queue_depth = (int64_t)srv_queue_depth(l->queue);
}

/* Marks job running unless it was cancelled or removed while it waited. */
static bool srv_local_claim(struct srv_local *l, srv_job *job)
{
	bool run = false;

	srv_store_lock(l->store);
	if (!job->removed && job->status == SRV_QUEUED) {
		job->status = SRV_RUNNING;
		job->started_ns = srv_now_ns();
		job->busy = true;
		run = true;
	}
	srv_store_unlock(l->store);
	return run;
}

static int srv_local_take(srv_backend *b, srv_job **out)
{
	struct srv_local *l = srv_local_of(b);
	srv_job *job;

	while ((job = srv_queue_pop(l->queue))) {
		if (srv_local_claim(l, job)) {
			srv_store_save(l->store, job);
			*out = job;
			return 0;
		}
		srv_store_put(l->store, job);
	}
	return -ESHUTDOWN;
}

static void srv_local_progress(srv_backend *b, srv_job *job,
			       const struct pipe_progress *p)
{
	struct srv_local *l = srv_local_of(b);

	srv_store_lock(l->store);
	job->frames_done = p->frames_done;
	job->frames_total = p->frames_total;
	job->metrics.fps = p->fps;
	srv_store_unlock(l->store);
}

static int srv_local_finish(srv_backend *b, srv_job *job, int ret,
			    const struct pipe_job_result *res, const char *err)
{
	struct srv_local *l = srv_local_of(b);
	enum srv_status status;

	srv_store_lock(l->store);
	status = srv_job_end_run(job, ret, res, err);
	srv_store_unlock(l->store);
	srv_store_save(l->store, job);
	srv_store_lock(l->store);
	job->busy = false;
	srv_store_broadcast(l->store);
	srv_store_unlock(l->store);
	return (int)status;
}

static void srv_local_release(srv_backend *b, srv_job *job)
{
	srv_store_put(srv_local_of(b)->store, job);
}

static void srv_local_close(srv_backend *b)
{
	srv_queue_close(srv_local_of(b)->queue);
}

static const struct srv_backend_ops srv_local_ops = {
	.free = srv_local_free,
	.ready = srv_local_ready,
	.reserve = srv_local_reserve,
	.unreserve = srv_local_unreserve,
	.idem_claim = srv_local_idem_claim,
	.idem_forget = srv_local_idem_forget,
	.submit = srv_local_submit,
	.get = srv_local_get,
	.list = srv_local_list,
	.cancel = srv_local_cancel,
	.remove = srv_local_remove,
	.expire = srv_local_expire,
	.gauges = srv_local_gauges,
	.take = srv_local_take,
	.progress = srv_local_progress,
	.finish = srv_local_finish,
	.release = srv_local_release,
	.close = srv_local_close,
};

int srv_local_open(const struct srv_config *cfg, srv_metrics *metrics,
		   srv_backend **out, char *err, size_t errlen)
{
	struct srv_local *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	l->base.ops = &srv_local_ops;
	l->metrics = metrics;
	l->queue = srv_queue_create((size_t)cfg->queue);
	l->idem = srv_idem_create();
	ret = l->queue && l->idem ? 0 : -ENOMEM;
	if (ret < 0)
		snprintf(err, errlen, "out of memory");
	if (!ret)
		ret = srv_dirs_open(cfg->data, true, &l->base.dirs, err, errlen);
	if (!ret)
		ret = srv_store_open(l->base.dirs, &l->store, err, errlen);
	if (ret < 0)
		goto free_local;
	ret = srv_local_recover(l);
	if (ret < 0) {
		snprintf(err, errlen, "cannot queue the stored jobs: %s", strerror(-ret));
		goto free_local;
	}
	*out = &l->base;
	return 0;

free_local:
	srv_local_free(&l->base);
	return ret;
}
