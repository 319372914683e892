/* srv_fs: durable file writes, directory helpers. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/srv_fs.h"

/* Open descriptors nftw may use while walking a job directory. */
#define SRV_FS_WALK_FDS 16

static int srv_fs_write_fd(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

int srv_fs_sync_dir(const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The directory part of path in buf ("." when path has none). */
static void srv_fs_dirname(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path + (slash == path)),
			 path);
}

int srv_fs_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ret = srv_fs_write_fd(fd, data, len);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret < 0)
		goto remove_tmp;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto remove_tmp;
	}
	srv_fs_dirname(path, dir, sizeof(dir));
	return srv_fs_sync_dir(dir);

remove_tmp:
	unlink(tmp);
	return ret;
}

int srv_fs_read_all(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *data;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto close_fd;
	}
	if ((uint64_t)st.st_size > max) {
		ret = -EFBIG;
		goto close_fd;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		ret = -ENOMEM;
		goto close_fd;
	}
	n = pread(fd, data, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		free(data);
		goto close_fd;
	}
	data[n] = '\0';
	*out = data;
	*len = (size_t)n;
close_fd:
	close(fd);
	return ret;
}

int srv_fs_mkdir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int srv_fs_remove_one(const char *path, const struct stat *st,
			     int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -errno : 0;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int srv_fs_remove_tree(const char *path)
{
	int ret;

	ret = nftw(path, srv_fs_remove_one, SRV_FS_WALK_FDS, FTW_DEPTH | FTW_PHYS);
	if (ret < 0 && errno == ENOENT)
		return 0;
	return ret < 0 ? -errno : ret;
}
