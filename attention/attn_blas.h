/*
 * attn_blas: the OpenBLAS kernels the process runs on.
 *
 * OpenBLAS picks its kernels once, when the library loads, from the CPU's
 * model number. A CPU newer than the library (an Emerald Rapids Xeon under
 * Debian 12's OpenBLAS 0.3.21, say) falls back to the generic SSE3 kernels,
 * a quarter of the speed the CPU has. The library reads OPENBLAS_CORETYPE
 * at load time only, so the way to the right kernels is to run the program
 * again with it set.
 */
#ifndef ATTN_BLAS_H
#define ATTN_BLAS_H

/* The core OpenBLAS runs on ("SkylakeX", "Haswell", "Prescott", ...). */
const char *attn_blas_core(void);

/*
 * The core to ask for when OpenBLAS fell back to kernels older than the CPU
 * can run: "SkylakeX" (AVX-512) or "Haswell" (AVX2 and FMA). NULL when its
 * own choice is as good, or when OPENBLAS_CORETYPE is set (the user's
 * choice, or this program's in a run started by attn_blas_reexec).
 */
const char *attn_blas_better_core(void);

/*
 * When attn_blas_better_core names a core: runs this program again
 * (/proc/self/exe, the same argv and environment plus OPENBLAS_CORETYPE)
 * and does not return. Returns otherwise, and when the program cannot be
 * run again (the process carries on with the kernels it has).
 */
void attn_blas_reexec(char **argv);

#endif
