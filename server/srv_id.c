/* srv_id: random job ids. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "server/srv_hash.h"
#include "server/srv_id.h"

int srv_id_new(char out[SRV_ID_LEN + 1])
{
	uint8_t raw[SRV_ID_BYTES];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	srv_hex(out, raw, sizeof(raw));
	return 0;
}

bool srv_id_valid(const char *text)
{
	size_t i;

	for (i = 0; i < SRV_ID_LEN; i++)
		if (!text[i] || !strchr("0123456789abcdef", text[i]))
			return false;
	return text[SRV_ID_LEN] == '\0';
}
