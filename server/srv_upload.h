/*
 * srv_upload: the body of POST /v1/jobs, a multipart/form-data stream,
 * written part by part into a staging directory as it arrives (MHD's post
 * processor), never held whole in memory. The "spec" part is kept in
 * memory (it is small and bounded); every other part goes to a file named
 * by the server ("input-00", "input-01", ...): the client's names are
 * never used as paths. A fingerprint of the parts (names and contents,
 * not the boundary) is hashed as they stream, for Idempotency-Key.
 */
#ifndef SRV_UPLOAD_H
#define SRV_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "server/srv_dirs.h"
#include "server/srv_hash.h"
#include "server/srv_id.h"

struct MHD_Connection;

/* Largest spec part, and most parts in one upload. */
#define SRV_SPEC_MAX   (256 * 1024)
#define SRV_PARTS_MAX  64
#define SRV_PART_NAME_MAX 128

/* Bytes of a part's start kept to check its signature. */
#define SRV_PART_HEAD 8

struct srv_part {
	char *name;             /* owned */
	char file[16];          /* in the staging directory */
	uint64_t size;
	uint8_t head[SRV_PART_HEAD];
};

typedef struct srv_upload srv_upload;

/*
 * Starts the upload of job id into its staging directory in dirs.
 * max_bytes bounds the body. -EINVAL when the request is not
 * multipart/form-data (the post processor cannot read it), another
 * negative errno when the directory cannot be made. *out owned by the
 * caller.
 */
int srv_upload_create(struct MHD_Connection *conn, srv_dirs *dirs,
		      const char *id, uint64_t max_bytes, srv_upload **out);

/*
 * Feeds size bytes of the body. 0, or a negative errno with a message in
 * srv_upload_error: -EFBIG over max_bytes, -EINVAL malformed multipart or
 * a part repeated or too many parts or too long a spec. After an error the
 * upload takes nothing more. When writing fails (-EIO, -ENOSPC) the rest of
 * the body, up to max_bytes, is taken and dropped and srv_upload_finish
 * returns the error, so the answer reaches a client still sending.
 */
int srv_upload_feed(srv_upload *up, const char *data, size_t size);

/* Ends the body: -EINVAL when it stopped before its closing boundary. */
int srv_upload_finish(srv_upload *up);

/* The message of the last error ("" when none). */
const char *srv_upload_error(const srv_upload *up);

/* The spec part (NULL when absent) and its length. */
const char *srv_upload_spec(const srv_upload *up, size_t *len);

/* The file part called name, or NULL. */
const struct srv_part *srv_upload_part(const srv_upload *up, const char *name);

/* The i-th file part, or NULL past the last. */
const struct srv_part *srv_upload_part_at(const srv_upload *up, size_t i);

/* The staging directory the parts are written to. */
const char *srv_upload_dir(const srv_upload *up);

/* Hash of the parts (valid after srv_upload_finish). */
const char *srv_upload_hash(const srv_upload *up);

/* The staging directory stays: it is about to be committed. */
void srv_upload_keep(srv_upload *up);

/* Frees the upload; its staging directory is removed unless kept. */
void srv_upload_free(srv_upload *up);

#endif
