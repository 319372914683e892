/* Tests of server/srv_allow.c: the webhook allow-list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "server/srv_allow.h"

/* An address literal as a socket address (IPv4 or IPv6). */
static const struct sockaddr *addr_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

static srv_allow *parse_ok(const char *text)
{
	char err[160] = "";
	srv_allow *allow = NULL;

	assert_int_equal(srv_allow_parse(text, &allow, err, sizeof(err)), 0);
	return allow;
}

static bool allowed(const srv_allow *allow, const char *host, int port, const char *addr)
{
	struct sockaddr_storage ss;

	return srv_allow_check(allow, host, port, addr_of(addr, &ss));
}

static void test_internal_addresses(void **state)
{
	static const char *const internal[] = {
		"0.0.0.0", "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254", "::", "::1",
		"fd00::1", "fc12::5", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
	};
	static const char *const external[] = {
		"8.8.8.8", "172.15.255.255", "172.32.0.0", "192.169.0.1", "169.255.0.1",
		"2001:db8::1", "2606:4700::1111", "::ffff:8.8.8.8", "11.0.0.0",
	};
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(internal) / sizeof(*internal); i++)
		assert_true(srv_allow_internal(addr_of(internal[i], &ss)));
	for (i = 0; i < sizeof(external) / sizeof(*external); i++)
		assert_false(srv_allow_internal(addr_of(external[i], &ss)));
}

/* Without a list: public addresses only. */
static void test_default_refuses_internal(void **state)
{
	srv_allow *allow = parse_ok(NULL);

	(void)state;
	assert_false(allowed(allow, "127.0.0.1", 80, "127.0.0.1"));
	assert_false(allowed(allow, "metadata.example", 80, "169.254.169.254"));
	assert_true(allowed(allow, "example.com", 443, "93.184.216.34"));
	assert_int_equal(srv_allow_check_host(allow, "127.0.0.1", 80), 0);
	assert_int_equal(srv_allow_check_host(allow, "::1", 80), 0);
	assert_int_equal(srv_allow_check_host(allow, "LOCALHOST", 80), 0);
	assert_int_equal(srv_allow_check_host(allow, "a.localhost", 80), 0);
	assert_int_equal(srv_allow_check_host(allow, "8.8.8.8", 80), 1);
	assert_int_equal(srv_allow_check_host(allow, "example.com", 80), -1);
	srv_allow_free(allow);
}

static void test_entries_allow(void **state)
{
	srv_allow *allow = parse_ok(" 127.0.0.1 , hooks.internal, relay.internal:8443,"
				    "10.0.0.0/8,[fd00::1]:80, 192.168.1.5:9000,,fe80::/10");

	(void)state;
	assert_true(allowed(allow, "127.0.0.1", 1234, "127.0.0.1"));
	assert_false(allowed(allow, "127.0.0.2", 1234, "127.0.0.2"));
	assert_true(allowed(allow, "HOOKS.internal", 80, "10.9.9.9"));
	assert_true(allowed(allow, "hooks.internal", 80, "192.168.7.7"));
	assert_true(allowed(allow, "relay.internal", 8443, "192.168.7.7"));
	assert_false(allowed(allow, "relay.internal", 80, "192.168.7.7"));
	assert_true(allowed(allow, "x", 80, "10.200.0.1"));
	assert_true(allowed(allow, "x", 80, "fd00::1"));
	assert_false(allowed(allow, "x", 81, "fd00::1"));
	assert_true(allowed(allow, "x", 9000, "192.168.1.5"));
	assert_false(allowed(allow, "x", 9001, "192.168.1.5"));
	assert_true(allowed(allow, "x", 1, "fe80::2"));
	assert_int_equal(srv_allow_check_host(allow, "127.0.0.1", 5), 1);
	assert_int_equal(srv_allow_check_host(allow, "localhost", 5), 1);
	assert_int_equal(srv_allow_check_host(allow, "hooks.internal", 5), 1);
	assert_int_equal(srv_allow_check_host(allow, "relay.internal", 5), -1);
	srv_allow_free(allow);
}

static void test_bad_entries(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "host:0", "host:70000",
		"host:", "[fd00::1", "[fd00::1]x", "ho st", "a/b", "10.0.0.1:80/8",
	};
	srv_allow *allow = NULL;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		assert_int_equal(srv_allow_parse(bad[i], &allow, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--webhook-allow"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_internal_addresses),
		cmocka_unit_test(test_default_refuses_internal),
		cmocka_unit_test(test_entries_allow),
		cmocka_unit_test(test_bad_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
