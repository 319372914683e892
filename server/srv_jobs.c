/* srv_jobs: job control shared by the handlers and the service. */
#include <errno.h>
#include <stdlib.h>

#include "server/srv_clock.h"
#include "server/srv_jobs.h"
#include "server/srv_log.h"

/* How long delete waits for a running job to stop. */
#define SRV_DELETE_WAIT_NS (30 * SRV_NS_PER_S)

int srv_jobs_enqueue(srv_service *svc, srv_job *job)
{
	int ret;

	srv_store_ref(svc->store, job);
	ret = srv_queue_push(svc->queue, job, true);
	if (ret < 0) {
		srv_queue_unreserve(svc->queue);
		srv_store_put(svc->store, job);
	}
	return ret;
}

/*
 * Takes job out of the queue when it waits there, lock held: it is then
 * canceled at once. True when it was taken (the queue's reference is the
 * caller's to drop).
 */
static bool srv_jobs_unqueue(srv_service *svc, srv_job *job)
{
	if (job->status != SRV_QUEUED || !srv_queue_remove(svc->queue, job))
		return false;
	job->status = SRV_CANCELED;
	job->finished_ns = srv_now_ns();
	return true;
}

/* Ends a job taken out of the queue: stored, logged, counted. */
static void srv_jobs_unqueued(srv_service *svc, srv_job *job)
{
	srv_store_save(svc->store, job);
	srv_log_job(job->id, "canceled", NULL);
	srv_metrics_job(svc->metrics, SRV_CANCELED, 0);
	srv_store_put(svc->store, job);
}

void srv_jobs_cancel(srv_service *svc, srv_job *job)
{
	int64_t deadline = srv_mono_ns() + SRV_CANCEL_WAIT_NS;
	bool unqueued;

	srv_store_lock(svc->store);
	unqueued = srv_jobs_unqueue(svc, job);
	if (!unqueued && !srv_status_final(job->status)) {
		atomic_store(&job->cancel, 1);
		while (!srv_status_final(job->status) &&
		       srv_store_wait(svc->store, deadline))
			;
	}
	srv_store_unlock(svc->store);
	if (unqueued)
		srv_jobs_unqueued(svc, job);
}

int srv_jobs_delete(srv_service *svc, srv_job *job)
{
	int64_t deadline = srv_mono_ns() + SRV_DELETE_WAIT_NS;
	bool unqueued;

	srv_store_lock(svc->store);
	unqueued = srv_jobs_unqueue(svc, job);
	atomic_store(&job->cancel, 1);
	while ((job->busy || job->status == SRV_RUNNING) &&
	       srv_store_wait(svc->store, deadline))
		;
	if (job->busy) {
		srv_store_unlock(svc->store);
		return -EBUSY;
	}
	srv_store_unlock(svc->store);
	if (unqueued)
		srv_store_put(svc->store, job);
	if (job->idem_key)
		srv_idem_forget(svc->idem, job->owner, job->idem_key);
	srv_log_job(job->id, "deleted", NULL);
	return srv_store_remove(svc->store, job);
}

/* Drops the references of a srv_store_select result. */
static void srv_jobs_put_all(srv_service *svc, srv_job **jobs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		srv_store_put(svc->store, jobs[i]);
	free(jobs);
}

static bool srv_jobs_is_expired(const srv_job *job, const void *opaque)
{
	const int64_t *before = opaque;

	return srv_status_final(job->status) && !job->busy &&
	       job->finished_ns < *before;
}

void srv_jobs_expire(srv_service *svc)
{
	int64_t before = srv_now_ns() - svc->cfg->retention * SRV_NS_PER_S;
	srv_job **jobs;
	int i, n;

	n = srv_store_select(svc->store, srv_jobs_is_expired, &before, &jobs);
	for (i = 0; i < n; i++)
		srv_jobs_delete(svc, jobs[i]);
	if (n >= 0)
		srv_jobs_put_all(svc, jobs, n);
}

static bool srv_jobs_is_queued(const srv_job *job, const void *opaque)
{
	(void)opaque;
	return job->status == SRV_QUEUED;
}

static bool srv_jobs_has_key(const srv_job *job, const void *opaque)
{
	(void)opaque;
	return job->idem_key != NULL;
}

/* Records the idempotency keys of the stored jobs. */
static int srv_jobs_recover_keys(srv_service *svc)
{
	char found[SRV_ID_LEN + 1];
	srv_job **jobs;
	int i, n, ret = 0;

	n = srv_store_select(svc->store, srv_jobs_has_key, NULL, &jobs);
	if (n < 0)
		return n;
	for (i = 0; i < n && ret >= 0; i++)
		ret = srv_idem_claim(svc->idem, jobs[i]->owner, jobs[i]->idem_key,
				     jobs[i]->body_hash, jobs[i]->id, found);
	srv_jobs_put_all(svc, jobs, n);
	return ret < 0 ? ret : 0;
}

int srv_jobs_recover(srv_service *svc)
{
	srv_job **jobs;
	int i, n, ret;

	ret = srv_jobs_recover_keys(svc);
	if (ret < 0)
		return ret;
	n = srv_store_select(svc->store, srv_jobs_is_queued, NULL, &jobs);
	if (n < 0)
		return n;
	for (i = 0; i < n && !ret; i++) {
		srv_store_save(svc->store, jobs[i]);
		srv_store_ref(svc->store, jobs[i]);
		ret = srv_queue_push(svc->queue, jobs[i], false);
		if (ret < 0)
			srv_store_put(svc->store, jobs[i]);
		else
			srv_log_job(jobs[i]->id, "queued", "recovered at start-up");
	}
	srv_jobs_put_all(svc, jobs, n);
	return ret;
}

static void srv_jobs_count(srv_job *job, void *opaque)
{
	struct srv_gauges *g = opaque;

	g->jobs[job->status]++;
}

void srv_jobs_gauges(srv_service *svc, struct srv_gauges *g)
{
	*g = (struct srv_gauges){ 0 };
	srv_store_each(svc->store, srv_jobs_count, g);
	g->queue_depth = (int64_t)srv_queue_depth(svc->queue);
	g->workers = srv_pool_size(svc->pool);
	g->workers_busy = srv_pool_busy(svc->pool);
}
