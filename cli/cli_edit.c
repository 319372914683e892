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

#include <sys/stat.h>

#include <libavutil/log.h>

#include "api/api_spec.h"
#include "attention/attn_blas.h"
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
	int stats;
	int help;
};

static const char usage[] =
	"usage: maskattn edit --spec job.json --out result.mp4 [--threads N] [--quiet] [--stats]\n"
	"  file paths in the spec are relative to the spec file\n"
	"  --stats prints the job's figures as one JSON line on stdout\n";

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
		{ "--stats", NULL, CLI_FLAG, &a->stats },
		{ "--help", NULL, CLI_FLAG, &a->help },
		{ 0 },
	};
	int ret = cli_args_parse(opts, argc - 1, argv + 1, err, errlen);

	if (ret < 0 || a->help)
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

#define SPEC_MAX (16 << 20)     /* a spec is a few hundred bytes; this is plenty */

/* The whole spec file as a string owned by the caller. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || S_ISDIR(st.st_mode))
		snprintf(err, errlen, "%s is a folder; give the job spec file (JSON)", path);
	else if (st.st_size > SPEC_MAX)
		snprintf(err, errlen, "%s: %lld bytes is too large for a job spec",
			 path, (long long)st.st_size);
	else if (!(buf = malloc(st.st_size + 1)))
		snprintf(err, errlen, "%s: out of memory", path);
	else if (fread(buf, 1, st.st_size, f) != (size_t)st.st_size)
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	else {
		buf[st.st_size] = '\0';
		*len = st.st_size;
		fclose(f);
		return buf;
	}
	free(buf);
	fclose(f);
	return NULL;
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

/*
 * -EEXIST when out is one of the job's inputs (the same file, under any
 * name): writing the result there would destroy what it is made from.
 */
static int check_out(const struct paths *p, const char *out, char *err,
		     size_t errlen)
{
	struct stat so, si;

	if (stat(out, &so) < 0)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->all[i] || stat(p->all[i], &si) < 0)
			continue;
		if (so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
			snprintf(err, errlen, "--out %s is an input of the job (%s); "
				 "write the result elsewhere", out, p->all[i]);
			return -EEXIST;
		}
	}
	return 0;
}

/* The job's figures, for benchmarks: times per stage overlap. */
static void print_stats(const struct pipe_job_result *r)
{
	printf("{\"frames\": %lld, \"seconds\": %.4f, \"fps\": %.3f, "
	       "\"decode_seconds\": %.4f, \"attend_seconds\": %.4f, "
	       "\"blend_seconds\": %.4f, \"encode_seconds\": %.4f, "
	       "\"gflops\": %.3f, \"useful_share\": %.4f, "
	       "\"attention_entropy_mean\": %.4f, \"blas_core\": \"%s\"}\n",
	       (long long)r->frames, r->seconds, r->fps, r->decode_seconds,
	       r->attend_seconds, r->blend_seconds, r->encode_seconds, r->gflops,
	       r->useful_share, r->attention_entropy_mean, attn_blas_core());
}

static int run(const api_spec *spec, const struct edit_args *a)
{
	struct paths p = { 0 };
	struct pipe_job_opts jo = { .threads = (int)a->threads, .cancel = &cancel_flag,
				    .limits = &pipe_limits_default };
	struct pipe_job_result res;
	char err[512] = "";
	int show = !a->quiet && isatty(STDERR_FILENO), ret;

	if (paths_build(spec, a->spec, a->out, &p) < 0) {
		paths_free(&p);
		return fail(EXIT_FAIL, "out of memory");
	}
	if (check_out(&p, a->out, err, sizeof(err)) < 0) {
		paths_free(&p);
		return fail(EXIT_USAGE, "%s", err);
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
	if (a->stats)
		print_stats(&res);
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
	if (parse_args(argc, argv, &a, err, sizeof(err)) < 0)
		return fail(EXIT_USAGE, "%s; see 'maskattn edit --help'", err);
	if (a.help) {
		fputs(usage, stdout);
		return 0;
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
