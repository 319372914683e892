/*
 * srv_dirs: the data directory's layout, which every backend shares. Each
 * job is DATA/jobs/<id>/ (its inputs under names the server made, the
 * output, and whatever the backend keeps beside them); uploads are staged
 * in DATA/tmp/<id>/ and moved into jobs/ whole, so a crash never leaves
 * half a job. Several replicas may share one data directory.
 */
#ifndef SRV_DIRS_H
#define SRV_DIRS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct srv_dirs srv_dirs;

/* The output file of a job. */
#define SRV_OUTPUT_FILE "output.mp4"
#define SRV_ATTENTION_FILE "attention.mp4"     /* the heatmap, when asked for */
#define SRV_MASK_FILE "mask.mp4"               /* the coverage the engine used */

/*
 * Opens the data directory root, making DATA, DATA/jobs and DATA/tmp when
 * missing. clear_tmp: staged uploads left by an earlier run are removed
 * (only when no other process uses the directory). *out is owned by the
 * caller. A negative errno with a message in err on failure.
 */
int srv_dirs_open(const char *root, bool clear_tmp, srv_dirs **out, char *err,
		  size_t errlen);

void srv_dirs_free(srv_dirs *dirs);

/*
 * DATA/jobs/<id>/<name> (id NULL: DATA/jobs; name NULL: the job's
 * directory) in buf. -ENAMETOOLONG when it does not fit.
 */
int srv_dirs_path(const srv_dirs *dirs, const char *id, const char *name,
		  char *buf, size_t len);

/* DATA/tmp/<id>/<name> (name NULL: the directory) in buf. */
int srv_dirs_staged(const srv_dirs *dirs, const char *id, const char *name,
		    char *buf, size_t len);

/* Makes the staging directory of id and writes its path to buf. */
int srv_dirs_stage(srv_dirs *dirs, const char *id, char *buf, size_t len);

/* Removes the staging directory of id with everything in it. */
void srv_dirs_unstage(srv_dirs *dirs, const char *id);

/* Moves the staging directory of id into jobs/, durably. */
int srv_dirs_adopt(srv_dirs *dirs, const char *id);

/* Removes the directory of job id with everything in it. */
int srv_dirs_remove(srv_dirs *dirs, const char *id);

#endif
