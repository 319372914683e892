/* Tests of server/srv_store.c: commits, atomic state files, recovery scan, listing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cJSON.h>

#include "server/srv_store.h"
#include "srv_test_util.h"

struct fixture {
	char dir[64];
	srv_dirs *dirs;
	srv_store *store;
};

/* Opens the data directory as the embedded backend does, then the store. */
static int open_store(struct fixture *f)
{
	char err[256];

	if (srv_dirs_open(f->dir, true, &f->dirs, err, sizeof(err)) < 0)
		return -1;
	return srv_store_open(f->dirs, &f->store, err, sizeof(err));
}

static void close_store(struct fixture *f)
{
	srv_store_free(f->store);
	srv_dirs_free(f->dirs);
}

static int setup(void **state)
{
	static struct fixture f;

	srv_test_tmpdir(f.dir, sizeof(f.dir));
	if (open_store(&f) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close_store(f);
	srv_fs_remove_tree(f->dir);
	return 0;
}

static void reopen(struct fixture *f)
{
	close_store(f);
	assert_int_equal(open_store(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Stages and commits a job with one input; returns it (the index's reference). */
static srv_job *add_job(struct fixture *f, const char *id, const char *owner)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	srv_job *job = srv_job_create(id);

	assert_int_equal(srv_dirs_stage(f->dirs, id, dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/input-00", dir);
	assert_int_equal(srv_fs_write_atomic(path, "clip", 4), 0);
	snprintf(job->owner, sizeof(job->owner), "%s", owner);
	job->spec = strdup("{\"mode\":\"stabilize\",\"video\":\"clip\"}");
	assert_int_equal(srv_job_add_input(job, "clip", "input-00"), 0);
	assert_int_equal(srv_store_commit(f->store, job), 0);
	return job;
}

static void test_open_makes_dirs_and_clears_tmp(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tmp/leftover", f->dir);
	assert_int_equal(srv_fs_mkdir(path), 0);
	reopen(f);
	assert_false(exists(path));
	snprintf(path, sizeof(path), "%s/jobs", f->dir);
	assert_true(exists(path));
}

static void test_commit_and_get(void **state)
{
	struct fixture *f = *state;
	const char *id = "00000000000000000000000000000001";
	char path[PATH_MAX];
	srv_job *job;

	add_job(f, id, "");
	assert_int_equal(srv_dirs_path(f->dirs, id, SRV_STATE_FILE, path, sizeof(path)), 0);
	assert_true(exists(path));
	assert_int_equal(srv_dirs_path(f->dirs, id, "input-00", path, sizeof(path)), 0);
	assert_true(exists(path));
	snprintf(path, sizeof(path), "%s/tmp/%s", f->dir, id);
	assert_false(exists(path));
	job = srv_store_get(f->store, id, "");
	assert_non_null(job);
	assert_null(srv_store_get(f->store, id, "someone else"));
	assert_null(srv_store_get(f->store, "00000000000000000000000000000002", ""));
	srv_store_put(f->store, job);
}

static void test_save_is_atomic_and_recovery_requeues(void **state)
{
	struct fixture *f = *state;
	const char *id = "00000000000000000000000000000003";
	char path[PATH_MAX];
	srv_job *job = add_job(f, id, "owner");

	srv_store_lock(f->store);
	job->status = SRV_RUNNING;
	job->started_ns = 1700000000000000000;
	job->frames_done = 5;
	srv_store_unlock(f->store);
	assert_int_equal(srv_store_save(f->store, job), 0);
	snprintf(path, sizeof(path), "%s/jobs/%s/state.json.tmp", f->dir, id);
	assert_false(exists(path));
	reopen(f);
	job = srv_store_get(f->store, id, "owner");
	assert_non_null(job);
	assert_int_equal(job->status, SRV_QUEUED);
	assert_int_equal(job->started_ns, 0);
	assert_int_equal(job->frames_done, 0);
	assert_string_equal(job->spec, "{\"mode\":\"stabilize\",\"video\":\"clip\"}");
	assert_string_equal(srv_job_input(job, "clip"), "input-00");
	srv_store_put(f->store, job);
}

static void test_unreadable_job_dir_is_skipped(void **state)
{
	struct fixture *f = *state;
	const char *id = "00000000000000000000000000000004";
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/jobs/%s", f->dir, id);
	assert_int_equal(srv_fs_mkdir(path), 0);
	snprintf(path, sizeof(path), "%s/jobs/%s/state.json", f->dir, id);
	assert_int_equal(srv_fs_write_atomic(path, "{not json", 9), 0);
	snprintf(path, sizeof(path), "%s/jobs/%s/spec.json", f->dir, id);
	assert_int_equal(srv_fs_write_atomic(path, "{}", 2), 0);
	reopen(f);
	assert_null(srv_store_get(f->store, id, ""));
	assert_true(exists(path));
}

static bool is_queued(const srv_job *job, const void *opaque)
{
	(void)opaque;
	return job->status == SRV_QUEUED;
}

static void test_select_oldest_first_and_remove(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = { "0000000000000000000000000000000b",
			      "0000000000000000000000000000000a" };
	char path[PATH_MAX];
	srv_job **jobs;
	int n;

	add_job(f, ids[0], "");
	add_job(f, ids[1], "");
	n = srv_store_select(f->store, is_queued, NULL, &jobs);
	assert_int_equal(n, 2);
	assert_string_equal(jobs[0]->id, ids[0]);
	assert_string_equal(jobs[1]->id, ids[1]);
	assert_int_equal(srv_store_remove(f->store, jobs[0]), 0);
	assert_true(jobs[0]->removed);
	assert_int_equal(srv_store_save(f->store, jobs[0]), 0);
	srv_dirs_path(f->dirs, ids[0], NULL, path, sizeof(path));
	assert_false(exists(path));
	assert_null(srv_store_get(f->store, ids[0], ""));
	srv_store_put(f->store, jobs[0]);
	srv_store_put(f->store, jobs[1]);
	free(jobs);
}

/* The ids of a page, and its next cursor ("" when null). */
static void page(struct fixture *f, const char *owner, const char *cursor,
		 size_t limit, char ids[][SRV_ID_LEN + 1], size_t *n, char *next)
{
	cJSON *doc, *item;
	char *text;

	assert_int_equal(srv_store_list(f->store, owner, cursor, limit, &text), 0);
	doc = cJSON_Parse(text);
	*n = 0;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(doc, "jobs"))
		snprintf(ids[(*n)++], SRV_ID_LEN + 1, "%s",
			 cJSON_GetObjectItem(item, "id")->valuestring);
	item = cJSON_GetObjectItem(doc, "next_cursor");
	snprintf(next, 64, "%s", cJSON_IsString(item) ? item->valuestring : "");
	cJSON_Delete(doc);
	free(text);
}

static void test_list_pages(void **state)
{
	struct fixture *f = *state;
	char ids[4][SRV_ID_LEN + 1], got[4][SRV_ID_LEN + 1], next[64], again[64];
	size_t i, n;
	char *text;

	for (i = 0; i < 3; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%032zx", 0x100 + i);
		add_job(f, ids[i], "me");
	}
	add_job(f, "00000000000000000000000000000999", "other");
	page(f, "me", NULL, 2, got, &n, next);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], ids[2]);
	assert_string_equal(got[1], ids[1]);
	assert_true(next[0]);
	page(f, "me", next, 2, got, &n, again);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], ids[0]);
	assert_string_equal(again, "");
	assert_int_equal(srv_store_list(f->store, "me", "garbage", 2, &text), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_makes_dirs_and_clears_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_and_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_is_atomic_and_recovery_requeues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_job_dir_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_oldest_first_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
