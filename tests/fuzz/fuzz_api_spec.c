/*
 * fuzz_api_spec: libFuzzer target for the job-spec parser, fed the bytes a
 * client sends as the "spec" part (or the CLI reads from --spec).
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * header promises: a spec that parses writes back as JSON that parses to
 * the same text again, and a refused spec comes with its field errors,
 * which the server turns into a problem+json document.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_errors.h"
#include "api/api_json.h"
#include "api/api_spec.h"

/* A frame count for api_spec_check_frames, as a short clip would have. */
#define FUZZ_FRAME_COUNT 100

/* What the server does with a valid spec: write it, read it back, check it. */
static void fuzz_valid_spec(const api_spec *spec)
{
	char *text = api_spec_to_json(spec), *again = NULL, *printed;
	api_spec *second = NULL;
	api_errors *errs = NULL;

	if (!text)
		abort();
	if (api_spec_parse(text, strlen(text), &second, NULL) < 0)
		abort();
	again = api_spec_to_json(second);
	if (!again || strcmp(text, again))
		abort();
	printed = api_json_print(api_spec_to_cjson(spec));
	if (!printed || strcmp(printed, text))
		abort();
	if (api_spec_check_frames(spec, FUZZ_FRAME_COUNT, &errs) == -EINVAL &&
	    (!errs || !errs->count))
		abort();
	api_errors_free(errs);
	free(printed);
	free(again);
	api_spec_free(second);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	api_spec *spec = NULL;
	api_errors *errs = NULL;
	char line[256], *problem;
	int ret;

	ret = api_spec_parse((const char *)data, size, &spec, &errs);
	if (!ret) {
		fuzz_valid_spec(spec);
	} else if (ret == -EINVAL) {
		if (!errs || !errs->count)
			abort();
		api_errors_line(errs, line, sizeof(line));
		problem = api_problem_json(422, "invalid-spec", "The job spec is invalid",
					   line, errs);
		if (!problem)
			abort();
		free(problem);
	}
	api_errors_free(errs);
	api_spec_free(spec);
	return 0;
}
