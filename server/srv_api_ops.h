/*
 * srv_api_ops: the operator routes: /healthz (the process answers),
 * /readyz (503 before the store is loaded and while draining), /metrics
 * (Prometheus text) and /openapi.yaml.
 */
#ifndef SRV_API_OPS_H
#define SRV_API_OPS_H

#include "server/srv_reply.h"

enum MHD_Result srv_api_healthz(struct srv_request *req);
enum MHD_Result srv_api_readyz(struct srv_request *req);
enum MHD_Result srv_api_metrics(struct srv_request *req);
enum MHD_Result srv_api_openapi(struct srv_request *req);

#endif
