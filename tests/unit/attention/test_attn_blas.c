/*
 * attn_blas: the core OpenBLAS runs on is named; a core set in
 * OPENBLAS_CORETYPE is left alone; a better core is only ever one the CPU
 * can run; and a program that calls attn_blas_reexec runs on the better core
 * when there is one (this test runs itself again to see it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attention/attn_blas.h"

/* argv[1] of the run that reports its core after attn_blas_reexec. */
#define REEXEC_ARG "--reexec-core"

static char *self_path;

static void test_core_is_named(void **state)
{
	(void)state;
	assert_non_null(attn_blas_core());
	assert_true(strlen(attn_blas_core()) > 0);
}

static void test_a_set_core_is_left_alone(void **state)
{
	char *was = getenv("OPENBLAS_CORETYPE") ? strdup(getenv("OPENBLAS_CORETYPE")) : NULL;

	(void)state;
	setenv("OPENBLAS_CORETYPE", "Prescott", 1);
	assert_null(attn_blas_better_core());
	attn_blas_reexec((char *[]){ self_path, NULL });   /* returns: nothing to do */
	if (was)
		setenv("OPENBLAS_CORETYPE", was, 1);
	else
		unsetenv("OPENBLAS_CORETYPE");
	free(was);
}

static void test_a_better_core_runs_here(void **state)
{
	const char *better;

	(void)state;
	unsetenv("OPENBLAS_CORETYPE");
	better = attn_blas_better_core();
	if (!better)
		return;
	__builtin_cpu_init();
	assert_true(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
	if (!strcmp(better, "SkylakeX"))
		assert_true(__builtin_cpu_supports("avx512f"));
	else
		assert_string_equal(better, "Haswell");
}

/* The core a run of this program reports after attn_blas_reexec. */
static void reexec_core(char *out, size_t len)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		unsetenv("OPENBLAS_CORETYPE");
		execv(self_path, (char *[]){ self_path, REEXEC_ARG, NULL });
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	assert_true(n > 0);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_reexec_runs_on_the_better_core(void **state)
{
	const char *better;
	char core[64];

	(void)state;
	unsetenv("OPENBLAS_CORETYPE");
	better = attn_blas_better_core();
	reexec_core(core, sizeof(core));
	if (better)
		assert_int_equal(strcasecmp(core, better), 0);
	else
		assert_string_equal(core, attn_blas_core());
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_is_named),
		cmocka_unit_test(test_a_set_core_is_left_alone),
		cmocka_unit_test(test_a_better_core_runs_here),
		cmocka_unit_test(test_reexec_runs_on_the_better_core),
	};

	if (argc == 2 && !strcmp(argv[1], REEXEC_ARG)) {
		attn_blas_reexec(argv);
		printf("%s\n", attn_blas_core());
		return 0;
	}
	self_path = realpath("/proc/self/exe", NULL);
	if (!self_path)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
