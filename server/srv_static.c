/* srv_static: the studio's embedded files. */
#include <string.h>

#include "server/srv_range.h"
#include "server/srv_static.h"

#define SRV_STUDIO_INDEX "index.html"

/*
 * Scripts, styles, images and fetches from this origin only; blob: and
 * data: for the clip, frames and masks the page makes itself; no plugins,
 * no framing, no <base> or form posts elsewhere.
 */
#define SRV_STUDIO_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct srv_static_type {
	const char *ext;
	const char *type;
};

static const struct srv_static_type srv_static_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

const struct srv_static_file *srv_static_find(const char *name)
{
	size_t i;

	for (i = 0; i < srv_static_count; i++)
		if (!strcmp(srv_static_files[i].name, name))
			return &srv_static_files[i];
	return NULL;
}

const char *srv_static_type(const char *name)
{
	size_t len = strlen(name), ext, i;

	for (i = 0; i < sizeof(srv_static_types) / sizeof(srv_static_types[0]); i++) {
		ext = strlen(srv_static_types[i].ext);
		if (len > ext && !strcmp(name + len - ext, srv_static_types[i].ext))
			return srv_static_types[i].type;
	}
	return "application/octet-stream";
}

/* The headers of every answer about f, 200 or 304. */
static void srv_static_headers(struct MHD_Response *resp, const struct srv_static_file *f)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "Content-Security-Policy", SRV_STUDIO_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result srv_static_send(struct srv_request *req,
				       const struct srv_static_file *f)
{
	const char *inm = srv_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct MHD_Response *resp;
	int status = MHD_HTTP_OK;

	if (srv_etag_matches(inm, f->etag)) {
		status = MHD_HTTP_NOT_MODIFIED;
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(f->size, (void *)f->data,
						       MHD_RESPMEM_PERSISTENT);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						srv_static_type(f->name));
		req->bytes_out = f->size;
	}
	if (resp)
		srv_static_headers(resp, f);
	return srv_reply(req, status, resp);
}

enum MHD_Result srv_static_index(struct srv_request *req)
{
	const struct srv_static_file *f = srv_static_find(SRV_STUDIO_INDEX);

	if (!f)
		return srv_reply_problem(req, 500, "internal", "The studio is missing",
					 "the program was built without server/studio/");
	return srv_static_send(req, f);
}

enum MHD_Result srv_static_file(struct srv_request *req)
{
	const struct srv_static_file *f = srv_static_find(req->match.file);

	if (!f)
		return srv_reply_problem(req, 404, "not-found", "No such studio file",
					 "the studio's page is at /");
	return srv_static_send(req, f);
}
