/*
 * cli_edit: `maskattn edit --spec job.json --out result.mp4`, the engine
 * from the command line, through the same spec parser and job entry point
 * as the server.
 */
#ifndef CLI_EDIT_H
#define CLI_EDIT_H

/* argv[0] is "edit". Returns the process exit code. */
int cli_edit(int argc, char **argv);

#endif
