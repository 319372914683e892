/*
 * fuzz_srv_upload: libFuzzer target for the multipart upload path. Each
 * input is sent as a POST /v1/jobs request to a real libmicrohttpd daemon,
 * so its bytes go through MHD's HTTP parser and post processor into
 * srv_upload, called the way srv_api_submit calls it: create at the
 * headers, feed each piece of the body, finish at its end, free.
 *
 * The daemon has no listening socket: each request is one end of a
 * socketpair handed to it with MHD_add_connection, and this thread drives
 * both ends (MHD_run between writes), so a run is deterministic.
 *
 * Input: byte 0 sets the size of the writes the request is cut into (1 to
 * 64 KiB), so parts and boundaries reach the post processor split anywhere;
 * then one line, the Content-Type header's value (with the boundary); the
 * rest is the body, sent with its Content-Length.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what a
 * finished upload promises: every part's file holds exactly the bytes
 * counted, the part names are distinct, and the spec is within its bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server/srv_dirs.h"
#include "server/srv_fs.h"
#include "server/srv_id.h"
#include "server/srv_upload.h"

/* Small, so that the fuzzer reaches the -EFBIG path too. */
#define FUZZ_MAX_UPLOAD (8 * 1024)
/* As the server gives each connection (srv_http.c). */
#define FUZZ_CONNECTION_MEMORY (128 * 1024)
/* Longer Content-Type lines are skipped: a boundary has at most 70 bytes. */
#define FUZZ_CTYPE_MAX 512
/* MHD_run rounds without progress before the client stops sending. */
#define FUZZ_STALL_ROUNDS 64

static struct MHD_Daemon *fuzz_daemon;
static srv_dirs *fuzz_dirs;
/* The data directory: on tmpfs, as every run writes a file a part. */
static char fuzz_root[] = "/dev/shm/fuzz_srv_upload.XXXXXX";

/* Checks a finished upload against what srv_upload.h promises. */
static void fuzz_check_upload(const srv_upload *up)
{
	const struct srv_part *part;
	char path[PATH_MAX];
	struct stat st;
	size_t i, len;

	if (srv_upload_spec(up, &len) && len > SRV_SPEC_MAX)
		abort();
	for (i = 0; (part = srv_upload_part_at(up, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", srv_upload_dir(up), part->file);
		if (stat(path, &st) || (uint64_t)st.st_size != part->size)
			abort();
		/* the first part of its name is this one: names are distinct */
		if (!strcmp(part->name, "spec") || srv_upload_part(up, part->name) != part)
			abort();
	}
	if (i > SRV_PARTS_MAX || strlen(srv_upload_hash(up)) != SRV_HASH_LEN)
		abort();
}

/* One request: its upload while the body streams, and whether it was answered. */
struct fuzz_request {
	srv_upload *upload;
	bool answered;
};

static enum MHD_Result fuzz_reply(struct fuzz_request *req,
				  struct MHD_Connection *conn, unsigned int status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	req->answered = true;
	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The server's srv_api_submit_begin, less the queue and the job store. */
static enum MHD_Result fuzz_begin(struct fuzz_request *req,
				  struct MHD_Connection *conn)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE);
	char id[SRV_ID_LEN + 1];
	int err;

	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19))
		return fuzz_reply(req, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE);
	err = srv_id_new(id);
	if (!err)
		err = srv_upload_create(conn, fuzz_dirs, id, FUZZ_MAX_UPLOAD,
					&req->upload);
	if (err == -EINVAL)
		return fuzz_reply(req, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE);
	if (err < 0)
		abort();
	return MHD_YES;
}

/* The server's srv_api_submit_body: a piece of the body, or its end. */
static enum MHD_Result fuzz_body(struct fuzz_request *req,
				 struct MHD_Connection *conn, const char *data,
				 size_t *size)
{
	unsigned int status = MHD_HTTP_ACCEPTED;
	int err;

	if (*size) {
		err = srv_upload_feed(req->upload, data, *size);
		*size = 0;
		if (!err)
			return MHD_YES;
	} else {
		err = srv_upload_finish(req->upload);
		if (!err)
			fuzz_check_upload(req->upload);
	}
	if (err < 0 && !srv_upload_error(req->upload)[0])
		abort();
	if (err == -EFBIG)
		status = MHD_HTTP_CONTENT_TOO_LARGE;
	else if (err < 0)
		status = MHD_HTTP_BAD_REQUEST;
	srv_upload_free(req->upload);
	req->upload = NULL;
	return fuzz_reply(req, conn, status);
}

/* As srv_http_access: MHD calls it with the headers, each piece, the end. */
static enum MHD_Result fuzz_access(void *cls, struct MHD_Connection *conn,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct fuzz_request *req = *con_cls;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return fuzz_begin(req, conn);
	}
	if (req->upload)
		return fuzz_body(req, conn, upload_data, upload_data_size);
	return req->answered ? MHD_NO : MHD_YES;
}

/* As srv_http_completed: an upload cut off by the client is freed here. */
static void fuzz_completed(void *cls, struct MHD_Connection *conn,
			   void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct fuzz_request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	srv_upload_free(req->upload);
	free(req);
	*con_cls = NULL;
}

static unsigned int fuzz_connections(void)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(fuzz_daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/*
 * Sends req (len bytes, in writes of chunk bytes) on a new connection and
 * runs the daemon until it has answered and closed it. A client that MHD
 * stops reading from stops sending; one MHD keeps waiting on is closed.
 */
static void fuzz_exchange(const char *req, size_t len, size_t chunk)
{
	struct sockaddr_in peer = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char answer[4096];
	size_t off = 0;
	ssize_t n;
	int sv[2], stalled = 0, open = 1, progress;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) ||
	    MHD_add_connection(fuzz_daemon, sv[1], (const struct sockaddr *)&peer,
			       sizeof(peer)) != MHD_YES)
		abort();
	while (open || fuzz_connections()) {
		progress = 0;
		if (open && off < len) {
			n = send(sv[0], req + off, len - off < chunk ? len - off : chunk,
				 MSG_NOSIGNAL);
			if (n > 0) {
				off += (size_t)n;
				progress = 1;
			}
		}
		if (MHD_run(fuzz_daemon) != MHD_YES)
			abort();
		if (!open)
			continue;
		while ((n = read(sv[0], answer, sizeof(answer))) > 0)
			progress = 1;
		stalled = progress ? 0 : stalled + 1;
		if (n == 0 || stalled > FUZZ_STALL_ROUNDS) {
			close(sv[0]);
			open = 0;
		}
	}
}

static void fuzz_cleanup(void)
{
	MHD_stop_daemon(fuzz_daemon);
	srv_dirs_free(fuzz_dirs);
	srv_fs_remove_tree(fuzz_root);
}

/* The data directory, removed at exit, and the daemon. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (!mkdtemp(fuzz_root) ||
	    srv_dirs_open(fuzz_root, true, &fuzz_dirs, err, sizeof(err)) < 0)
		abort();
	fuzz_daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
				       fuzz_access, NULL,
				       MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				       (size_t)FUZZ_CONNECTION_MEMORY,
				       MHD_OPTION_NOTIFY_COMPLETED, fuzz_completed, NULL,
				       MHD_OPTION_END);
	if (!fuzz_daemon)
		abort();
	atexit(fuzz_cleanup);
	return 0;
}

/* Appends n bytes at *pos. */
static void fuzz_put(char *buf, size_t *pos, const void *src, size_t n)
{
	memcpy(buf + *pos, src, n);
	*pos += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char start[] = "POST /v1/jobs HTTP/1.1\r\nHost: fuzz\r\n"
				    "Connection: close\r\nContent-Type: ";
	const char *ctype, *nl, *body;
	size_t ctype_len, body_len, len = 0, chunk;
	char length[64], *req;

	if (size < 1)
		return 0;
	chunk = (size_t)1 << (data[0] % 17);
	ctype = (const char *)data + 1;
	nl = memchr(ctype, '\n', size - 1);
	ctype_len = nl ? (size_t)(nl - ctype) : size - 1;
	if (ctype_len > FUZZ_CTYPE_MAX)
		return 0;
	body = nl ? nl + 1 : ctype + ctype_len;
	body_len = size - 1 - ctype_len - (nl ? 1 : 0);
	snprintf(length, sizeof(length), "\r\nContent-Length: %zu\r\n\r\n", body_len);
	req = malloc(sizeof(start) + ctype_len + sizeof(length) + body_len);
	if (!req)
		return 0;
	fuzz_put(req, &len, start, sizeof(start) - 1);
	fuzz_put(req, &len, ctype, ctype_len);
	fuzz_put(req, &len, length, strlen(length));
	fuzz_put(req, &len, body, body_len);
	fuzz_exchange(req, len, chunk);
	free(req);
	return 0;
}
