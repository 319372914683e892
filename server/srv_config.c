/*
 * srv_config: one table lists every setting with its flag, kind and range;
 * the environment and the command line are read through it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/srv_config.h"
#include "server/srv_allow.h"
#include "server/srv_redis_url.h"

#define SRV_ENV_PREFIX "MASKATTN_"
#define SRV_NAME_MAX 64

enum srv_opt_kind {
	SRV_OPT_INT,
	SRV_OPT_I64,
	SRV_OPT_SIZE,           /* uint64_t bytes, K/M/G/T suffix */
	SRV_OPT_STRING,
	SRV_OPT_LEVEL,
};

struct srv_opt {
	const char *flag;       /* without the leading "--" */
	enum srv_opt_kind kind;
	size_t offset;
	int64_t min, max;       /* numbers only */
	const char *help;
};

#define SRV_OPT(name, kind, field, min, max, help) \
	{ name, kind, offsetof(struct srv_config, field), min, max, help }

static const struct srv_opt srv_opts[] = {
	SRV_OPT("port", SRV_OPT_INT, port, 0, 65535,
		"TCP port to listen on (0: any free port) [8080]"),
	SRV_OPT("data", SRV_OPT_STRING, data, 0, 0,
		"directory of the job store [./data]"),
	SRV_OPT("workers", SRV_OPT_INT, workers, 1, 256,
		"jobs run at once [1]"),
	SRV_OPT("threads", SRV_OPT_INT, threads, 1, 1024,
		"attention threads per job [CPUs / workers, at least 1]"),
	SRV_OPT("http-threads", SRV_OPT_INT, http_threads, 1, 256,
		"HTTP threads [CPUs]"),
	SRV_OPT("queue", SRV_OPT_INT, queue, 1, 1000000,
		"jobs waiting at most; past it POST answers 429 [64]"),
	SRV_OPT("max-upload", SRV_OPT_SIZE, max_upload, 1, INT64_MAX,
		"bytes of one upload, K/M/G/T suffix allowed [2G]"),
	SRV_OPT("retention", SRV_OPT_I64, retention, 0, INT64_MAX / 1000000000,
		"seconds a finished job and its files are kept [86400]"),
	SRV_OPT("grace", SRV_OPT_INT, grace, 0, 86400,
		"seconds running jobs may take to finish on SIGTERM [30]"),
	SRV_OPT("api-keys", SRV_OPT_STRING, api_keys, 0, 0,
		"comma-separated API keys; set: /v1 needs Authorization: Bearer KEY [none]"),
	SRV_OPT("max-connections", SRV_OPT_INT, max_connections, 1, 100000,
		"connections open at once [1024]"),
	SRV_OPT("max-connections-per-ip", SRV_OPT_INT, max_connections_per_ip, 0, 100000,
		"connections open at once from one address (0: no limit; set 0 "
		"behind a load balancer) [64]"),
	SRV_OPT("timeout", SRV_OPT_INT, timeout, 1, 86400,
		"seconds an idle connection is kept [60]"),
	SRV_OPT("log-level", SRV_OPT_LEVEL, log_level, 0, 0,
		"debug, info, warn or error [info]"),
	SRV_OPT("max-width", SRV_OPT_INT, max_width, 0, 1 << 20,
		"width of a clip, mask or keyframe at most (0: no limit) [8192]"),
	SRV_OPT("max-height", SRV_OPT_INT, max_height, 0, 1 << 20,
		"height of a clip, mask or keyframe at most (0: no limit) [8192]"),
	SRV_OPT("max-pixels", SRV_OPT_I64, max_pixels, 0, INT64_MAX,
		"pixels of one frame or image at most (0: no limit) [35389440, 8192x4320]"),
	SRV_OPT("max-frames", SRV_OPT_I64, max_frames, 0, INT64_MAX,
		"frames of one job's clip at most (0: no limit) [216000]"),
	SRV_OPT("max-duration", SRV_OPT_I64, max_duration, 0, INT64_MAX,
		"seconds of one job's clip at most (0: no limit) [3600]"),
	SRV_OPT("max-decoded", SRV_OPT_SIZE, max_decoded, 0, INT64_MAX,
		"bytes one job's clip may decode to, all frames (0: no limit) [1T]"),
	SRV_OPT("redis-url", SRV_OPT_STRING, redis_url, 0, 0,
		"redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]: "
		"jobs and queue in Redis, shared by replicas [none: local]"),
	SRV_OPT("reclaim-after", SRV_OPT_INT, reclaim_after, 2, 86400,
		"with Redis: seconds before the job of a replica that went silent "
		"is run by another [30]"),
	SRV_OPT("webhook-secret", SRV_OPT_STRING, webhook_secret, 0, 0,
		"key of the HMAC-SHA256 signing webhook deliveries; unset: jobs "
		"with a webhook are refused [none]"),
	SRV_OPT("webhook-allow", SRV_OPT_STRING, webhook_allow, 0, 0,
		"comma-separated host names, host:port, addresses or CIDRs webhooks "
		"may reach besides public addresses [none]"),
};

#define SRV_N_OPTS (sizeof(srv_opts) / sizeof(srv_opts[0]))

static const char *const srv_level_names[] = { "debug", "info", "warn", "error" };

const char *srv_log_level_name(enum srv_log_level level)
{
	return srv_level_names[level];
}

static int srv_config_defaults(struct srv_config *cfg, int cpus)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 8080;
	cfg->workers = 1;
	cfg->http_threads = cpus > 0 ? cpus : 1;
	cfg->queue = 64;
	cfg->max_upload = 2ULL << 30;
	cfg->retention = 86400;
	cfg->grace = 30;
	cfg->max_connections = 1024;
	cfg->max_connections_per_ip = 64;
	cfg->max_width = 8192;
	cfg->max_height = 8192;
	cfg->max_pixels = 8192 * 4320;
	cfg->max_frames = 216000;
	cfg->max_duration = 3600;
	cfg->max_decoded = 1ULL << 40;
	cfg->timeout = 60;
	cfg->log_level = SRV_LOG_INFO;
	cfg->reclaim_after = 30;
	cfg->data = strdup("./data");
	return cfg->data ? 0 : -ENOMEM;
}

/* MASKATTN_ + the flag in capitals, '-' as '_'. */
static void srv_opt_env_name(const struct srv_opt *opt, char *buf, size_t len)
{
	size_t i, n = strlen(SRV_ENV_PREFIX);

	snprintf(buf, len, "%s%s", SRV_ENV_PREFIX, opt->flag);
	for (i = n; buf[i]; i++)
		buf[i] = buf[i] == '-' ? '_' : (char)(buf[i] & ~0x20);
}

/* A decimal integer with an optional K/M/G/T suffix (when size). */
static int srv_parse_number(const char *text, bool size, int64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!*text || *text == '-' || *text == '+' || *text == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	if (size && *end) {
		const char *units = "KMGT";
		const char *unit = strchr(units, *end & ~0x20);

		if (!unit || end[1])
			return -EINVAL;
		shift = 10 * (unsigned)(unit - units + 1);
		end++;
	}
	if (*end || v > (unsigned long long)(INT64_MAX >> shift))
		return -EINVAL;
	*out = (int64_t)(v << shift);
	return 0;
}

static int srv_parse_level(const char *text, int *out)
{
	size_t i;

	for (i = 0; i < sizeof(srv_level_names) / sizeof(srv_level_names[0]); i++) {
		if (!strcmp(text, srv_level_names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Stores a number of the option's kind after checking its range. */
static int srv_opt_store_number(const struct srv_opt *opt, void *field,
				const char *text)
{
	int64_t v;

	if (srv_parse_number(text, opt->kind == SRV_OPT_SIZE, &v) < 0 ||
	    v < opt->min || v > opt->max)
		return -EINVAL;
	if (opt->kind == SRV_OPT_INT)
		*(int *)field = (int)v;
	else if (opt->kind == SRV_OPT_I64)
		*(int64_t *)field = v;
	else
		*(uint64_t *)field = (uint64_t)v;
	return 0;
}

/* What the option accepts, for messages. */
static void srv_opt_expected(const struct srv_opt *opt, char *buf, size_t len)
{
	if (opt->kind == SRV_OPT_LEVEL)
		snprintf(buf, len, "one of debug, info, warn, error");
	else if (opt->kind == SRV_OPT_SIZE)
		snprintf(buf, len, "a byte count such as 1048576, 512M or 2G");
	else
		snprintf(buf, len, "an integer from %" PRId64 " to %" PRId64,
			 opt->min, opt->max);
}

/* Sets one option from text; source names the flag or variable in messages. */
static int srv_opt_set(struct srv_config *cfg, const struct srv_opt *opt,
		       const char *text, const char *source, char *err,
		       size_t errlen)
{
	char expected[96];
	void *field = (char *)cfg + opt->offset;
	char *copy;
	int ret = -EINVAL;

	switch (opt->kind) {
	case SRV_OPT_STRING:
		copy = strdup(text);
		if (!copy)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	case SRV_OPT_LEVEL:
		ret = srv_parse_level(text, (int *)field);
		break;
	default:
		ret = srv_opt_store_number(opt, field, text);
		break;
	}
	if (ret < 0) {
		srv_opt_expected(opt, expected, sizeof(expected));
		snprintf(err, errlen, "%s must be %s, got \"%s\"", source,
			 expected, text);
	}
	return ret;
}

static int srv_config_from_env(struct srv_config *cfg,
			       char *(*getenv_fn)(const char *name),
			       char *err, size_t errlen)
{
	char name[SRV_NAME_MAX];
	const char *value;
	size_t i;
	int ret;

	for (i = 0; i < SRV_N_OPTS; i++) {
		srv_opt_env_name(&srv_opts[i], name, sizeof(name));
		value = getenv_fn(name);
		if (!value || !*value)
			continue;
		ret = srv_opt_set(cfg, &srv_opts[i], value, name, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static const struct srv_opt *srv_opt_find(const char *flag, size_t len)
{
	size_t i;

	for (i = 0; i < SRV_N_OPTS; i++)
		if (strlen(srv_opts[i].flag) == len &&
		    !strncmp(srv_opts[i].flag, flag, len))
			return &srv_opts[i];
	return NULL;
}

/* Reads the flag at argv[*i] (and its value), advancing *i past them. */
static int srv_config_flag(struct srv_config *cfg, int argc, char **argv,
			   int *i, char *err, size_t errlen)
{
	const char *arg = argv[*i], *name = arg + 2, *eq, *value;
	const struct srv_opt *opt;
	char source[SRV_NAME_MAX];

	if (strncmp(arg, "--", 2)) {
		snprintf(err, errlen, "unexpected argument \"%s\"; see --help", arg);
		return -EINVAL;
	}
	eq = strchr(name, '=');
	opt = srv_opt_find(name, eq ? (size_t)(eq - name) : strlen(name));
	if (!opt) {
		snprintf(err, errlen, "unknown flag \"%s\"; see --help", arg);
		return -EINVAL;
	}
	snprintf(source, sizeof(source), "--%s", opt->flag);
	if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		snprintf(err, errlen, "%s needs a value; see --help", source);
		return -EINVAL;
	}
	return srv_opt_set(cfg, opt, value, source, err, errlen);
}

static int srv_config_from_args(struct srv_config *cfg, int argc, char **argv,
				char *err, size_t errlen)
{
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cfg->help = true;
			continue;
		}
		ret = srv_config_flag(cfg, argc, argv, &i, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int srv_config_parse(struct srv_config *cfg, int argc, char **argv,
		     char *(*getenv_fn)(const char *name), int cpus,
		     char *err, size_t errlen)
{
	struct srv_redis_url url;
	srv_allow *allow;
	int ret;

	ret = srv_config_defaults(cfg, cpus);
	if (ret < 0)
		return ret;
	ret = srv_config_from_env(cfg, getenv_fn, err, errlen);
	if (ret < 0)
		return ret;
	ret = srv_config_from_args(cfg, argc, argv, err, errlen);
	if (ret < 0)
		return ret;
	if (!cfg->threads)
		cfg->threads = cpus / cfg->workers > 1 ? cpus / cfg->workers : 1;
	if (!*cfg->data) {
		snprintf(err, errlen, "--data must name a directory, got \"\"");
		return -EINVAL;
	}
	if (cfg->webhook_secret && !*cfg->webhook_secret) {
		snprintf(err, errlen, "--webhook-secret must not be empty");
		return -EINVAL;
	}
	ret = srv_allow_parse(cfg->webhook_allow, &allow, err, errlen);
	if (ret < 0)
		return ret;
	srv_allow_free(allow);
	return cfg->redis_url ? srv_redis_url_parse(cfg->redis_url, &url, err, errlen) : 0;
}

void srv_config_release(struct srv_config *cfg)
{
	free(cfg->data);
	free(cfg->api_keys);
	free(cfg->redis_url);
	free(cfg->webhook_secret);
	free(cfg->webhook_allow);
	cfg->data = NULL;
	cfg->api_keys = NULL;
	cfg->redis_url = NULL;
	cfg->webhook_secret = NULL;
	cfg->webhook_allow = NULL;
}

void srv_config_usage(FILE *out)
{
	char name[SRV_NAME_MAX];
	size_t i;

	fprintf(out, "usage: maskattn serve [flags]\n"
		"Each flag has an environment twin; the flag wins.\n");
	for (i = 0; i < SRV_N_OPTS; i++) {
		srv_opt_env_name(&srv_opts[i], name, sizeof(name));
		fprintf(out, "  --%-16s %-26s %s\n", srv_opts[i].flag, name,
			srv_opts[i].help);
	}
}
