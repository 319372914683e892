/* Tests of server/srv_metrics.c: the Prometheus text page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_metrics.h"

static void expect_line(const char *text, const char *line)
{
	const char *p = strstr(text, line);

	if (!p || (p != text && p[-1] != '\n') || p[strlen(line)] != '\n')
		fail_msg("missing line: %s", line);
}

static void test_render(void **state)
{
	srv_metrics *m = srv_metrics_create();
	struct srv_gauges g = { .jobs = { 2, 1, 3, 0, 1 }, .queue_depth = 2,
				.workers = 4, .workers_busy = 1 };
	char *text;

	(void)state;
	srv_metrics_request(m, SRV_OP_GET_JOB, 200, 0.0007);
	srv_metrics_request(m, SRV_OP_GET_JOB, 200, 0.02);
	srv_metrics_request(m, SRV_OP_GET_JOB, 404, 0.0001);
	srv_metrics_request(m, SRV_OP_CREATE_JOB, 202, 0.3);
	srv_metrics_frames(m, 24);
	srv_metrics_frames(m, 6);
	srv_metrics_job(m, SRV_SUCCEEDED, 4.2);
	text = srv_metrics_render(m, &g);
	assert_non_null(text);
	expect_line(text, "# TYPE maskattn_http_requests_total counter");
	expect_line(text, "maskattn_http_requests_total{op=\"get_job\",method=\"GET\","
		    "route=\"/v1/jobs/{id}\",code=\"200\"} 2");
	expect_line(text, "maskattn_http_requests_total{op=\"get_job\",method=\"GET\","
		    "route=\"/v1/jobs/{id}\",code=\"404\"} 1");
	expect_line(text, "maskattn_http_requests_total{op=\"create_job\",method=\"POST\","
		    "route=\"/v1/jobs\",code=\"202\"} 1");
	expect_line(text, "maskattn_http_request_duration_seconds_bucket{op=\"get_job\","
		    "method=\"GET\",route=\"/v1/jobs/{id}\",le=\"0.0005\"} 1");
	expect_line(text, "maskattn_http_request_duration_seconds_bucket{op=\"get_job\","
		    "method=\"GET\",route=\"/v1/jobs/{id}\",le=\"0.001\"} 2");
	expect_line(text, "maskattn_http_request_duration_seconds_bucket{op=\"get_job\","
		    "method=\"GET\",route=\"/v1/jobs/{id}\",le=\"+Inf\"} 3");
	expect_line(text, "maskattn_http_request_duration_seconds_count{op=\"get_job\","
		    "method=\"GET\",route=\"/v1/jobs/{id}\"} 3");
	expect_line(text, "maskattn_jobs{status=\"succeeded\"} 3");
	expect_line(text, "maskattn_jobs{status=\"queued\"} 2");
	expect_line(text, "maskattn_jobs_finished_total{status=\"succeeded\"} 1");
	expect_line(text, "maskattn_job_duration_seconds_bucket{le=\"2.5\"} 0");
	expect_line(text, "maskattn_job_duration_seconds_bucket{le=\"5\"} 1");
	expect_line(text, "maskattn_job_duration_seconds_sum 4.2");
	expect_line(text, "maskattn_frames_processed_total 30");
	expect_line(text, "maskattn_queue_depth 2");
	expect_line(text, "maskattn_workers_busy 1");
	expect_line(text, "maskattn_worker_utilization 0.25");
	free(text);
	srv_metrics_free(m);
}

static void test_many_codes_share_the_last_slot(void **state)
{
	srv_metrics *m = srv_metrics_create();
	struct srv_gauges g = { 0 };
	char *text;
	int code;

	(void)state;
	for (code = 400; code < 420; code++)
		srv_metrics_request(m, SRV_OP_NOT_FOUND, code, 0.001);
	text = srv_metrics_render(m, &g);
	expect_line(text, "maskattn_http_requests_total{op=\"not_found\",method=\"any\","
		    "route=\"unmatched\",code=\"415\"} 5");
	assert_null(strstr(text, "code=\"416\""));
	free(text);
	srv_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_many_codes_share_the_last_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
