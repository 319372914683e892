/* Tests of server/srv_redis_job.c: records written and read back, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_redis_job.h"

#define ID "0123456789abcdef0123456789abcdef"

static srv_job *sample(void)
{
	srv_job *job = srv_job_create(ID);

	job->spec = strdup("{\"mode\":\"stabilize\",\"video\":\"clip\"}");
	memset(job->owner, 'a', SRV_HASH_LEN);
	memset(job->body_hash, 'b', SRV_HASH_LEN);
	job->created_ns = 1763800000123456000;
	srv_job_add_input(job, "clip", "input-00");
	return job;
}

/* The value of field in rec. */
static const char *value(const struct srv_redis_record *rec, const char *field)
{
	size_t i;

	for (i = 0; i < rec->argc; i += 2)
		if (!strcmp(rec->argv[i], field))
			return rec->argv[i + 1];
	return NULL;
}

static void test_queued_record(void **state)
{
	struct srv_redis_record rec;
	srv_job *job = sample(), *back;
	char err[128];

	(void)state;
	assert_int_equal(srv_redis_job_encode(job, &rec), 0);
	assert_int_equal(rec.argc, 2 * SRV_REDIS_JOB_FIELDS);
	assert_string_equal(value(&rec, "status"), "queued");
	assert_string_equal(value(&rec, "created_us"), "1763800000123456");
	assert_string_equal(value(&rec, "entropy"), "");
	assert_string_equal(value(&rec, "error"), "");
	assert_string_equal(value(&rec, "idempotency_key"), "");
	assert_string_equal(value(&rec, "inputs"), "{\"clip\":\"input-00\"}");
	assert_int_equal(srv_redis_job_decode(rec.argv, rec.argc, &back, err, sizeof(err)), 0);
	assert_string_equal(back->id, ID);
	assert_int_equal(back->status, SRV_QUEUED);
	assert_int_equal(back->created_ns, job->created_ns);
	assert_false(back->metrics.done);
	assert_null(back->error);
	assert_null(back->idem_key);
	assert_string_equal(back->spec, job->spec);
	assert_string_equal(back->owner, job->owner);
	assert_string_equal(srv_job_input(back, "clip"), "input-00");
	srv_redis_job_release(&rec);
	srv_job_free(back);
	srv_job_free(job);
}

static void test_finished_record_with_extra_fields(void **state)
{
	const char *argv[2 * SRV_REDIS_JOB_FIELDS + 4];
	struct srv_redis_record rec;
	srv_job *job = sample(), *back;
	char err[128];

	(void)state;
	job->status = SRV_FAILED;
	job->started_ns = job->created_ns + 7000;
	job->finished_ns = job->created_ns + 9000;
	job->frames_done = 5;
	job->frames_total = 24;
	job->metrics = (struct srv_job_metrics){ 12.5, 1.75, 1.9, 3.5, true };
	job->idem_key = strdup("key-1");
	srv_job_set_error(job, 422, "invalid-input", "Bad", "mask0: no");
	assert_int_equal(srv_redis_job_encode(job, &rec), 0);
	argv[0] = "attempt";
	argv[1] = "node-1/7";
	memcpy(&argv[2], rec.argv, rec.argc * sizeof(*argv));
	argv[2 + rec.argc] = "runs";
	argv[3 + rec.argc] = "2";
	assert_int_equal(srv_redis_job_decode(argv, rec.argc + 4, &back, err, sizeof(err)), 0);
	assert_int_equal(back->status, SRV_FAILED);
	assert_int_equal(back->finished_ns, job->finished_ns);
	assert_int_equal(back->frames_done, 5);
	assert_true(back->metrics.done && back->metrics.entropy == 1.75 &&
		    back->metrics.fps == 12.5 && back->metrics.gflops == 3.5);
	assert_string_equal(back->error, job->error);
	assert_string_equal(back->idem_key, "key-1");
	srv_redis_job_release(&rec);
	srv_job_free(back);
	srv_job_free(job);
}

static void test_refusals(void **state)
{
	const char *argv[2 * SRV_REDIS_JOB_FIELDS];
	struct srv_redis_record rec;
	srv_job *job = sample(), *back;
	char err[128];
	size_t i;

	(void)state;
	assert_int_equal(srv_redis_job_encode(job, &rec), 0);
	memcpy(argv, rec.argv, sizeof(argv));
	for (i = 0; i < rec.argc; i += 2)
		if (!strcmp(argv[i], "status"))
			argv[i + 1] = "paused";
	assert_int_equal(srv_redis_job_decode(argv, rec.argc, &back, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field \"status\" is missing or wrong");
	memcpy(argv, rec.argv, sizeof(argv));
	for (i = 0; i < rec.argc; i += 2)
		if (!strcmp(argv[i], "frames_done"))
			argv[i + 1] = "5x";
	assert_int_equal(srv_redis_job_decode(argv, rec.argc, &back, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field \"frames_done\" is missing or wrong");
	assert_int_equal(srv_redis_job_decode(argv, 4, &back, err, sizeof(err)), -EINVAL);
	memcpy(argv, rec.argv, sizeof(argv));
	for (i = 0; i < rec.argc; i += 2)
		if (!strcmp(argv[i], "id"))
			argv[i + 1] = "../etc";
	assert_int_equal(srv_redis_job_decode(argv, rec.argc, &back, err, sizeof(err)), -EINVAL);
	srv_redis_job_release(&rec);
	srv_job_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queued_record),
		cmocka_unit_test(test_finished_record_with_extra_fields),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
