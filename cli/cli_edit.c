#include "cli/cli_edit.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "api/api_spec.h"
#include "cli/cli_args.h"
#include "pipeline/pipe_job.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

static atomic_int cancel_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&cancel_flag, 1);
}

struct edit_args {
	const char *spec;
	const char *out;
	long threads;
	int quiet;
};

static const char usage[] =
	"usage: maskattn edit --spec job.json --out result.mp4 [--threads N] [--quiet]\n"
	"  file paths in the spec are relative to the spec file\n";

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("maskattn: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int parse_args(int argc, char **argv, struct edit_args *a, char *err,
		      size_t errlen)
{
	const struct cli_opt opts[] = {
		{ "--spec", "MASKATTN_SPEC", CLI_STRING, &a->spec },
		{ "--out", "MASKATTN_OUT", CLI_STRING, &a->out },
		{ "--threads", "MASKATTN_THREADS", CLI_LONG, &a->threads },
		{ "--quiet", "MASKATTN_QUIET", CLI_FLAG, &a->quiet },
		{ 0 },
	};
	int ret = cli_args_parse(opts, argc - 1, argv + 1, err, errlen);

	if (ret < 0)
		return ret;
	if (!a->spec || !a->out) {
		snprintf(err, errlen, "--spec and --out are required");
		return -EINVAL;
	}
	if (a->threads < 1 || a->threads > 256) {
		snprintf(err, errlen, "--threads must be between 1 and 256, got %ld",
			 a->threads);
		return -EINVAL;
	}
	return 0;
}

/* The whole spec file as a string owned by the caller. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(size + 1)) &&
	    fread(buf, 1, size, f) == (size_t)size) {
		buf[size] = '\0';
		*len = size;
	} else {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Paths of the spec's files, relative to the spec's folder. */
struct paths {
	char **all;
	size_t n;
	struct pipe_job_files files;
};

static char *resolve(const char *dir, const char *name)
{
	char *p;

	if (!name)
		return NULL;
	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static void paths_free(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->all[i]);
	free(p->all);
}

static int paths_build(const api_spec *spec, const char *spec_path,
		       const char *out, struct paths *p)
{
	char *copy = strdup(spec_path);
	const char *dir = copy ? dirname(copy) : NULL;
	size_t n = 2 + spec->n_masks + spec->n_keyframes, i = 0;
	int ret = -ENOMEM;

	p->all = calloc(n, sizeof(char *));
	if (!dir || !p->all)
		goto out_free;
	p->n = n;
	p->all[i++] = resolve(dir, spec->video);
	p->all[i++] = resolve(dir, spec->mask_video);
	for (size_t m = 0; m < spec->n_masks; m++)
		p->all[i++] = resolve(dir, spec->masks[m].image);
	for (size_t k = 0; k < spec->n_keyframes; k++)
		p->all[i++] = resolve(dir, spec->keyframes[k].image);
	p->files = (struct pipe_job_files){
		.video = p->all[0], .mask_video = p->all[1],
		.mask_images = (const char *const *)p->all + 2,
		.keyframe_images = (const char *const *)p->all + 2 + spec->n_masks,
		.output = out,
	};
	ret = p->files.video ? 0 : -ENOMEM;
out_free:
	free(copy);
	return ret;
}

static void show_progress(void *opaque, const struct pipe_progress *p)
{
	(void)opaque;
	fprintf(stderr, "\r%lld/%lld frames  %.1f fps  ETA %d:%02d ",
		(long long)p->frames_done, (long long)p->frames_total, p->fps,
		(int)p->eta / 60, (int)p->eta % 60);
	fflush(stderr);
}

static int run(const api_spec *spec, const struct edit_args *a)
{
	struct paths p = { 0 };
	struct pipe_job_opts jo = { .threads = (int)a->threads, .cancel = &cancel_flag };
	struct pipe_job_result res;
	char err[512] = "";
	int show = !a->quiet && isatty(STDERR_FILENO), ret;

	if (paths_build(spec, a->spec, a->out, &p) < 0) {
		paths_free(&p);
		return fail(EXIT_FAIL, "out of memory");
	}
	if (show)
		jo.on_progress = show_progress;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = pipe_job_run(spec, &p.files, &jo, &res, err, sizeof(err));
	if (show)
		fputc('\n', stderr);
	paths_free(&p);
	if (ret == -ECANCELED)
		return fail(EXIT_INTERRUPTED, "interrupted; %s was not written", a->out);
	if (ret < 0)
		return fail(EXIT_FAIL, "%s", err);
	if (show)
		fprintf(stderr, "%s: %lld frames in %.1f s (%.1f fps)\n", a->out,
			(long long)res.frames, res.seconds, res.fps);
	return 0;
}

int cli_edit(int argc, char **argv)
{
	struct edit_args a = { .threads = sysconf(_SC_NPROCESSORS_ONLN) };
	api_errors *errs = NULL;
	api_spec *spec = NULL;
	char err[512], line[512];
	size_t len;
	char *text;
	int code;

	av_log_set_level(AV_LOG_QUIET);
	if (parse_args(argc, argv, &a, err, sizeof(err)) < 0) {
		fputs(usage, stderr);
		return fail(EXIT_USAGE, "%s", err);
	}
	text = read_file(a.spec, &len, err, sizeof(err));
	if (!text)
		return fail(EXIT_USAGE, "%s", err);
	if (api_spec_parse(text, len, &spec, &errs) < 0) {
		code = fail(EXIT_USAGE, "%s: %s", a.spec,
			    errs ? api_errors_line(errs, line, sizeof(line)) : "out of memory");
		goto out_free;
	}
	code = run(spec, &a);
out_free:
	api_errors_free(errs);
	api_spec_free(spec);
	free(text);
	return code;
}
