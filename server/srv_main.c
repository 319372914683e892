/*
 * srv_main: signals are blocked in every thread and taken here with
 * sigtimedwait, which also paces the retention sweep.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "server/srv_clock.h"
#include "server/srv_log.h"
#include "server/srv_main.h"
#include "server/srv_service.h"

/* Seconds between two retention sweeps. */
#define SRV_SWEEP_SECONDS 1

static int srv_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* Blocks the shutdown signals (before any thread starts, so all inherit it). */
static void srv_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Serves until a shutdown signal; sweeps expired jobs meanwhile. */
static int srv_wait_signal(srv_service *svc, const sigset_t *set)
{
	struct timespec tick = { SRV_SWEEP_SECONDS, 0 };
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			srv_backend_expire(svc->backend, srv_now_ns() -
					   svc->cfg->retention * SRV_NS_PER_S);
	}
}

static void srv_log_started(const struct srv_config *cfg, int port)
{
	srv_log(SRV_LOG_INFO, "listening",
		"port %d, data %s, %d worker(s) x %d thread(s), queue %d, auth %s, "
		"jobs %s", port, cfg->data, cfg->workers, cfg->threads, cfg->queue,
		cfg->api_keys && *cfg->api_keys ? "on" : "off",
		cfg->redis_url ? "in Redis" : "local");
}

static int srv_run(const struct srv_config *cfg)
{
	srv_service *svc;
	char err[512];
	sigset_t set;
	int sig;

	srv_block_signals(&set);
	if (srv_service_create(cfg, &svc, err, sizeof(err)) < 0) {
		srv_log(SRV_LOG_ERROR, "cannot start", "%s", err);
		return 1;
	}
	srv_log_started(cfg, srv_service_port(svc));
	sig = srv_wait_signal(svc, &set);
	srv_log(SRV_LOG_INFO, "shutting down", "signal %d", sig);
	srv_service_drain(svc);
	srv_service_free(svc);
	srv_log(SRV_LOG_INFO, "stopped", "clean shutdown");
	return 0;
}

int srv_main(int argc, char **argv)
{
	struct srv_config cfg;
	char err[256];
	int ret;

	ret = srv_config_parse(&cfg, argc - 1, argv + 1, getenv, srv_cpus(),
			       err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "maskattn serve: %s\n", ret == -ENOMEM ?
			"out of memory" : err);
		ret = 2;
	} else if (cfg.help) {
		srv_config_usage(stdout);
	} else {
		srv_log_set_level(cfg.log_level);
		av_log_set_level(AV_LOG_QUIET);
		ret = srv_run(&cfg);
	}
	srv_config_release(&cfg);
	return ret;
}
