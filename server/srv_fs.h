/*
 * srv_fs: the file operations the job store is built on: whole files
 * written atomically and durably, directories made and removed.
 */
#ifndef SRV_FS_H
#define SRV_FS_H

#include <stddef.h>

/*
 * Replaces path with len bytes of data: writes path.tmp, fsyncs it, renames
 * it over path and fsyncs the directory, so a crash leaves either the old
 * or the new file whole. Returns 0 or a negative errno.
 */
int srv_fs_write_atomic(const char *path, const void *data, size_t len);

/*
 * Reads the whole of path (at most max bytes) into *out, NUL-terminated,
 * owned by the caller; *len gets its size. -EFBIG when larger than max.
 */
int srv_fs_read_all(const char *path, size_t max, char **out, size_t *len);

/* fsyncs the directory at path, making renames in it durable. */
int srv_fs_sync_dir(const char *path);

/* Makes directory path unless it exists (its parent must). */
int srv_fs_mkdir(const char *path);

/* Removes path and everything under it; a missing path is not an error. */
int srv_fs_remove_tree(const char *path);

#endif
