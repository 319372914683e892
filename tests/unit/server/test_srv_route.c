/* Tests of server/srv_route.c: operations from methods and paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/srv_route.h"

#define ID "0123456789abcdef0123456789abcdef"

static void expect(const char *method, const char *path, enum srv_op op,
		   const char *route)
{
	struct srv_match m;

	srv_route_match(method, path, &m);
	assert_int_equal(m.op, op);
	assert_string_equal(m.route, route);
}

static void test_routes(void **state)
{
	struct srv_match m;

	(void)state;
	expect("POST", "/v1/jobs", SRV_OP_CREATE_JOB, "/v1/jobs");
	expect("GET", "/v1/jobs", SRV_OP_LIST_JOBS, "/v1/jobs");
	expect("HEAD", "/v1/jobs/" ID, SRV_OP_GET_JOB, "/v1/jobs/{id}");
	expect("DELETE", "/v1/jobs/" ID, SRV_OP_DELETE_JOB, "/v1/jobs/{id}");
	expect("GET", "/v1/jobs/" ID "/output", SRV_OP_GET_OUTPUT, "/v1/jobs/{id}/output");
	expect("POST", "/v1/jobs/" ID "/cancel", SRV_OP_CANCEL_JOB, "/v1/jobs/{id}/cancel");
	expect("HEAD", "/v1/jobs/" ID "/events", SRV_OP_GET_EVENTS, "/v1/jobs/{id}/events");
	expect("GET", "/v1/jobs/" ID "/attention", SRV_OP_GET_ATTENTION, "/v1/jobs/{id}/attention");
	expect("GET", "/v1/jobs/" ID "/frames/0.png", SRV_OP_GET_FRAME, "/v1/jobs/{id}/frames/{n}.png");
	srv_route_match("GET", "/v1/jobs/" ID "/frames/123456789012345678.png", &m);
	assert_int_equal(m.op, SRV_OP_GET_FRAME);
	assert_int_equal(m.frame, 123456789012345678LL);
	expect("GET", "/healthz", SRV_OP_HEALTHZ, "/healthz");
	expect("GET", "/readyz", SRV_OP_READYZ, "/readyz");
	expect("GET", "/metrics", SRV_OP_METRICS, "/metrics");
	expect("GET", "/openapi.yaml", SRV_OP_OPENAPI, "/openapi.yaml");
	srv_route_match("GET", "/v1/jobs/" ID "/output", &m);
	assert_string_equal(m.id, ID);
}

static void test_studio(void **state)
{
	char long_name[SRV_STUDIO_NAME_MAX + 16];
	struct srv_match m;

	(void)state;
	expect("GET", "/", SRV_OP_STUDIO, "/");
	expect("HEAD", "/", SRV_OP_STUDIO, "/");
	srv_route_match("GET", "/studio/studio.js", &m);
	assert_int_equal(m.op, SRV_OP_STUDIO_FILE);
	assert_string_equal(m.route, "/studio/{file}");
	assert_string_equal(m.file, "studio.js");
	srv_route_match("GET", "/studio/../x", &m);
	assert_string_equal(m.file, "../x");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	memcpy(long_name, "/studio/", 8);
	srv_route_match("GET", long_name, &m);
	assert_int_equal(m.op, SRV_OP_STUDIO_FILE);
	assert_string_equal(m.file, "");
	srv_route_match("POST", "/", &m);
	assert_int_equal(m.op, SRV_OP_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	assert_false(srv_route_is_v1("/"));
	assert_false(srv_route_is_v1("/studio/studio.js"));
	assert_string_equal(srv_op_route(SRV_OP_STUDIO_FILE), "/studio/{file}");
}

static void test_not_found_and_bad_method(void **state)
{
	struct srv_match m;

	(void)state;
	expect("GET", "/index.html", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/studio", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/outputs", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/0123456789ABCDEF0123456789abcdef", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/../../etc/passwd", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/01.png", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/-1.png", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/1.jpg", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/.png", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/1234567890123456789.png", SRV_OP_NOT_FOUND, "unmatched");
	expect("GET", "/v1/jobs/" ID "/frames/1.png/x", SRV_OP_NOT_FOUND, "unmatched");
	srv_route_match("PUT", "/v1/jobs/" ID, &m);
	assert_int_equal(m.op, SRV_OP_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, DELETE");
	srv_route_match("GET", "/v1/jobs/" ID "/cancel", &m);
	assert_int_equal(m.op, SRV_OP_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
}

static void test_v1_and_labels(void **state)
{
	(void)state;
	assert_true(srv_route_is_v1("/v1/jobs"));
	assert_true(srv_route_is_v1("/v1/anything"));
	assert_false(srv_route_is_v1("/healthz"));
	assert_false(srv_route_is_v1("/v10/jobs"));
	assert_string_equal(srv_op_method(SRV_OP_DELETE_JOB), "DELETE");
	assert_string_equal(srv_op_route(SRV_OP_CANCEL_JOB), "/v1/jobs/{id}/cancel");
	assert_string_equal(srv_op_route(SRV_OP_NOT_FOUND), "unmatched");
	assert_string_equal(srv_op_method(SRV_OP_BAD_METHOD), "any");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_studio),
		cmocka_unit_test(test_not_found_and_bad_method),
		cmocka_unit_test(test_v1_and_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
