/* srv_upload: multipart parts streamed to files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server/srv_upload.h"

/* Bytes the post processor buffers between calls. */
#define SRV_POST_BUFFER (64 * 1024)

struct srv_upload {
	srv_dirs *dirs;                 /* borrowed */
	char id[SRV_ID_LEN + 1];
	char dir[PATH_MAX];
	struct MHD_PostProcessor *pp;
	uint64_t max_bytes, received;
	struct sha256_ctx hash;
	char hash_hex[SRV_HASH_LEN + 1];
	char *spec;                     /* owned */
	size_t spec_len;
	struct srv_part parts[SRV_PARTS_MAX];
	size_t n_parts;
	struct srv_part *cur;           /* part being written, NULL: spec */
	bool in_part;                   /* a part has started */
	char cur_name[SRV_PART_NAME_MAX + 1];
	uint64_t cur_size;
	int fd;                         /* of cur, -1 when none */
	int err;
	char msg[256];
	bool keep;
};

static int srv_upload_fail(srv_upload *up, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int srv_upload_fail(srv_upload *up, int err, const char *fmt, ...)
{
	va_list ap;

	if (up->err)
		return up->err;
	va_start(ap, fmt);
	vsnprintf(up->msg, sizeof(up->msg), fmt, ap);
	va_end(ap);
	up->err = err;
	return err;
}

/* Hashes the end of the current part: its size. */
static int srv_upload_end_part(srv_upload *up)
{
	uint8_t size[8];
	int i, ret = 0;

	if (!up->in_part)
		return 0;
	for (i = 0; i < 8; i++)
		size[i] = (uint8_t)(up->cur_size >> (8 * i));
	sha256_update(&up->hash, sizeof(size), size);
	if (up->fd >= 0 && close(up->fd) < 0)
		ret = srv_upload_fail(up, -EIO, "cannot store part \"%s\": %s",
				      up->cur_name, strerror(errno));
	up->fd = -1;
	up->in_part = false;
	return ret;
}

static bool srv_upload_seen(const srv_upload *up, const char *name)
{
	return (!strcmp(name, "spec") && up->spec) || srv_upload_part(up, name);
}

/* Opens the file of a new part. */
static int srv_upload_new_file(srv_upload *up, const char *name)
{
	struct srv_part *part;
	char path[PATH_MAX + 32];

	if (up->n_parts == SRV_PARTS_MAX)
		return srv_upload_fail(up, -EINVAL, "more than %d parts; send only "
				       "the spec and the files it names", SRV_PARTS_MAX);
	part = &up->parts[up->n_parts];
	snprintf(part->file, sizeof(part->file), "input-%02zu", up->n_parts);
	snprintf(path, sizeof(path), "%s/%s", up->dir, part->file);
	part->name = strdup(name);
	if (!part->name)
		return srv_upload_fail(up, -ENOMEM, "out of memory");
	up->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (up->fd < 0) {
		free(part->name);
		return srv_upload_fail(up, -EIO, "cannot store part \"%s\": %s",
				       name, strerror(errno));
	}
	up->n_parts++;
	up->cur = part;
	return 0;
}

static int srv_upload_begin_part(srv_upload *up, const char *name)
{
	int ret = srv_upload_end_part(up);

	if (ret < 0)
		return ret;
	if (strlen(name) > SRV_PART_NAME_MAX)
		return srv_upload_fail(up, -EINVAL, "a part name is longer than %d "
				       "bytes", SRV_PART_NAME_MAX);
	if (srv_upload_seen(up, name))
		return srv_upload_fail(up, -EINVAL, "part \"%s\" is sent twice; "
				       "send each part once", name);
	snprintf(up->cur_name, sizeof(up->cur_name), "%s", name);
	sha256_update(&up->hash, strlen(name) + 1, (const uint8_t *)name);
	up->in_part = true;
	up->cur_size = 0;
	up->cur = NULL;
	if (!strcmp(name, "spec")) {
		up->spec = calloc(1, 1);
		return up->spec ? 0 : srv_upload_fail(up, -ENOMEM, "out of memory");
	}
	return srv_upload_new_file(up, name);
}

static int srv_upload_spec_data(srv_upload *up, const char *data, size_t size)
{
	char *spec;

	if (up->spec_len + size > SRV_SPEC_MAX)
		return srv_upload_fail(up, -EINVAL, "the spec part is over %d bytes",
				       SRV_SPEC_MAX);
	spec = realloc(up->spec, up->spec_len + size + 1);
	if (!spec)
		return srv_upload_fail(up, -ENOMEM, "out of memory");
	memcpy(spec + up->spec_len, data, size);
	up->spec = spec;
	up->spec_len += size;
	spec[up->spec_len] = '\0';
	return 0;
}

static int srv_upload_file_data(srv_upload *up, const char *data, size_t size)
{
	struct srv_part *part = up->cur;
	ssize_t n;

	if (part->size < SRV_PART_HEAD)
		memcpy(part->head + part->size, data,
		       size < SRV_PART_HEAD - part->size ? size :
							   SRV_PART_HEAD - part->size);
	part->size += size;
	while (size) {
		n = write(up->fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return srv_upload_fail(up, errno == ENOSPC ? -ENOSPC : -EIO,
					       "cannot store part \"%s\": %s",
					       part->name, strerror(errno));
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

static enum MHD_Result srv_upload_iterate(void *cls, enum MHD_ValueKind kind,
					  const char *key, const char *filename,
					  const char *content_type,
					  const char *transfer_encoding,
					  const char *data, uint64_t off,
					  size_t size)
{
	srv_upload *up = cls;
	int ret = 0;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	/* MHD passes a part without a name (Content-Disposition) with key NULL */
	if (!key) {
		srv_upload_fail(up, -EINVAL, "a part has no name; give each part one "
				"with Content-Disposition: form-data; name=\"...\"");
		return MHD_NO;
	}
	if (!up->in_part || strcmp(key, up->cur_name) || (off == 0 && up->cur_size))
		ret = srv_upload_begin_part(up, key);
	if (!ret && size) {
		sha256_update(&up->hash, size, (const uint8_t *)data);
		up->cur_size += size;
		ret = up->cur ? srv_upload_file_data(up, data, size) :
				srv_upload_spec_data(up, data, size);
	}
	return ret ? MHD_NO : MHD_YES;
}

int srv_upload_create(struct MHD_Connection *conn, srv_dirs *dirs,
		      const char *id, uint64_t max_bytes, srv_upload **out)
{
	srv_upload *up = calloc(1, sizeof(*up));
	int ret;

	if (!up)
		return -ENOMEM;
	up->dirs = dirs;
	up->fd = -1;
	up->max_bytes = max_bytes;
	snprintf(up->id, sizeof(up->id), "%s", id);
	sha256_init(&up->hash);
	up->pp = MHD_create_post_processor(conn, SRV_POST_BUFFER,
					   srv_upload_iterate, up);
	if (!up->pp) {
		free(up);
		return -EINVAL;
	}
	ret = srv_dirs_stage(dirs, id, up->dir, sizeof(up->dir));
	if (ret < 0) {
		up->keep = true;
		srv_upload_free(up);
		return ret;
	}
	*out = up;
	return 0;
}

/*
 * After a write failed (the disk is full) the rest of the body is read and
 * dropped, so the client gets to read the answer: a server that answers
 * and closes with the body unread makes the client see a reset instead.
 */
static bool srv_upload_draining(const srv_upload *up)
{
	return up->err == -ENOSPC || up->err == -EIO;
}

int srv_upload_feed(srv_upload *up, const char *data, size_t size)
{
	up->received += size;
	if (up->received > up->max_bytes)
		return srv_upload_fail(up, -EFBIG, "the upload is over %llu bytes",
				       (unsigned long long)up->max_bytes);
	if (srv_upload_draining(up))
		return 0;
	if (up->err)
		return up->err;
	if (MHD_post_process(up->pp, data, size) == MHD_YES || srv_upload_draining(up))
		return 0;
	return srv_upload_fail(up, -EINVAL, "the body is not valid multipart/form-data");
}

int srv_upload_finish(srv_upload *up)
{
	enum MHD_Result done;
	int ret;

	if (up->err)
		return up->err;
	done = MHD_destroy_post_processor(up->pp);
	up->pp = NULL;
	ret = srv_upload_end_part(up);
	if (ret < 0)
		return ret;
	if (done != MHD_YES)
		return srv_upload_fail(up, -EINVAL, "the body ends before its closing "
				       "multipart boundary");
	srv_hash_finish(&up->hash, up->hash_hex);
	return 0;
}

const char *srv_upload_error(const srv_upload *up)
{
	return up->msg;
}

const char *srv_upload_spec(const srv_upload *up, size_t *len)
{
	*len = up->spec_len;
	return up->spec;
}

const struct srv_part *srv_upload_part(const srv_upload *up, const char *name)
{
	size_t i;

	for (i = 0; i < up->n_parts; i++)
		if (!strcmp(up->parts[i].name, name))
			return &up->parts[i];
	return NULL;
}

const struct srv_part *srv_upload_part_at(const srv_upload *up, size_t i)
{
	return i < up->n_parts ? &up->parts[i] : NULL;
}

const char *srv_upload_dir(const srv_upload *up)
{
	return up->dir;
}

const char *srv_upload_hash(const srv_upload *up)
{
	return up->hash_hex;
}

void srv_upload_keep(srv_upload *up)
{
	up->keep = true;
}

void srv_upload_free(srv_upload *up)
{
	size_t i;

	if (!up)
		return;
	if (up->pp)
		MHD_destroy_post_processor(up->pp);
	if (up->fd >= 0)
		close(up->fd);
	if (!up->keep)
		srv_dirs_unstage(up->dirs, up->id);
	for (i = 0; i < up->n_parts; i++)
		free(up->parts[i].name);
	free(up->spec);
	free(up);
}
