/*
 * maskattn: attention-masked video-to-video editing.
 *     maskattn edit --spec job.json --out result.mp4
 *     maskattn serve [--port N] [--data DIR] [--workers N]
 */
#include <stdio.h>
#include <string.h>

#include "attention/attn_blas.h"
#include "cli/cli_edit.h"
#include "server/srv_main.h"

static const char usage[] =
	"usage: maskattn edit --spec job.json --out result.mp4 [--threads N] [--quiet]\n"
	"       maskattn serve [--port N] [--data DIR] [--workers N] ...\n"
	"Run 'maskattn serve --help' for the service's settings.\n";

int main(int argc, char **argv)
{
	attn_blas_reexec(argv);
	if (argc >= 2 && !strcmp(argv[1], "edit"))
		return cli_edit(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return srv_main(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "maskattn: unknown command '%s'; use edit or serve "
			"(see 'maskattn --help')\n", argv[1]);
	else
		fputs("maskattn: give a command, edit or serve (see 'maskattn --help')\n",
		      stderr);
	return 2;
}
