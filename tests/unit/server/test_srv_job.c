/*
 * Tests of server/srv_job.c: the API document, the state file, copies,
 * the outcome of a run, list cursors and pages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "pipeline/pipe_job.h"
#include "server/srv_job.h"

#define ID "0123456789abcdef0123456789abcdef"

static srv_job *sample(void)
{
	srv_job *job = srv_job_create(ID);

	job->spec = strdup("{\"mode\":\"stabilize\",\"video\":\"clip\"}");
	job->idem_key = strdup("key-1");
	memset(job->owner, 'a', SRV_HASH_LEN);
	memset(job->body_hash, 'b', SRV_HASH_LEN);
	job->created_ns = 1763800000123456000;
	srv_job_add_input(job, "clip", "input-00");
	srv_job_add_input(job, "mask0", "input-01");
	return job;
}

/* The job's API document, printed and parsed back (its spec and error are raw JSON). */
static cJSON *api_doc(const srv_job *job)
{
	cJSON *raw = srv_job_api_cjson(job), *doc;
	char *text = cJSON_PrintUnformatted(raw);

	doc = cJSON_Parse(text);
	free(text);
	cJSON_Delete(raw);
	return doc;
}

static void test_api_document_queued(void **state)
{
	srv_job *job = sample();
	cJSON *doc = api_doc(job);

	(void)state;
	assert_string_equal(cJSON_GetObjectItem(doc, "id")->valuestring, ID);
	assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "queued");
	assert_true(cJSON_GetObjectItem(doc, "progress")->valuedouble == 0);
	assert_string_equal(cJSON_GetObjectItem(doc, "created_at")->valuestring,
			    "2025-11-22T08:26:40.123Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "started_at")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "finished_at")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "error")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "output_url")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "metrics"),
						     "attention_entropy_mean")));
	assert_null(cJSON_GetObjectItem(doc, "owner"));
	assert_null(cJSON_GetObjectItem(doc, "inputs"));
	cJSON_Delete(doc);
	srv_job_free(job);
}

static void test_api_document_finished(void **state)
{
	srv_job *job = sample();
	char *text;
	cJSON *doc;

	(void)state;
	job->status = SRV_RUNNING;
	job->started_ns = job->created_ns + 1000000;
	job->frames_done = 5;
	job->frames_total = 20;
	doc = api_doc(job);
	assert_true(cJSON_GetObjectItem(doc, "progress")->valuedouble == 0.25);
	cJSON_Delete(doc);
	job->status = SRV_FAILED;
	job->finished_ns = job->started_ns + 1000000;
	assert_int_equal(srv_job_set_error(job, 422, "invalid-input", "Bad", "mask0: no"), 0);
	doc = api_doc(job);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(doc, "error"));
	assert_non_null(strstr(text, "\"status\":422"));
	assert_non_null(strstr(text, "\"detail\":\"mask0: no\""));
	free(text);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "spec"), "mode")->valuestring,
			    "stabilize");
	cJSON_Delete(doc);
	job->status = SRV_SUCCEEDED;
	doc = api_doc(job);
	assert_string_equal(cJSON_GetObjectItem(doc, "output_url")->valuestring,
			    "/v1/jobs/" ID "/output");
	assert_true(cJSON_GetObjectItem(doc, "progress")->valuedouble == 1);
	cJSON_Delete(doc);
	srv_job_free(job);
}

static void test_state_round_trip(void **state)
{
	srv_job *job = sample(), *back;
	char err[128];
	char *text;

	(void)state;
	job->status = SRV_SUCCEEDED;
	job->started_ns = job->created_ns + 7000;
	job->finished_ns = job->created_ns + 9000;
	job->frames_done = job->frames_total = 24;
	job->metrics = (struct srv_job_metrics){ 12.5, 1.75, 1.9, 3.5, true };
	text = srv_job_state_json(job);
	assert_int_equal(srv_job_from_state(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_string_equal(back->id, ID);
	assert_int_equal(back->status, SRV_SUCCEEDED);
	assert_int_equal(back->created_ns, job->created_ns);
	assert_int_equal(back->finished_ns, job->finished_ns);
	assert_int_equal(back->frames_total, 24);
	assert_true(back->metrics.done && back->metrics.entropy == 1.75);
	assert_string_equal(back->owner, job->owner);
	assert_string_equal(back->body_hash, job->body_hash);
	assert_string_equal(back->idem_key, "key-1");
	assert_string_equal(srv_job_input(back, "mask0"), "input-01");
	assert_null(srv_job_input(back, "video"));
	assert_null(back->spec);
	free(text);
	srv_job_free(back);
	srv_job_free(job);
}

static void test_state_errors(void **state)
{
	const char *bad_id = "{\"id\":\"../x\",\"status\":\"queued\"}";
	const char *bad_status = "{\"id\":\"" ID "\",\"status\":\"paused\",\"created_us\":1,"
				 "\"started_us\":0,\"finished_us\":0,\"frames_done\":0,"
				 "\"frames_total\":0,\"owner\":\"\",\"body_sha256\":\"\","
				 "\"inputs\":{}}";
	srv_job *job;
	char err[128];

	(void)state;
	assert_int_equal(srv_job_from_state("[]", 2, &job, err, sizeof(err)), -EINVAL);
	assert_int_equal(srv_job_from_state(bad_id, strlen(bad_id), &job, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(srv_job_from_state(bad_status, strlen(bad_status), &job, err,
					    sizeof(err)), -EINVAL);
	assert_string_equal(err, "member \"status\" is missing or wrong");
}

static void test_copy_is_deep(void **state)
{
	srv_job *job = sample(), *copy;

	(void)state;
	job->status = SRV_RUNNING;
	job->frames_done = 3;
	job->metrics.fps = 9.5;
	copy = srv_job_copy(job);
	assert_non_null(copy);
	assert_string_equal(copy->id, ID);
	assert_int_equal(copy->status, SRV_RUNNING);
	assert_int_equal(copy->created_ns, job->created_ns);
	assert_int_equal(copy->frames_done, 3);
	assert_true(copy->metrics.fps == 9.5);
	assert_ptr_not_equal(copy->spec, job->spec);
	assert_string_equal(copy->spec, job->spec);
	assert_string_equal(copy->idem_key, "key-1");
	assert_null(copy->error);
	assert_string_equal(srv_job_input(copy, "mask0"), "input-01");
	srv_job_free(job);
	assert_string_equal(copy->owner, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	srv_job_free(copy);
}

static void test_end_run_transitions(void **state)
{
	struct pipe_job_result res = { .frames = 24, .fps = 30, .seconds = 0.8,
				       .attention_entropy_mean = 2.5, .gflops = 4 };
	srv_job *job = sample();

	(void)state;
	job->status = SRV_RUNNING;
	job->started_ns = job->created_ns + 1000;
	assert_int_equal(srv_job_end_run(job, 0, &res, ""), SRV_SUCCEEDED);
	assert_int_equal(job->frames_done, 24);
	assert_true(job->metrics.done && job->metrics.entropy == 2.5);
	assert_true(job->finished_ns > 0);
	job->status = SRV_RUNNING;
	assert_int_equal(srv_job_end_run(job, -ECANCELED, &res, ""), SRV_CANCELED);
	job->status = SRV_RUNNING;
	assert_int_equal(srv_job_end_run(job, -EFBIG, &res, "clip: 9000 frames"), SRV_FAILED);
	assert_non_null(strstr(job->error, "\"status\":413"));
	assert_non_null(strstr(job->error, "clip: 9000 frames"));
	job->status = SRV_RUNNING;
	assert_int_equal(srv_job_end_run(job, -ENOSPC, &res, "output.mp4: No space left on device"),
			 SRV_FAILED);
	assert_non_null(strstr(job->error, "\"status\":507"));
	assert_non_null(strstr(job->error, "insufficient-storage"));
	job->status = SRV_RUNNING;
	atomic_store(&job->requeue, true);
	assert_int_equal(srv_job_end_run(job, -ECANCELED, &res, ""), SRV_QUEUED);
	assert_int_equal(job->started_ns, 0);
	assert_int_equal(job->frames_done, 0);
	srv_job_free(job);
}

static void test_cursors_sort_as_jobs(void **state)
{
	char a[SRV_CURSOR_LEN], b[SRV_CURSOR_LEN], id[SRV_ID_LEN + 1];
	srv_job *job = sample();
	int64_t ns;

	(void)state;
	srv_job_cursor(999, ID, a);
	srv_job_cursor(1000, ID, b);
	assert_string_equal(a, "0000000000000000999-" ID);
	assert_true(strcmp(a, b) < 0);
	assert_int_equal(srv_job_cursor_parse(b, &ns, id), 0);
	assert_int_equal(ns, 1000);
	assert_string_equal(id, ID);
	assert_true(srv_job_cmp_age(job, job->created_ns + 1, ID) < 0);
	assert_true(srv_job_cmp_age(job, job->created_ns, "0123456789abcdef0123456789abcdee") > 0);
	assert_int_equal(srv_job_cursor_parse("12-notanid", &ns, id), -EINVAL);
	assert_int_equal(srv_job_cursor_parse("-" ID, &ns, id), -EINVAL);
	srv_job_free(job);
}

static void test_page_document(void **state)
{
	char *text;

	(void)state;
	text = srv_job_page(cJSON_CreateArray(), NULL);
	assert_string_equal(text, "{\"jobs\":[],\"next_cursor\":null}");
	free(text);
	text = srv_job_page(cJSON_CreateArray(), "1-x");
	assert_string_equal(text, "{\"jobs\":[],\"next_cursor\":\"1-x\"}");
	free(text);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(srv_status_name(SRV_CANCELED), "canceled");
	assert_string_equal(srv_status_name(SRV_STATUS_COUNT), "unknown");
	assert_true(srv_status_final(SRV_FAILED));
	assert_false(srv_status_final(SRV_RUNNING));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_document_queued),
		cmocka_unit_test(test_api_document_finished),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_copy_is_deep),
		cmocka_unit_test(test_end_run_transitions),
		cmocka_unit_test(test_cursors_sort_as_jobs),
		cmocka_unit_test(test_page_document),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
