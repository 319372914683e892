/* srv_dirs: paths under the data directory, staging and adoption. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_dirs.h"
#include "server/srv_fs.h"

struct srv_dirs {
	char *root;             /* owned */
};

/* root/sub[/id[/name]] in buf. */
static int srv_dirs_join(const srv_dirs *dirs, const char *sub, const char *id,
			 const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s%s%s%s%s", dirs->root, sub,
			 id ? "/" : "", id ? id : "",
			 id && name ? "/" : "", id && name ? name : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int srv_dirs_path(const srv_dirs *dirs, const char *id, const char *name,
		  char *buf, size_t len)
{
	return srv_dirs_join(dirs, "jobs", id, name, buf, len);
}

int srv_dirs_staged(const srv_dirs *dirs, const char *id, const char *name,
		    char *buf, size_t len)
{
	return srv_dirs_join(dirs, "tmp", id, name, buf, len);
}

/* Makes DATA, DATA/jobs and DATA/tmp, emptying tmp when asked. */
static int srv_dirs_make(srv_dirs *dirs, bool clear_tmp, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	ret = srv_fs_mkdir(dirs->root);
	if (!ret)
		ret = srv_dirs_path(dirs, NULL, NULL, path, sizeof(path));
	if (!ret)
		ret = srv_fs_mkdir(path);
	if (!ret)
		ret = srv_dirs_staged(dirs, NULL, NULL, path, sizeof(path));
	if (!ret && clear_tmp)
		ret = srv_fs_remove_tree(path);
	if (!ret)
		ret = srv_fs_mkdir(path);
	if (ret < 0)
		snprintf(err, errlen, "cannot prepare the data directory %s (%s): "
			 "check --data and its permissions", dirs->root,
			 strerror(-ret));
	return ret;
}

int srv_dirs_open(const char *root, bool clear_tmp, srv_dirs **out, char *err,
		  size_t errlen)
{
	srv_dirs *dirs = calloc(1, sizeof(*dirs));
	int ret;

	if (!dirs)
		return -ENOMEM;
	dirs->root = strdup(root);
	if (!dirs->root) {
		ret = -ENOMEM;
		goto free_dirs;
	}
	ret = srv_dirs_make(dirs, clear_tmp, err, errlen);
	if (ret < 0)
		goto free_dirs;
	*out = dirs;
	return 0;

free_dirs:
	srv_dirs_free(dirs);
	return ret;
}

void srv_dirs_free(srv_dirs *dirs)
{
	if (!dirs)
		return;
	free(dirs->root);
	free(dirs);
}

int srv_dirs_stage(srv_dirs *dirs, const char *id, char *buf, size_t len)
{
	int ret = srv_dirs_staged(dirs, id, NULL, buf, len);

	return ret < 0 ? ret : srv_fs_mkdir(buf);
}

void srv_dirs_unstage(srv_dirs *dirs, const char *id)
{
	char path[PATH_MAX];

	if (!srv_dirs_staged(dirs, id, NULL, path, sizeof(path)))
		srv_fs_remove_tree(path);
}

int srv_dirs_adopt(srv_dirs *dirs, const char *id)
{
	char staged[PATH_MAX], final[PATH_MAX], jobs[PATH_MAX];
	int ret;

	ret = srv_dirs_staged(dirs, id, NULL, staged, sizeof(staged));
	if (!ret)
		ret = srv_dirs_path(dirs, id, NULL, final, sizeof(final));
	if (!ret)
		ret = srv_dirs_path(dirs, NULL, NULL, jobs, sizeof(jobs));
	if (!ret && rename(staged, final) < 0)
		ret = -errno;
	return ret < 0 ? ret : srv_fs_sync_dir(jobs);
}

int srv_dirs_remove(srv_dirs *dirs, const char *id)
{
	char path[PATH_MAX];
	int ret = srv_dirs_path(dirs, id, NULL, path, sizeof(path));

	return ret < 0 ? ret : srv_fs_remove_tree(path);
}
