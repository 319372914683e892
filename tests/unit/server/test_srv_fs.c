/* Tests of server/srv_fs.c: atomic writes, reads, tree removal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "srv_test_util.h"

static void test_write_read_replace(void **state)
{
	char dir[64], path[PATH_MAX], tmp[PATH_MAX + 8];
	struct stat st;
	size_t len;
	char *text;

	(void)state;
	srv_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(srv_fs_write_atomic(path, "first", 5), 0);
	assert_int_equal(srv_fs_write_atomic(path, "second!", 7), 0);
	assert_int_not_equal(stat(tmp, &st), 0);
	assert_int_equal(srv_fs_read_all(path, 100, &text, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(text, "second!");
	free(text);
	assert_int_equal(srv_fs_read_all(path, 3, &text, &len), -EFBIG);
	assert_int_equal(srv_fs_read_all("/nonexistent/x", 3, &text, &len), -ENOENT);
	assert_int_equal(srv_fs_remove_tree(dir), 0);
	assert_int_not_equal(stat(dir, &st), 0);
}

static void test_mkdir_and_remove_tree(void **state)
{
	char dir[64], path[PATH_MAX];
	struct stat st;

	(void)state;
	srv_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(srv_fs_mkdir(path), 0);
	assert_int_equal(srv_fs_mkdir(path), 0);
	snprintf(path, sizeof(path), "%s/a/b", dir);
	assert_int_equal(srv_fs_mkdir(path), 0);
	snprintf(path, sizeof(path), "%s/a/b/f", dir);
	assert_int_equal(srv_fs_write_atomic(path, "x", 1), 0);
	assert_int_equal(srv_fs_sync_dir(dir), 0);
	assert_int_equal(srv_fs_remove_tree(dir), 0);
	assert_int_not_equal(stat(dir, &st), 0);
	assert_int_equal(srv_fs_remove_tree(dir), 0);
	snprintf(path, sizeof(path), "%s/missing/x", dir);
	assert_int_equal(srv_fs_mkdir(path), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read_replace),
		cmocka_unit_test(test_mkdir_and_remove_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
