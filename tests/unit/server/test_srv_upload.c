/*
 * Tests of server/srv_upload.c: multipart bodies through a real
 * libmicrohttpd daemon (its post processor needs a connection), called as
 * srv_api_submit calls them. Each request is one end of a socketpair handed
 * to the daemon, whose own thread serves it; the handler keeps what the
 * upload made of the body for the test to check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <microhttpd.h>

#include "server/srv_dirs.h"
#include "server/srv_upload.h"
#include "srv_test_util.h"

#define TEST_MAX_UPLOAD 4096
#define TEST_BOUNDARY "XyZzy"

/* What the upload made of the last request. */
struct outcome {
	int err;                /* of srv_upload_feed or srv_upload_finish */
	char msg[256];
	char spec[256];
	char part_name[32];
	char part[256];         /* the first file part's stored bytes */
	size_t part_len;
};

struct fixture {
	char root[64];
	srv_dirs *dirs;
	struct MHD_Daemon *daemon;
	struct outcome out;
};

/* Reads the first file part back from the staging directory. */
static void keep_first_part(const srv_upload *up, struct outcome *out)
{
	const struct srv_part *part = srv_upload_part_at(up, 0);
	char path[PATH_MAX + 32];
	FILE *f;

	if (!part)
		return;
	snprintf(out->part_name, sizeof(out->part_name), "%s", part->name);
	snprintf(path, sizeof(path), "%s/%s", srv_upload_dir(up), part->file);
	f = fopen(path, "rb");
	if (!f)
		return;
	out->part_len = fread(out->part, 1, sizeof(out->part), f);
	fclose(f);
}

static void keep_outcome(const srv_upload *up, int err, struct outcome *out)
{
	const char *spec;
	size_t len;

	out->err = err;
	snprintf(out->msg, sizeof(out->msg), "%s", srv_upload_error(up));
	spec = srv_upload_spec(up, &len);
	if (spec)
		snprintf(out->spec, sizeof(out->spec), "%.*s", (int)len, spec);
	if (!err)
		keep_first_part(up, out);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * srv_api_submit's calls: create at the headers, feed, finish, free. Once
 * answered, *con_cls is the fixture, and the rest of the body is refused.
 */
static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	struct fixture *fx = cls;
	srv_upload *up = *con_cls;
	int err;

	(void)url;
	(void)method;
	(void)version;
	if (*con_cls == fx)
		return MHD_NO;
	if (!up) {
		if (srv_upload_create(conn, fx->dirs, "0123456789abcdef0123456789abcdef",
				      TEST_MAX_UPLOAD, &up) < 0)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*size) {
		err = srv_upload_feed(up, data, *size);
		*size = 0;
		if (!err)
			return MHD_YES;
	} else {
		err = srv_upload_finish(up);
	}
	keep_outcome(up, err, &fx->out);
	srv_upload_free(up);
	*con_cls = fx;
	return answer(conn, err ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_ACCEPTED);
}

/* An upload cut off before its end is freed here. */
static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	if (*con_cls != cls)
		srv_upload_free(*con_cls);
	*con_cls = NULL;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	assert_non_null(fx);
	srv_test_tmpdir(fx->root, sizeof(fx->root));
	assert_int_equal(srv_dirs_open(fx->root, true, &fx->dirs, err, sizeof(err)), 0);
	fx->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
				      MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
				      access_cb, fx, MHD_OPTION_NOTIFY_COMPLETED,
				      completed_cb, fx, MHD_OPTION_END);
	assert_non_null(fx->daemon);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	MHD_stop_daemon(fx->daemon);
	srv_dirs_free(fx->dirs);
	srv_fs_remove_tree(fx->root);
	free(fx);
	return 0;
}

/*
 * POSTs body as multipart/form-data. Returns the answer's status code, or 0
 * when the daemon closed the connection without one (as MHD may when the
 * answer comes before the whole body). The upload's outcome is kept before
 * the connection closes.
 */
static int post(struct fixture *fx, const char *body, size_t len)
{
	struct sockaddr_in peer = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char head[256], reply[512];
	size_t got = 0;
	ssize_t n;
	int sv[2], status = 0;

	memset(&fx->out, 0, sizeof(fx->out));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(MHD_add_connection(fx->daemon, sv[1],
					    (const struct sockaddr *)&peer,
					    sizeof(peer)), MHD_YES);
	snprintf(head, sizeof(head), "POST /v1/jobs HTTP/1.1\r\nHost: test\r\n"
		 "Connection: close\r\nContent-Type: multipart/form-data; boundary="
		 TEST_BOUNDARY "\r\nContent-Length: %zu\r\n\r\n", len);
	if (send(sv[0], head, strlen(head), MSG_NOSIGNAL) == (ssize_t)strlen(head))
		send(sv[0], body, len, MSG_NOSIGNAL);
	while (got < sizeof(reply) - 1 &&
	       (n = read(sv[0], reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(sv[0]);
	if (sscanf(reply, "HTTP/1.1 %d", &status) != 1)
		status = 0;
	return status;
}

#define PART(headers, data) \
	"--" TEST_BOUNDARY "\r\n" headers "\r\n\r\n" data "\r\n"
#define END "--" TEST_BOUNDARY "--\r\n"
#define SPEC_PART PART("Content-Disposition: form-data; name=\"spec\"", \
		       "{\"mode\": \"stabilize\", \"video\": \"clip\"}")

static void test_parts_stored(void **state)
{
	static const char body[] = SPEC_PART
		PART("Content-Disposition: form-data; name=\"clip\"; filename=\"c.mp4\"\r\n"
		     "Content-Type: video/mp4", "\x00\x01\r\n--XyZ\r\n\xff") END;
	struct fixture *fx = *state;

	assert_int_equal(post(fx, body, sizeof(body) - 1), 202);
	assert_int_equal(fx->out.err, 0);
	assert_string_equal(fx->out.spec, "{\"mode\": \"stabilize\", \"video\": \"clip\"}");
	assert_string_equal(fx->out.part_name, "clip");
	assert_int_equal(fx->out.part_len, 12);
	assert_memory_equal(fx->out.part, "\x00\x01\r\n--XyZ\r\n\xff", 12);
}

/*
 * A part without a name reaches the upload with a NULL name (found by
 * fuzz_srv_upload: it crashed the server in strcmp); refused instead.
 */
static void test_unnamed_part(void **state)
{
	static const char body[] = SPEC_PART
		PART("Content-Disposition: form-data; filename=\"m.png\"", "png") END;
	struct fixture *fx = *state;

	post(fx, body, sizeof(body) - 1);
	assert_int_equal(fx->out.err, -EINVAL);
	assert_non_null(strstr(fx->out.msg, "a part has no name"));
}

static void test_part_twice(void **state)
{
	static const char body[] = SPEC_PART
		PART("Content-Disposition: form-data; name=\"clip\"", "a")
		PART("Content-Disposition: form-data; name=\"clip\"", "b") END;
	struct fixture *fx = *state;

	post(fx, body, sizeof(body) - 1);
	assert_int_equal(fx->out.err, -EINVAL);
	assert_non_null(strstr(fx->out.msg, "part \"clip\" is sent twice"));
}

static void test_over_max_bytes(void **state)
{
	char body[TEST_MAX_UPLOAD + 512];
	struct fixture *fx = *state;
	int n;

	n = snprintf(body, sizeof(body), "%s--%s\r\nContent-Disposition: form-data; "
		     "name=\"clip\"\r\n\r\n", SPEC_PART, TEST_BOUNDARY);
	memset(body + n, 'v', TEST_MAX_UPLOAD);
	n += TEST_MAX_UPLOAD;
	n += snprintf(body + n, sizeof(body) - (size_t)n, "\r\n%s", END);
	post(fx, body, (size_t)n);
	assert_int_equal(fx->out.err, -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parts_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unnamed_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_part_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_max_bytes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
