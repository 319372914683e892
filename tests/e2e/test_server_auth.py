"""With MASKATTN_API_KEYS: every /v1 route needs a known bearer key, and a
job is 404 to every key but the one that made it."""
import re
from pathlib import Path

import pytest
import yaml

from conftest import assert_problem, make_server, submit_edit, wait_job

KEYS = {"alice": "key-alice-0123", "bob": "key-bob-4567"}
ROUTE_TABLE = Path(__file__).resolve().parents[2] / "server" / "srv_route.c"
HTTP_METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}
# Requests beyond the plain one that another key tries on a job route.
EXTRA_HEADERS = {
    "/v1/jobs/{id}/output": [{"Range": "bytes=0-99"}, {"Range": "bytes=-1"},
                             {"If-None-Match": "*"}, {"If-Range": "x", "Range": "bytes=0-"}],
    "/v1/jobs/{id}/attention": [{"Range": "bytes=0-99"}, {"If-None-Match": "*"}],
    "/v1/jobs/{id}/events": [{"Last-Event-ID": "1"}, {"Accept": "text/event-stream"}],
}
# Values of the other path parameters of job routes.
PATH_VALUES = {"{n}": "0"}


def bearer(who):
    return {"Authorization": f"Bearer {KEYS[who]}"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory, "auth",
                    env={"MASKATTN_API_KEYS": " , ".join(KEYS.values())}).start()
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def job(srv, media):
    r = submit_edit(srv, media, "clip", headers=bearer("alice"))
    assert r.status_code == 202, r.text
    return wait_job(srv, r.json()["id"], headers=bearer("alice"))


def routes(job_id):
    return [("get", "/v1/jobs"), ("get", f"/v1/jobs/{job_id}"),
            ("get", f"/v1/jobs/{job_id}/output"), ("post", f"/v1/jobs/{job_id}/cancel"),
            ("delete", f"/v1/jobs/{job_id}"), ("post", "/v1/jobs")]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic a2V5LWFsaWNlLTAxMjM="}])
def test_v1_needs_a_known_key(srv, job, headers):
    for method, path in routes(job["id"]):
        r = srv.session.request(method, srv.url(path), headers=headers, timeout=30)
        assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_operations_need_no_key(srv):
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.yaml"):
        assert srv.get(path).status_code == 200


def served_routes():
    """{route template: methods} of the path table in server/srv_route.c."""
    table = re.findall(r'\[SRV_PATH_\w+\] = \{ "([^"]+)", "([^"]+)"', ROUTE_TABLE.read_text())
    assert len(table) >= 8, "the path table of srv_route.c was not found"
    return {route: set(allow.split(", ")) for route, allow in table}


def job_routes(srv):
    """(method, route) of every route taking a job id: the server's own
    table, checked against the /v1 paths of /openapi.yaml both ways."""
    doc = yaml.safe_load(srv.get("/openapi.yaml").text)
    documented = {path: {m.upper() for m in ops if m in HTTP_METHODS}
                  for path, ops in doc["paths"].items()}
    served = served_routes()
    for route in set(served) | set(documented):
        if route.startswith("/v1"):
            assert served.get(route, set()) - {"HEAD"} == documented.get(route, set()) - {"HEAD"}, route
    found = sorted((m, r) for r, methods in served.items() if "{id}" in r for m in methods)
    assert {("GET", "/v1/jobs/{id}"), ("DELETE", "/v1/jobs/{id}"), ("GET", "/v1/jobs/{id}/output"),
            ("HEAD", "/v1/jobs/{id}/output"), ("POST", "/v1/jobs/{id}/cancel")} <= set(found)
    return found


def others_try_everything(srv, job_id):
    """Bob tries every job route on job_id (every method, Range and
    conditional downloads): each is 404 problem+json, as for no job at all."""
    tried = set()
    for method, route in job_routes(srv):
        for extra in [{}] + EXTRA_HEADERS.get(route, []):
            path = route.replace("{id}", job_id)
            for name, value in PATH_VALUES.items():
                path = path.replace(name, value)
            url = srv.url(path)
            r = srv.session.request(method, url, headers={**extra, **bearer("bob")}, timeout=30)
            what = (method, route, extra)
            assert r.status_code == 404, (what, r.status_code, r.text[:200])
            assert r.headers["Content-Type"].startswith("application/problem+json"), what
            if method != "HEAD":
                assert_problem(r, 404)
            tried.add((method, route))
    assert tried == set(job_routes(srv))


def test_jobs_are_isolated(srv, job, media):
    job_id = job["id"]
    output = srv.get(f"/v1/jobs/{job_id}/output", headers=bearer("alice"))
    assert output.status_code == 200
    others_try_everything(srv, job_id)
    after = srv.get(f"/v1/jobs/{job_id}", headers=bearer("alice")).json()
    assert after["status"] == "succeeded" and after["finished_at"] == job["finished_at"]
    again = srv.get(f"/v1/jobs/{job_id}/output", headers=bearer("alice"))
    assert again.content == output.content and again.headers["ETag"] == output.headers["ETag"]
    listed = srv.get("/v1/jobs", headers=bearer("bob")).json()["jobs"]
    assert job_id not in [j["id"] for j in listed]
    listed = srv.get("/v1/jobs", headers=bearer("alice")).json()["jobs"]
    assert job_id in [j["id"] for j in listed]
    state = (srv.data / "jobs" / job_id / "state.json").read_text()
    assert KEYS["alice"] not in state


def test_a_running_job_is_isolated(srv, media):
    """Cancel and delete by another key while the job is queued or running
    change nothing: it runs to the end."""
    r = submit_edit(srv, media, "long", headers=bearer("alice"))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    others_try_everything(srv, job_id)
    assert srv.get(f"/v1/jobs/{job_id}", headers=bearer("alice")).json()["status"] in ("queued", "running")
    assert wait_job(srv, job_id, headers=bearer("alice"))["status"] == "succeeded"
    assert srv.get(f"/v1/jobs/{job_id}/output", headers=bearer("alice")).status_code == 200


def test_idempotency_keys_are_per_api_key(srv, media):
    key = {"Idempotency-Key": "same"}
    a = submit_edit(srv, media, headers={**key, **bearer("alice")})
    b = submit_edit(srv, media, headers={**key, **bearer("bob")}, seed=3)
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]
    assert srv.delete(f"/v1/jobs/{b.json()['id']}", headers=bearer("bob")).status_code == 204
    assert srv.delete(f"/v1/jobs/{a.json()['id']}", headers=bearer("bob")).status_code == 404
    assert srv.delete(f"/v1/jobs/{a.json()['id']}", headers=bearer("alice")).status_code == 204
