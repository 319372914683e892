/*
 * srv_job: one job as the service knows it, and its two JSON forms: the
 * API's job document (the pinned contract) and the state file the store
 * keeps on disk. The fields are guarded by the store's lock (srv_store);
 * this module itself takes no lock.
 */
#ifndef SRV_JOB_H
#define SRV_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/srv_hash.h"
#include "server/srv_id.h"

struct api_spec;
struct cJSON;
struct pipe_job_result;

/* Text of a list cursor "<created_ns>-<id>", with its NUL. */
#define SRV_CURSOR_LEN (20 + 1 + SRV_ID_LEN + 1)

/* Job statuses, in the order of the pinned contract. */
enum srv_status {
	SRV_QUEUED,
	SRV_RUNNING,
	SRV_SUCCEEDED,
	SRV_FAILED,
	SRV_CANCELED,
	SRV_STATUS_COUNT,
};

/* An uploaded part: the name the spec uses, the file in the job directory. */
struct srv_input {
	char *part;             /* owned */
	char *file;             /* owned, a name made by the server */
};

struct srv_job_metrics {
	double fps;             /* frames per second, live while running */
	double entropy;         /* attention_entropy_mean, once finished */
	double seconds;
	double gflops;
	bool done;              /* entropy, seconds and gflops are set */
};

typedef struct srv_job {
	char id[SRV_ID_LEN + 1];
	char owner[SRV_HASH_LEN + 1];   /* hash of the API key, "" without auth */
	enum srv_status status;
	int64_t created_ns, started_ns, finished_ns;    /* 0: not yet */
	int64_t frames_done, frames_total;
	struct srv_job_metrics metrics;
	char *error;            /* problem+json text when failed, owned */
	char *spec;             /* normalized spec JSON text, owned */
	char *idem_key;         /* Idempotency-Key, owned, NULL when none */
	char body_hash[SRV_HASH_LEN + 1];       /* of the upload's parts */
	struct srv_input *inputs;       /* owned */
	size_t n_inputs;

	/* Not stored. */
	atomic_int cancel;      /* the running pipeline stops when set */
	atomic_bool requeue;    /* cancelled by shutdown: back to queued */
	bool busy;              /* a worker holds the job */
	bool removed;           /* deleted: its directory is gone */
	int refs;               /* the store's, the queue's, handlers' */
} srv_job;

/*
 * A queued job with id, created now (to the microsecond, as records keep
 * times); NULL when out of memory.
 */
srv_job *srv_job_create(const char *id);
void srv_job_free(srv_job *job);

/* A copy of the stored fields of job (caller frees); NULL when out of memory. */
srv_job *srv_job_copy(const srv_job *job);

/*
 * The job's stored spec, parsed (caller frees with api_spec_free). 0,
 * -EINVAL when it does not parse (any more), -ENOMEM.
 */
int srv_job_spec(const srv_job *job, struct api_spec **out);

/* "queued", "running", ... */
const char *srv_status_name(enum srv_status status);

/* True for succeeded, failed and canceled. */
bool srv_status_final(enum srv_status status);

/* Records an uploaded part. 0 or -ENOMEM. */
int srv_job_add_input(srv_job *job, const char *part, const char *file);

/* The file of part, or NULL. */
const char *srv_job_input(const srv_job *job, const char *part);

/* The inputs as {"part": "file", ...} (caller deletes); NULL if out of memory. */
struct cJSON *srv_job_inputs_cjson(const srv_job *job);

/*
 * Adds the inputs of such an object to job. -EINVAL when it is not one,
 * -ENOMEM.
 */
int srv_job_read_inputs(srv_job *job, const struct cJSON *inputs);

/*
 * Sets the job's error to a problem object (replacing any). 0 or -ENOMEM.
 */
int srv_job_set_error(srv_job *job, int status, const char *slug,
		      const char *title, const char *detail);

/*
 * Enters the outcome of a run, ret and res from pipe_job_run (err its
 * message): succeeded, failed with a problem object, canceled, or queued
 * again when the run was cancelled to be requeued. Returns the status.
 */
enum srv_status srv_job_end_run(srv_job *job, int ret,
				const struct pipe_job_result *res, const char *err);

/*
 * Orders job against a job created at ns with id, as listings do
 * (oldest first, then by id): negative, 0 or positive.
 */
int srv_job_cmp_age(const srv_job *job, int64_t ns, const char *id);

/* The list cursor of the job created at ns with id. */
void srv_job_cursor(int64_t ns, const char *id, char buf[SRV_CURSOR_LEN]);

/* Reads a cursor into its time and id. -EINVAL when it is not one. */
int srv_job_cursor_parse(const char *cursor, int64_t *ns,
			 char id[SRV_ID_LEN + 1]);

/*
 * The text of a listing page, {"jobs": jobs, "next_cursor": next or null}
 * (caller frees); takes jobs, a cJSON array. NULL when out of memory.
 */
char *srv_job_page(struct cJSON *jobs, const char *next);

/* The API's job document as a cJSON object (caller deletes); NULL if out of memory. */
struct cJSON *srv_job_api_cjson(const srv_job *job);

/* The state file's text (caller frees); NULL if out of memory. */
char *srv_job_state_json(const srv_job *job);

/*
 * A job read back from a state file's text: every stored field but the
 * spec. -EINVAL when the text is not a state file (message in err).
 */
int srv_job_from_state(const char *text, size_t len, srv_job **out,
		       char *err, size_t errlen);

#endif
