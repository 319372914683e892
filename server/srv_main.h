/*
 * srv_main: `maskattn serve`. Reads the configuration (flags over
 * MASKATTN_* variables), runs the service until SIGTERM or SIGINT, then
 * drains it (see srv_service_drain) and exits 0.
 */
#ifndef SRV_MAIN_H
#define SRV_MAIN_H

/*
 * argv[0] is "serve"; the flags follow. Returns the process exit code:
 * 0 after a clean shutdown or --help, 2 for a bad flag or variable, 1 when
 * the service cannot start.
 */
int srv_main(int argc, char **argv);

#endif
