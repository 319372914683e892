/*
 * srv_static: the web studio, a page and its scripts, styles and icon
 * (server/studio/), embedded in the program when it is built and served at
 * / (index.html) and /studio/{file}. Each answer has its Content-Type from
 * the file name, a strong ETag from the content (If-None-Match gives 304),
 * Cache-Control: no-cache (revalidated on each use, so a new build is seen
 * at once), a Content-Security-Policy allowing this origin only (and blob:
 * and data: for the clips, frames and masks the page makes) and
 * X-Content-Type-Options: nosniff. Only names in the embedded table are
 * served: nothing of a URL reaches the file system. No API key is needed;
 * the page asks for one and sends it on its /v1 calls.
 */
#ifndef SRV_STATIC_H
#define SRV_STATIC_H

#include <stddef.h>

#include "server/srv_reply.h"

struct srv_static_file {
	const char *name;               /* "studio.js" */
	const unsigned char *data;
	size_t size;
	const char *etag;               /* quoted, from the content's SHA-256 */
};

/*
 * The embedded files, in a source that server/srv_static_embed.sh
 * generates from server/studio/ (static, never freed).
 */
extern const struct srv_static_file srv_static_files[];
extern const size_t srv_static_count;

/* The embedded file called name, or NULL. */
const struct srv_static_file *srv_static_find(const char *name);

/* The Content-Type of a file called name, from its extension. */
const char *srv_static_type(const char *name);

/* GET /: the studio's page. */
enum MHD_Result srv_static_index(struct srv_request *req);

/* GET /studio/{file}: one of its files, or 404. */
enum MHD_Result srv_static_file(struct srv_request *req);

#endif
