/*
 * srv_worker: the pool of workers. Each takes the next job from the
 * backend, runs it with pipe_job_run (progress reported as it goes; its
 * cancel flag stops it at the next frame) and has the backend record the
 * outcome: succeeded, failed with a problem object, canceled, or queued
 * again when the service is shutting down. The output is written under a
 * name of the run's own and renamed into place once whole, so two runs of
 * one job never write the same file. Workers (and the engine threads they
 * start) run at the lowest CPU priority, so the API stays responsive
 * while jobs compute.
 */
#ifndef SRV_WORKER_H
#define SRV_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api_spec.h"
#include "pipeline/pipe_job.h"
#include "server/srv_backend.h"
#include "server/srv_config.h"
#include "pipeline/pipe_limits.h"
#include "server/srv_metrics.h"

/* What the workers use; all borrowed, and must outlive the pool. */
struct srv_pool_deps {
	const struct srv_config *cfg;
	srv_backend *backend;
	srv_metrics *metrics;
	const struct pipe_limits *limits;   /* of the media */
};

/* A run's files: the inputs and where the run writes. */
struct srv_run_files {
	struct pipe_job_files files;    /* output, attention, coverage: the run's own files */
	const char *output;             /* where the output goes once whole */
	const char *attention;          /* the heatmap's place, NULL when not asked for */
	const char *coverage;           /* the mask video's place, NULL without masks */
	char **paths;                   /* owned: every string the files point to */
	size_t n_paths;
};

/*
 * The pipeline's view of job's files in dirs for spec (job's, parsed): its
 * inputs, and outputs named for a new run. 0 or -ENOMEM; release it either
 * way.
 */
int srv_run_files_build(struct srv_run_files *run, srv_dirs *dirs,
			const srv_job *job, const api_spec *spec);
void srv_run_files_release(struct srv_run_files *run);

typedef struct srv_pool srv_pool;

/* Starts cfg->workers threads. 0 or a negative errno. */
int srv_pool_start(const struct srv_pool_deps *deps, srv_pool **out);

/* Workers in the pool, and those running a job now. */
int srv_pool_size(const srv_pool *pool);
int srv_pool_busy(srv_pool *pool);

/*
 * After srv_backend_close: waits until no worker runs a job nor is taking
 * one, or until the CLOCK_MONOTONIC deadline (ns). True when they all
 * finished.
 */
bool srv_pool_wait_idle(srv_pool *pool, int64_t deadline_ns);

/* Cancels the running jobs so that they are queued again. */
void srv_pool_requeue_running(srv_pool *pool);

/* Joins the workers (the backend must be closed) and frees the pool. */
void srv_pool_free(srv_pool *pool);

#endif
