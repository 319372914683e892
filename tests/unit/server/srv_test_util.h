/* Helpers shared by the server's unit tests: temporary directories. */
#ifndef SRV_TEST_UTIL_H
#define SRV_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "server/srv_fs.h"

/* Makes a fresh temporary directory; its path is written to buf. */
static inline void srv_test_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/srv_test_XXXXXX");
	if (!mkdtemp(buf))
		abort();
}

#endif
