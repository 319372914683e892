/*
 * srv_store: jobs indexed twice: an array in (created, id) order for
 * listing, and a search tree by id for lookups.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "server/srv_clock.h"
#include "server/srv_fs.h"
#include "server/srv_log.h"
#include "server/srv_store.h"

/* Largest state or spec file read back. */
#define SRV_STATE_MAX (1 << 20)

struct srv_store {
	srv_dirs *dirs;                 /* borrowed */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_mutex_t save_lock;      /* orders state file writes */
	srv_job **jobs;                 /* owned references, by (created, id) */
	size_t count, cap;
	void *by_id;                    /* tsearch tree of the same jobs */
};

static int srv_job_cmp_id(const void *a, const void *b)
{
	return strcmp(((const srv_job *)a)->id, ((const srv_job *)b)->id);
}


/* Adds job to both indexes (lock held or no other thread). */
static int srv_store_index(srv_store *store, srv_job *job)
{
	srv_job **jobs;
	size_t cap, i;

	if (store->count == store->cap) {
		cap = store->cap ? 2 * store->cap : 64;
		jobs = realloc(store->jobs, cap * sizeof(*jobs));
		if (!jobs)
			return -ENOMEM;
		store->jobs = jobs;
		store->cap = cap;
	}
	if (!tsearch(job, &store->by_id, srv_job_cmp_id))
		return -ENOMEM;
	for (i = store->count; i > 0; i--) {
		const srv_job *prev = store->jobs[i - 1];

		if (srv_job_cmp_age(prev, job->created_ns, job->id) < 0)
			break;
		store->jobs[i] = store->jobs[i - 1];
	}
	store->jobs[i] = job;
	store->count++;
	job->refs = 1;
	return 0;
}

/* Removes job from both indexes, lock held. */
static void srv_store_unindex(srv_store *store, srv_job *job)
{
	size_t i;

	for (i = 0; i < store->count && store->jobs[i] != job; i++)
		;
	if (i == store->count)
		return;
	memmove(&store->jobs[i], &store->jobs[i + 1],
		(store->count - i - 1) * sizeof(*store->jobs));
	store->count--;
	tdelete(job, &store->by_id, srv_job_cmp_id);
}

/* Reads the file name of job id whole into *text. */
static int srv_store_read(srv_store *store, const char *id, const char *name,
			  char **text, size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	ret = srv_dirs_path(store->dirs, id, name, path, sizeof(path));
	if (!ret)
		ret = srv_fs_read_all(path, SRV_STATE_MAX, text, len);
	if (ret < 0)
		snprintf(err, errlen, "job %.32s: %s: %s", id, name, strerror(-ret));
	return ret;
}

/* Reads one job directory; spec and state must both be there. */
static int srv_store_load_job(srv_store *store, const char *id, srv_job **out,
			      char *err, size_t errlen)
{
	char *text, *spec;
	size_t len, spec_len;
	int ret;

	ret = srv_store_read(store, id, SRV_STATE_FILE, &text, &len, err, errlen);
	if (ret < 0)
		return ret;
	ret = srv_store_read(store, id, SRV_SPEC_FILE, &spec, &spec_len, err, errlen);
	if (ret < 0)
		goto free_text;
	ret = srv_job_from_state(text, len, out, err, errlen);
	if (ret < 0)
		goto free_spec;
	(*out)->spec = spec;
	free(text);
	return 0;

free_spec:
	free(spec);
free_text:
	free(text);
	return ret;
}

/* A job found running was interrupted: it will run again from the start. */
static void srv_store_recover_job(srv_job *job)
{
	if (job->status != SRV_RUNNING)
		return;
	job->status = SRV_QUEUED;
	job->started_ns = 0;
	job->frames_done = 0;
	job->frames_total = 0;
}

static int srv_store_load(srv_store *store, char *err, size_t errlen)
{
	char path[PATH_MAX], why[512];
	struct dirent *de;
	srv_job *job;
	DIR *d;
	int ret = 0;

	srv_dirs_path(store->dirs, NULL, NULL, path, sizeof(path));
	d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		if (!srv_id_valid(de->d_name))
			continue;
		if (srv_store_load_job(store, de->d_name, &job, why, sizeof(why)) < 0) {
			srv_log(SRV_LOG_WARN, "job directory skipped", "%s", why);
			continue;
		}
		srv_store_recover_job(job);
		ret = srv_store_index(store, job);
		if (ret < 0)
			srv_job_free(job);
	}
	closedir(d);
	if (ret < 0)
		snprintf(err, errlen, "out of memory loading %s", path);
	return ret;
}

int srv_store_open(srv_dirs *dirs, srv_store **out, char *err, size_t errlen)
{
	srv_store *store = calloc(1, sizeof(*store));
	int ret;

	if (!store)
		return -ENOMEM;
	store->dirs = dirs;
	pthread_mutex_init(&store->lock, NULL);
	pthread_mutex_init(&store->save_lock, NULL);
	srv_cond_init(&store->changed);
	ret = srv_store_load(store, err, errlen);
	if (ret < 0)
		goto free_store;
	*out = store;
	return 0;

free_store:
	srv_store_free(store);
	return ret;
}

static void srv_store_tree_node_free(void *node)
{
	(void)node;
}

void srv_store_free(srv_store *store)
{
	size_t i;

	if (!store)
		return;
	tdestroy(store->by_id, srv_store_tree_node_free);
	for (i = 0; i < store->count; i++)
		srv_job_free(store->jobs[i]);
	free(store->jobs);
	pthread_cond_destroy(&store->changed);
	pthread_mutex_destroy(&store->save_lock);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

void srv_store_lock(srv_store *store)
{
	pthread_mutex_lock(&store->lock);
}

void srv_store_unlock(srv_store *store)
{
	pthread_mutex_unlock(&store->lock);
}

bool srv_store_wait(srv_store *store, int64_t deadline_ns)
{
	struct timespec ts = srv_deadline(deadline_ns);

	if (srv_mono_ns() >= deadline_ns)
		return false;
	pthread_cond_timedwait(&store->changed, &store->lock, &ts);
	return true;
}

void srv_store_broadcast(srv_store *store)
{
	pthread_cond_broadcast(&store->changed);
}

srv_job *srv_store_get(srv_store *store, const char *id, const char *owner)
{
	srv_job key, *job = NULL;
	void **node;

	snprintf(key.id, sizeof(key.id), "%s", id);
	pthread_mutex_lock(&store->lock);
	node = tfind(&key, &store->by_id, srv_job_cmp_id);
	if (node && !strcmp(((srv_job *)*node)->owner, owner)) {
		job = *node;
		job->refs++;
	}
	pthread_mutex_unlock(&store->lock);
	return job;
}

void srv_store_ref(srv_store *store, srv_job *job)
{
	pthread_mutex_lock(&store->lock);
	job->refs++;
	pthread_mutex_unlock(&store->lock);
}

void srv_store_put(srv_store *store, srv_job *job)
{
	bool last;

	pthread_mutex_lock(&store->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&store->lock);
	if (last)
		srv_job_free(job);
}

void srv_store_each(srv_store *store, void (*fn)(srv_job *job, void *opaque),
		    void *opaque)
{
	size_t i;

	pthread_mutex_lock(&store->lock);
	for (i = 0; i < store->count; i++)
		fn(store->jobs[i], opaque);
	pthread_mutex_unlock(&store->lock);
}

int srv_store_select(srv_store *store,
		     bool (*pred)(const srv_job *job, const void *opaque),
		     const void *opaque, srv_job ***out)
{
	srv_job **picked;
	size_t i;
	int n = 0;

	pthread_mutex_lock(&store->lock);
	picked = malloc((store->count + 1) * sizeof(*picked));
	for (i = 0; picked && i < store->count; i++) {
		if (pred(store->jobs[i], opaque)) {
			picked[n++] = store->jobs[i];
			store->jobs[i]->refs++;
		}
	}
	pthread_mutex_unlock(&store->lock);
	*out = picked;
	return picked ? n : -ENOMEM;
}

/* Writes text to a file of a staged (staged) or committed job, atomically. */
static int srv_store_write(srv_store *store, const char *id, bool staged,
			   const char *name, const char *text)
{
	char path[PATH_MAX];
	int ret = staged ? srv_dirs_staged(store->dirs, id, name, path, sizeof(path)) :
			   srv_dirs_path(store->dirs, id, name, path, sizeof(path));

	return ret < 0 ? ret : srv_fs_write_atomic(path, text, strlen(text));
}

int srv_store_commit(srv_store *store, srv_job *job)
{
	char *state;
	int ret;

	state = srv_job_state_json(job);
	if (!state)
		return -ENOMEM;
	ret = srv_store_write(store, job->id, true, SRV_SPEC_FILE, job->spec);
	if (!ret)
		ret = srv_store_write(store, job->id, true, SRV_STATE_FILE, state);
	free(state);
	if (!ret)
		ret = srv_dirs_adopt(store->dirs, job->id);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&store->lock);
	ret = srv_store_index(store, job);
	pthread_mutex_unlock(&store->lock);
	return ret;
}

int srv_store_save(srv_store *store, srv_job *job)
{
	char *state = NULL;
	int ret = 0;

	pthread_mutex_lock(&store->save_lock);
	pthread_mutex_lock(&store->lock);
	if (!job->removed)
		state = srv_job_state_json(job);
	if (!job->removed && !state)
		ret = -ENOMEM;
	pthread_mutex_unlock(&store->lock);
	if (state)
		ret = srv_store_write(store, job->id, false, SRV_STATE_FILE, state);
	pthread_mutex_unlock(&store->save_lock);
	free(state);
	return ret;
}

int srv_store_remove(srv_store *store, srv_job *job)
{
	bool last;
	int ret;

	pthread_mutex_lock(&store->save_lock);
	pthread_mutex_lock(&store->lock);
	if (job->removed) {
		pthread_mutex_unlock(&store->lock);
		pthread_mutex_unlock(&store->save_lock);
		return 0;
	}
	job->removed = true;
	srv_store_unindex(store, job);
	last = --job->refs == 0;
	pthread_mutex_unlock(&store->lock);
	ret = srv_dirs_remove(store->dirs, job->id);
	pthread_mutex_unlock(&store->save_lock);
	if (last)
		srv_job_free(job);
	return ret;
}

/* Appends the page's jobs, lock held; *last is the last one added. */
static int srv_store_page(srv_store *store, const char *owner, int64_t ns,
			  const char *id, size_t limit, cJSON *array,
			  const srv_job **last, bool *more)
{
	size_t i = store->count, added = 0;
	const srv_job *job;
	cJSON *item;

	*more = false;
	while (i-- > 0) {
		job = store->jobs[i];
		if (strcmp(job->owner, owner) ||
		    (id && srv_job_cmp_age(job, ns, id) >= 0))
			continue;
		if (added == limit) {
			*more = true;
			break;
		}
		item = srv_job_api_cjson(job);
		if (!item || !cJSON_AddItemToArray(array, item)) {
			cJSON_Delete(item);
			return -ENOMEM;
		}
		*last = job;
		added++;
	}
	return 0;
}

int srv_store_list(srv_store *store, const char *owner, const char *cursor,
		   size_t limit, char **out)
{
	char id[SRV_ID_LEN + 1], next[SRV_CURSOR_LEN];
	const srv_job *last = NULL;
	cJSON *array;
	int64_t ns = 0;
	bool more;
	int ret;

	if (cursor && srv_job_cursor_parse(cursor, &ns, id) < 0)
		return -EINVAL;
	array = cJSON_CreateArray();
	if (!array)
		return -ENOMEM;
	pthread_mutex_lock(&store->lock);
	ret = srv_store_page(store, owner, ns, cursor ? id : NULL, limit, array,
			     &last, &more);
	if (more)
		srv_job_cursor(last->created_ns, last->id, next);
	pthread_mutex_unlock(&store->lock);
	if (ret < 0) {
		cJSON_Delete(array);
		return ret;
	}
	*out = srv_job_page(array, more ? next : NULL);
	return *out ? 0 : -ENOMEM;
}
