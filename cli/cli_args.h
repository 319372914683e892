/*
 * cli_args: command-line flags, each with an environment twin. A flag on
 * the command line wins over its variable; the variable over the default
 * already in the target.
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stddef.h>

enum cli_kind {
	CLI_STRING,             /* target: const char * */
	CLI_LONG,               /* target: long */
	CLI_FLAG,               /* target: int, set to 1 (variable: 1/true/yes) */
};

struct cli_opt {
	const char *flag;       /* "--port"; NULL ends the table */
	const char *env;        /* "MASKATTN_PORT" */
	enum cli_kind kind;
	void *target;
};

/*
 * Applies the variables, then argv[0..argc) ("--flag value" or
 * "--flag=value"). Returns 0 or -EINVAL with a message naming the flag.
 */
int cli_args_parse(const struct cli_opt *opts, int argc, char **argv, char *err,
		   size_t errlen);

#endif
