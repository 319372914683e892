/*
 * Tests of server/srv_webhook.c: what a submit is told about a webhook URL
 * (no secret, not http(s), a refused destination, one the list allows, a
 * name left to delivery), and a job whose spec has no webhook queues
 * nothing. Deliveries themselves run against a real receiver in
 * tests/e2e/test_server_webhooks.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_webhook.h"

/* The webhooks of a configuration (one at a time: it must outlive them). */
static srv_webhooks *webhooks(char *secret, char *allow, srv_metrics **m)
{
	static struct srv_config cfg;
	srv_webhooks *w = NULL;
	char err[160] = "";

	cfg.webhook_secret = secret;
	cfg.webhook_allow = allow;
	*m = srv_metrics_create();
	assert_int_equal(srv_webhooks_create(&cfg, *m, &w, err, sizeof(err)), 0);
	return w;
}

static void check(srv_webhooks *w, const char *url, int want, const char *text)
{
	char msg[320] = "";

	assert_int_equal(srv_webhooks_check(w, url, msg, sizeof(msg)), want);
	if (text && !strstr(msg, text))
		fail_msg("%s: \"%s\" lacks \"%s\"", url, msg, text);
}

static void test_without_a_secret_nothing_is_accepted(void **state)
{
	srv_metrics *m;
	srv_webhooks *w = webhooks(NULL, NULL, &m);

	(void)state;
	check(w, "https://example.com/hook", -EPERM, "--webhook-secret");
	srv_webhooks_free(w);
	srv_metrics_free(m);
}

static void test_default_list(void **state)
{
	srv_metrics *m;
	srv_webhooks *w = webhooks("s", NULL, &m);

	(void)state;
	check(w, "https://example.com/hook?x=1", 0, NULL);
	check(w, "http://hooks.example.com:8080/", 0, NULL);
	check(w, "http://127.0.0.1:9000/x", -EPERM, "127.0.0.1");
	check(w, "http://localhost/x", -EPERM, "--webhook-allow");
	check(w, "http://[::1]:80/x", -EPERM, "::1");
	check(w, "http://169.254.169.254/latest/meta-data", -EPERM, "link-local");
	check(w, "http://10.0.0.7/", -EPERM, NULL);
	check(w, "ftp://example.com/x", -EPERM, "http:// or https://");
	check(w, "not a url", -EPERM, NULL);
	srv_webhooks_free(w);
	srv_metrics_free(m);
}

static void test_allowed_destinations(void **state)
{
	srv_metrics *m;
	srv_webhooks *w = webhooks("s", "127.0.0.1,hooks.internal:8443,10.0.0.0/8", &m);

	(void)state;
	check(w, "http://127.0.0.1:9000/x", 0, NULL);
	check(w, "http://localhost:9000/x", 0, NULL);
	check(w, "https://hooks.internal:8443/x", 0, NULL);
	check(w, "http://10.200.0.1/", 0, NULL);
	check(w, "http://192.168.0.1/", -EPERM, NULL);
	srv_webhooks_free(w);
	srv_metrics_free(m);
}

/* A job without a webhook, or with an unparsable spec, queues nothing. */
static void test_jobs_without_webhook(void **state)
{
	srv_metrics *m;
	srv_webhooks *w = webhooks("s", NULL, &m);
	srv_job *job = srv_job_create("0123456789abcdef0123456789abcdef");

	(void)state;
	job->status = SRV_SUCCEEDED;
	srv_webhooks_job(w, job);
	job->spec = strdup("{\"mode\": \"stabilize\", \"video\": \"v\"}");
	srv_webhooks_job(w, job);
	srv_webhooks_free(w);
	srv_metrics_free(m);
	srv_job_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_a_secret_nothing_is_accepted),
		cmocka_unit_test(test_default_list),
		cmocka_unit_test(test_allowed_destinations),
		cmocka_unit_test(test_jobs_without_webhook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
