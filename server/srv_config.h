/*
 * srv_config: the service's settings, from command-line flags and their
 * MASKATTN_* environment twins (a flag wins over its variable).
 *
 * Each flag --some-name has the twin MASKATTN_SOME_NAME. Flags take their
 * value as "--port 9000" or "--port=9000"; sizes accept a K, M, G or T suffix
 * (powers of 1024).
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum srv_log_level {
	SRV_LOG_DEBUG,
	SRV_LOG_INFO,
	SRV_LOG_WARN,
	SRV_LOG_ERROR,
};

struct srv_config {
	int port;                       /* 8080 */
	char *data;                     /* "./data", owned */
	int workers;                    /* jobs run at once, 1 */
	int threads;                    /* attention threads per job: CPUs / workers */
	int http_threads;               /* MHD's thread pool: CPUs */
	int queue;                      /* jobs waiting at most, 64 */
	uint64_t max_upload;            /* bytes of one POST body, 2 GiB */
	int64_t retention;              /* seconds a finished job is kept, 86400 */
	int grace;                      /* seconds running jobs get on SIGTERM, 30 */
	char *api_keys;                 /* comma separated, owned, NULL: no auth */
	int max_connections;            /* 1024 */
	int max_connections_per_ip;     /* 64, 0: no limit (behind a proxy) */
	int timeout;                    /* idle connection timeout, seconds, 60 */
	enum srv_log_level log_level;   /* info */
	int max_width;                  /* of a clip or image, 8192, 0: no limit */
	int max_height;                 /* 8192 */
	int64_t max_pixels;             /* per frame, 8192x4320 */
	int64_t max_frames;             /* per job, 216000 (an hour at 60 fps) */
	int64_t max_duration;           /* seconds of a clip, 3600 */
	uint64_t max_decoded;           /* bytes of all frames decoded, 1T */
	char *redis_url;                /* owned, NULL: jobs kept locally */
	int reclaim_after;              /* seconds before a silent replica's job is taken over, 30 */
	char *webhook_secret;           /* owned, NULL: webhooks refused */
	char *webhook_allow;            /* owned, NULL: public addresses only (srv_allow) */
	bool help;                      /* --help was given */
};

/*
 * Reads argv (the arguments after "serve") over the environment (looked up
 * with getenv_fn, normally getenv) into cfg, which it fills first with the
 * defaults; cpus is the number of CPUs for the defaults that depend on it.
 * Returns 0, -EINVAL with a message in err naming the flag or variable and
 * what it accepts, or -ENOMEM. Free with srv_config_release whatever the
 * result.
 */
int srv_config_parse(struct srv_config *cfg, int argc, char **argv,
		     char *(*getenv_fn)(const char *name), int cpus,
		     char *err, size_t errlen);

void srv_config_release(struct srv_config *cfg);

/* "debug", "info", "warn" or "error". */
const char *srv_log_level_name(enum srv_log_level level);

/* Prints the usage: every flag, its variable, its default. */
void srv_config_usage(FILE *out);

#endif
