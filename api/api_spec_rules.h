/*
 * api_spec_rules: the rules of the job spec that involve more than one
 * field, applied after the field tables have read it. Internal to api/.
 */
#ifndef API_SPEC_RULES_H
#define API_SPEC_RULES_H

#include <math.h>

#include <cJSON.h>

#include "api/api_json.h"
#include "api/api_spec.h"

/* Sentinels the field tables leave for the rules (JSON has no NaN). */
#define API_NO_FRAME  (-1)      /* a mask or keyframe without a valid frame */
#define API_NO_WEIGHT NAN       /* a mask without its own weight */

/*
 * Fills in each mask's effective weight, reports repeated frames, masks
 * together with mask_video, and propagate without edited keyframes, then
 * sorts masks and keyframes by frame. root is the spec's JSON object.
 */
void api_spec_apply_rules(struct api_parse *p, const cJSON *root,
			  api_spec *spec);

#endif
