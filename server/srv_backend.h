/*
 * srv_backend: where the service keeps its jobs: their records, the queue
 * the workers take them from, the Idempotency-Keys. The files of a job
 * (inputs, output) are under the data directory whatever the backend
 * (srv_dirs).
 *
 * Two implementations, picked by srv_backend_open from the configuration:
 * srv_local, the default (records on the data directory, an in-process
 * queue: one node), and srv_redis_backend (records, keys and a stream
 * with a consumer group in Redis, shared by every replica pointed at it
 * and at one data directory).
 *
 * Jobs handed to the request handlers are copies they own (srv_job_free).
 * A job handed to a worker by srv_backend_take stays the backend's: the
 * worker reads its spec and inputs, reports with srv_backend_progress and
 * srv_backend_finish, stops when job->cancel is set, and gives it back
 * with srv_backend_release. Everything here is thread-safe. Functions
 * returning int answer 0 or a negative errno; -ENOTCONN means the backend
 * cannot be reached for now (the caller answers 503).
 */
#ifndef SRV_BACKEND_H
#define SRV_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/srv_clock.h"
#include "server/srv_config.h"
#include "server/srv_dirs.h"
#include "server/srv_idem.h"
#include "server/srv_job.h"
#include "server/srv_metrics.h"

struct pipe_job_result;
struct pipe_progress;

/* How long cancel waits for a running job to stop before answering. */
#define SRV_CANCEL_WAIT_NS (3 * SRV_NS_PER_S)

/* How long delete waits for a running job to stop. */
#define SRV_DELETE_WAIT_NS (30 * SRV_NS_PER_S)

typedef struct srv_backend srv_backend;

/* What an implementation provides; see the functions below. */
struct srv_backend_ops {
	void (*free)(srv_backend *b);
	bool (*ready)(srv_backend *b);
	int (*reserve)(srv_backend *b);
	void (*unreserve)(srv_backend *b);
	int (*idem_claim)(srv_backend *b, const char *owner, const char *key,
			  const char *body_hash, const char *job_id,
			  char found[SRV_ID_LEN + 1]);
	void (*idem_forget)(srv_backend *b, const char *owner, const char *key);
	int (*submit)(srv_backend *b, const srv_job *job);
	int (*get)(srv_backend *b, const char *id, const char *owner, srv_job **out);
	int (*list)(srv_backend *b, const char *owner, const char *cursor,
		    size_t limit, char **out);
	int (*cancel)(srv_backend *b, const char *id, const char *owner,
		      srv_job **out);
	int (*remove)(srv_backend *b, const char *id, const char *owner);
	void (*expire)(srv_backend *b, int64_t before_ns);
	void (*gauges)(srv_backend *b, struct srv_gauges *g);
	int (*take)(srv_backend *b, srv_job **out);
	void (*progress)(srv_backend *b, srv_job *job, const struct pipe_progress *p);
	int (*finish)(srv_backend *b, srv_job *job, int ret,
		      const struct pipe_job_result *res, const char *err);
	void (*release)(srv_backend *b, srv_job *job);
	void (*close)(srv_backend *b);
};

/* Told of a job (borrowed for the call) that has just become final here. */
typedef void (*srv_backend_final_fn)(void *opaque, const srv_job *job);

/* The part every implementation begins with. */
struct srv_backend {
	const struct srv_backend_ops *ops;
	srv_dirs *dirs;                 /* owned by the implementation */
	srv_backend_final_fn on_final;  /* NULL: none */
	void *final_opaque;
};

/*
 * Opens the backend cfg names (Redis with cfg->redis_url, else the local
 * one on cfg->data) and queues again the jobs that were waiting. node names
 * this process among the replicas. cfg, node and metrics are borrowed and
 * must outlive it. A negative errno with a message in err.
 */
int srv_backend_open(const struct srv_config *cfg, const char *node,
		     srv_metrics *metrics, srv_backend **out, char *err,
		     size_t errlen);

/* Frees the backend; the workers must have stopped. */
void srv_backend_free(srv_backend *b);

/* The data directory's layout. */
srv_dirs *srv_backend_dirs(srv_backend *b);

/* True when the backend can be reached (readiness). */
bool srv_backend_ready(srv_backend *b);

/*
 * Takes a place in the queue for an upload: -EAGAIN when the queued jobs
 * and the places taken fill it. A place is given back with
 * srv_backend_unreserve or used by srv_backend_submit.
 */
int srv_backend_reserve(srv_backend *b);
void srv_backend_unreserve(srv_backend *b);

/*
 * Looks up (owner, key); when absent records it with body_hash and job_id.
 * Returns an srv_idem_result or a negative errno; found receives the
 * recorded job id for SRV_IDEM_SAME.
 */
int srv_backend_idem_claim(srv_backend *b, const char *owner, const char *key,
			   const char *body_hash, const char *job_id,
			   char found[SRV_ID_LEN + 1]);

/* Forgets (owner, key), when its job was never made. */
void srv_backend_idem_forget(srv_backend *b, const char *owner, const char *key);

/*
 * Makes job (staged in the data directory, still the caller's) durable
 * and queues it, using the place the caller reserved.
 */
int srv_backend_submit(srv_backend *b, const srv_job *job);

/* A copy of job id when it belongs to owner; -ENOENT when there is none. */
int srv_backend_get(srv_backend *b, const char *id, const char *owner,
		    srv_job **out);

/*
 * A page of owner's jobs, newest first, as the JSON text of
 * {"jobs": [...], "next_cursor": "..." or null} (caller frees). cursor is
 * a previous page's next_cursor or NULL: -EINVAL when it is not one.
 */
int srv_backend_list(srv_backend *b, const char *owner, const char *cursor,
		     size_t limit, char **out);

/*
 * Cancels job id of owner: a queued one at once; a running one is asked to
 * stop, wherever it runs, and waited for a few seconds. Finished jobs are
 * left as they are. *out is a copy of the job afterwards.
 */
int srv_backend_cancel(srv_backend *b, const char *id, const char *owner,
		       srv_job **out);

/*
 * Deletes job id of owner: cancels it, waits until it stops (-EBUSY when
 * it does not), then removes its record, its files and its
 * Idempotency-Key. -ENOENT when there is no such job.
 */
int srv_backend_remove(srv_backend *b, const char *id, const char *owner);

/* Deletes the jobs that finished before before_ns (CLOCK_REALTIME). */
void srv_backend_expire(srv_backend *b, int64_t before_ns);

/* Fills the jobs by status and the queue depth of g (left as they are when
 * the backend cannot be reached). */
void srv_backend_gauges(srv_backend *b, struct srv_gauges *g);

/*
 * For a worker: waits for a job to run and marks it running.
 * -ESHUTDOWN once srv_backend_close was called.
 */
int srv_backend_take(srv_backend *b, srv_job **out);

/* A taken job's progress. */
void srv_backend_progress(srv_backend *b, srv_job *job,
			  const struct pipe_progress *p);

/*
 * Records the outcome of a taken job's run (see srv_job_end_run). Returns
 * the status entered, or -ESTALE when the job is no longer this run's
 * (another replica took it over, or it was deleted): nothing is recorded.
 */
int srv_backend_finish(srv_backend *b, srv_job *job, int ret,
		       const struct pipe_job_result *res, const char *err);

/* Gives a taken job back. */
void srv_backend_release(srv_backend *b, srv_job *job);

/*
 * Has fn called with opaque (borrowed, must outlive the backend) once for
 * each job that becomes succeeded, failed or canceled through this process:
 * a run it recorded, a cancel it made of a queued job, a job it failed for
 * too many runs. Set it before the workers start.
 */
void srv_backend_on_final(srv_backend *b, srv_backend_final_fn fn, void *opaque);

/* For implementations: job has just become final here. */
void srv_backend_final(srv_backend *b, const srv_job *job);

/* Wakes the srv_backend_take callers: no job is taken from now on. */
void srv_backend_close(srv_backend *b);

#endif
