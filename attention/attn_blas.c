#include "attention/attn_blas.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

/* OpenBLAS cores whose kernels use AVX-512, then those using AVX2 and FMA. */
static const char *const attn_avx512_cores[] = { "SkylakeX", "Cooperlake",
						 "SapphireRapids", NULL };
static const char *const attn_avx2_cores[] = { "Haswell", "Zen", "SkylakeX",
					       "Cooperlake", "SapphireRapids", NULL };

static bool attn_core_in(const char *core, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(core, *list))
			return true;
	return false;
}

const char *attn_blas_core(void)
{
	const char *core = openblas_get_corename();

	return core ? core : "unknown";
}

const char *attn_blas_better_core(void)
{
	const char *core = attn_blas_core();

	if (getenv("OPENBLAS_CORETYPE"))
		return NULL;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
	    !attn_core_in(core, attn_avx512_cores))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	    !attn_core_in(core, attn_avx2_cores))
		return "Haswell";
	return NULL;
}

void attn_blas_reexec(char **argv)
{
	const char *core = attn_blas_better_core();

	if (!core || setenv("OPENBLAS_CORETYPE", core, 1) < 0)
		return;
	execv("/proc/self/exe", argv);
	unsetenv("OPENBLAS_CORETYPE");
}
