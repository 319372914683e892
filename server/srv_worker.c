/* srv_worker: threads running jobs through the pipeline. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/api_spec.h"
#include "pipeline/pipe_job.h"
#include "server/srv_clock.h"
#include "server/srv_log.h"
#include "server/srv_worker.h"

/*
 * CPU priority of the workers and of the threads a job starts: its reader
 * and encoder run at this, its attention a few steps lower still (at most
 * 19; see pipe_job), all far below the API's threads.
 */
#define SRV_WORKER_NICE 14

struct srv_worker {
	pthread_t thread;
	srv_pool *pool;
	srv_job *job;           /* running now, NULL when idle (pool lock) */
	bool started;
};

struct srv_pool {
	struct srv_pool_deps deps;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct srv_worker *workers;
	int n_workers;
	int busy;               /* workers running a job */
	int taking;             /* workers in srv_backend_take */
};

/* A progress callback's context. */
struct srv_progress {
	srv_pool *pool;
	srv_job *job;
	int64_t frames_seen;
};

/* Adds the path of a job file to run; NULL when out of memory. */
static const char *srv_run_path(struct srv_run_files *run, srv_dirs *dirs,
				const srv_job *job, const char *file)
{
	char path[PATH_MAX];

	if (srv_dirs_path(dirs, job->id, file, path, sizeof(path)) < 0)
		return NULL;
	run->paths[run->n_paths] = strdup(path);
	return run->paths[run->n_paths++];
}

/* The uploaded file of part; NULL when part is NULL or not uploaded. */
static const char *srv_run_input(struct srv_run_files *run, srv_dirs *dirs,
				 const srv_job *job, const char *part)
{
	const char *file = part ? srv_job_input(job, part) : NULL;

	return file ? srv_run_path(run, dirs, job, file) : NULL;
}

/* The name of a file the run writes: file.<random>.part (output.mp4.<random>.part). */
static const char *srv_run_output(struct srv_run_files *run, srv_dirs *dirs,
				  const srv_job *job, const char *file)
{
	char name[sizeof(SRV_ATTENTION_FILE) + SRV_ID_LEN + sizeof("..part")];
	char nonce[SRV_ID_LEN + 1];

	if (srv_id_new(nonce) < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s.%s.part", file, nonce);
	return srv_run_path(run, dirs, job, name);
}

/* A file the run writes besides the output: its run's name and its place. */
static bool srv_run_extra(struct srv_run_files *run, srv_dirs *dirs,
			  const srv_job *job, const char *file, const char **written,
			  const char **place)
{
	*written = srv_run_output(run, dirs, job, file);
	*place = srv_run_path(run, dirs, job, file);
	return *written && *place;
}

int srv_run_files_build(struct srv_run_files *run, srv_dirs *dirs,
			const srv_job *job, const api_spec *spec)
{
	const char **masks, **keys;
	size_t i;

	memset(run, 0, sizeof(*run));
	run->paths = calloc(8 + spec->n_masks + spec->n_keyframes, sizeof(char *));
	masks = calloc(spec->n_masks + 1, sizeof(*masks));
	keys = calloc(spec->n_keyframes + 1, sizeof(*keys));
	run->files.mask_images = masks;
	run->files.keyframe_images = keys;
	if (!run->paths || !masks || !keys)
		return -ENOMEM;
	run->files.video = srv_run_input(run, dirs, job, spec->video);
	run->files.mask_video = srv_run_input(run, dirs, job, spec->mask_video);
	run->files.output = srv_run_output(run, dirs, job, SRV_OUTPUT_FILE);
	run->output = srv_run_path(run, dirs, job, SRV_OUTPUT_FILE);
	if ((spec->outputs & API_OUTPUT_ATTENTION) &&
	    !srv_run_extra(run, dirs, job, SRV_ATTENTION_FILE, &run->files.attention,
			   &run->attention))
		return -ENOMEM;
	if ((spec->n_masks || spec->mask_video) &&
	    !srv_run_extra(run, dirs, job, SRV_MASK_FILE, &run->files.coverage,
			   &run->coverage))
		return -ENOMEM;
	for (i = 0; i < spec->n_masks; i++)
		masks[i] = srv_run_input(run, dirs, job, spec->masks[i].image);
	for (i = 0; i < spec->n_keyframes; i++)
		keys[i] = srv_run_input(run, dirs, job, spec->keyframes[i].image);
	return run->files.video && run->files.output && run->output ? 0 : -ENOMEM;
}

/*
 * Puts the run's files in place, the output last (atomically each: readers
 * see one file or the other).
 */
static int srv_run_publish(const struct srv_run_files *run, char *err,
			   size_t errlen)
{
	const char *written[] = { run->files.attention, run->files.coverage, run->files.output };
	const char *place[] = { run->attention, run->coverage, run->output };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!written[i] || !rename(written[i], place[i]))
			continue;
		snprintf(err, errlen, "cannot store the output: %s", strerror(errno));
		for (; i < 3; i++)
			if (written[i])
				unlink(written[i]);
		return -EIO;
	}
	return 0;
}

void srv_run_files_release(struct srv_run_files *run)
{
	size_t i;

	for (i = 0; i < run->n_paths; i++)
		free(run->paths[i]);
	free(run->paths);
	free((void *)run->files.mask_images);
	free((void *)run->files.keyframe_images);
}

static void srv_worker_progress(void *opaque, const struct pipe_progress *p)
{
	struct srv_progress *prog = opaque;

	srv_backend_progress(prog->pool->deps.backend, prog->job, p);
	srv_metrics_frames(prog->pool->deps.metrics, p->frames_done - prog->frames_seen);
	prog->frames_seen = p->frames_done;
}

/* Runs job's spec through the pipeline; the job's fields are not touched. */
static int srv_worker_pipeline(srv_pool *pool, srv_job *job,
			       struct pipe_job_result *res, char *err,
			       size_t errlen)
{
	const struct srv_config *cfg = pool->deps.cfg;
	struct srv_progress prog = { pool, job, 0 };
	struct pipe_job_opts opts = {
		.threads = cfg->threads,
		.on_progress = srv_worker_progress,
		.opaque = &prog,
		.cancel = &job->cancel,
		.limits = pool->deps.limits,
	};
	struct srv_run_files run;
	api_spec *spec;
	int ret;

	ret = srv_job_spec(job, &spec);
	if (ret < 0) {
		snprintf(err, errlen, "the stored spec no longer parses");
		return ret;
	}
	ret = srv_run_files_build(&run, srv_backend_dirs(pool->deps.backend), job, spec);
	if (!ret)
		ret = pipe_job_run(spec, &run.files, &opts, res, err, errlen);
	else
		snprintf(err, errlen, "out of memory preparing the job");
	if (!ret)
		ret = srv_run_publish(&run, err, errlen);
	srv_run_files_release(&run);
	api_spec_free(spec);
	return ret;
}

static void srv_worker_run(struct srv_worker *w, srv_job *job)
{
	srv_pool *pool = w->pool;
	struct pipe_job_result res = { 0 };
	int64_t start = srv_mono_ns();
	char err[512] = "";
	int ret, status;

	srv_log_job(job->id, "running", NULL);
	ret = srv_worker_pipeline(pool, job, &res, err, sizeof(err));
	status = srv_backend_finish(pool->deps.backend, job, ret, &res, err);
	if (status < 0) {
		srv_log_job(job->id, "abandoned", status == -ESTALE ?
			    "taken over by another replica while it ran" :
			    "its outcome cannot be recorded: another replica runs it again");
		return;
	}
	srv_metrics_job(pool->deps.metrics, (enum srv_status)status,
			(double)(srv_mono_ns() - start) / SRV_NS_PER_S);
	srv_log_job(job->id, srv_status_name((enum srv_status)status),
		    ret ? err : NULL);
}

/*
 * Takes the next job for w; false once the backend is closed. A worker
 * counts as taking until the job it took counts as running, so a drain
 * never sees it idle while it holds a job.
 */
static bool srv_worker_take(struct srv_worker *w, srv_job **job)
{
	srv_pool *pool = w->pool;
	int ret;

	pthread_mutex_lock(&pool->lock);
	pool->taking++;
	pthread_mutex_unlock(&pool->lock);
	ret = srv_backend_take(pool->deps.backend, job);
	pthread_mutex_lock(&pool->lock);
	pool->taking--;
	if (!ret) {
		w->job = *job;
		pool->busy++;
	}
	pthread_cond_broadcast(&pool->idle);
	pthread_mutex_unlock(&pool->lock);
	return !ret;
}

static void *srv_worker_main(void *arg)
{
	struct srv_worker *w = arg;
	srv_pool *pool = w->pool;
	srv_job *job;

	setpriority(PRIO_PROCESS, (id_t)gettid(), SRV_WORKER_NICE);
	while (srv_worker_take(w, &job)) {
		srv_worker_run(w, job);
		pthread_mutex_lock(&pool->lock);
		w->job = NULL;
		pool->busy--;
		pthread_cond_broadcast(&pool->idle);
		pthread_mutex_unlock(&pool->lock);
		srv_backend_release(pool->deps.backend, job);
	}
	return NULL;
}

int srv_pool_start(const struct srv_pool_deps *deps, srv_pool **out)
{
	srv_pool *pool = calloc(1, sizeof(*pool));
	int i, ret = 0;

	if (!pool)
		return -ENOMEM;
	pool->deps = *deps;
	pool->n_workers = deps->cfg->workers;
	pthread_mutex_init(&pool->lock, NULL);
	srv_cond_init(&pool->idle);
	pool->workers = calloc((size_t)pool->n_workers, sizeof(*pool->workers));
	if (!pool->workers) {
		ret = -ENOMEM;
		goto free_pool;
	}
	for (i = 0; i < pool->n_workers && !ret; i++) {
		pool->workers[i].pool = pool;
		ret = -pthread_create(&pool->workers[i].thread, NULL,
				      srv_worker_main, &pool->workers[i]);
		pool->workers[i].started = !ret;
	}
	if (ret < 0)
		goto free_pool;
	*out = pool;
	return 0;

free_pool:
	srv_backend_close(deps->backend);
	srv_pool_free(pool);
	return ret;
}

int srv_pool_size(const srv_pool *pool)
{
	return pool->n_workers;
}

int srv_pool_busy(srv_pool *pool)
{
	int busy;

	pthread_mutex_lock(&pool->lock);
	busy = pool->busy;
	pthread_mutex_unlock(&pool->lock);
	return busy;
}

bool srv_pool_wait_idle(srv_pool *pool, int64_t deadline_ns)
{
	struct timespec ts = srv_deadline(deadline_ns);
	bool idle;

	pthread_mutex_lock(&pool->lock);
	while ((pool->busy || pool->taking) && srv_mono_ns() < deadline_ns)
		pthread_cond_timedwait(&pool->idle, &pool->lock, &ts);
	idle = !pool->busy && !pool->taking;
	pthread_mutex_unlock(&pool->lock);
	return idle;
}

void srv_pool_requeue_running(srv_pool *pool)
{
	int i;

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->n_workers; i++) {
		if (pool->workers[i].job) {
			atomic_store(&pool->workers[i].job->requeue, true);
			atomic_store(&pool->workers[i].job->cancel, 1);
		}
	}
	pthread_mutex_unlock(&pool->lock);
}

void srv_pool_free(srv_pool *pool)
{
	int i;

	if (!pool)
		return;
	for (i = 0; pool->workers && i < pool->n_workers; i++)
		if (pool->workers[i].started)
			pthread_join(pool->workers[i].thread, NULL);
	free(pool->workers);
	pthread_cond_destroy(&pool->idle);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
