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

/* 1 when argv sets option o ("--flag", "--flag=..."). */
static int given(const struct cli_opt *o, int argc, char **argv)
{
	size_t len = strlen(o->flag);

	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], o->flag, len) &&
		    (argv[i][len] == '\0' || argv[i][len] == '='))
			return 1;
	return 0;
}

/* The variables of the options the command line does not set. */
static int apply_env(const struct cli_opt *opts, int argc, char **argv,
		     char *err, size_t errlen)
{
	for (const struct cli_opt *o = opts; o->flag; o++) {
		const char *v = o->env ? getenv(o->env) : NULL;
		int ret = v && *v && !given(o, argc, argv) ?
			  set_value(o, o->env, v, err, errlen) : 0;

		if (ret < 0)
			return ret;
	}
	return 0;
}

int cli_args_parse(const struct cli_opt *opts, int argc, char **argv, char *err,
		   size_t errlen)
{
	int ret = apply_env(opts, argc, argv, err, errlen);

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
		/* "--data --quiet" is a forgotten value, not a folder named --quiet */
		if (!value && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) {
			snprintf(err, errlen, "%s needs a value", o->flag);
			return -EINVAL;
		}
		ret = set_value(o, o->flag, value ? value : argv[++i], err, errlen);
	}
	return ret;
}
