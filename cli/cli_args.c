#include "cli/cli_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int set_value(const struct cli_opt *o, const char *name, const char *value,
		     char *err, size_t errlen)
{
	char *end;
	long v;

	switch (o->kind) {
	case CLI_STRING:
		*(const char **)o->target = value;
		return 0;
	case CLI_FLAG:
		*(int *)o->target = !strcmp(value, "1") || !strcasecmp(value, "true") ||
				    !strcasecmp(value, "yes");
		return 0;
	case CLI_LONG:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end) {
			snprintf(err, errlen, "%s must be a whole number, got '%s'",
				 name, value);
			return -EINVAL;
		}
		*(long *)o->target = v;
		return 0;
	}
	return -EINVAL;
}

static const struct cli_opt *find(const struct cli_opt *opts, const char *arg,
				  size_t len)
{
	for (const struct cli_opt *o = opts; o->flag; o++)
		if (strlen(o->flag) == len && !strncmp(o->flag, arg, len))
			return o;
	return NULL;
}

static int apply_env(const struct cli_opt *opts, char *err, size_t errlen)
{
	for (const struct cli_opt *o = opts; o->flag; o++) {
		const char *v = o->env ? getenv(o->env) : NULL;
		int ret = v && *v ? set_value(o, o->env, v, err, errlen) : 0;

		if (ret < 0)
			return ret;
	}
	return 0;
}

int cli_args_parse(const struct cli_opt *opts, int argc, char **argv, char *err,
		   size_t errlen)
{
	int ret = apply_env(opts, err, errlen);

	for (int i = 0; ret >= 0 && i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		const struct cli_opt *o = find(opts, argv[i], len);
		const char *value = eq ? eq + 1 : NULL;

		if (!o) {
			snprintf(err, errlen, "unknown option '%s'", argv[i]);
			return -EINVAL;
		}
		if (o->kind == CLI_FLAG && !value) {
			*(int *)o->target = 1;
			continue;
		}
		if (!value && i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", o->flag);
			return -EINVAL;
		}
		ret = set_value(o, o->flag, value ? value : argv[++i], err, errlen);
	}
	return ret;
}
