"""With MASKATTN_API_KEYS: every /v1 route needs a known bearer key, and a
job is 404 to every key but the one that made it."""
import pytest

from conftest import assert_problem, make_server, submit_edit, wait_job

KEYS = {"alice": "key-alice-0123", "bob": "key-bob-4567"}


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


def test_jobs_are_isolated(srv, job, media):
    job_id = job["id"]
    for method, path in routes(job_id)[1:5]:
        r = srv.session.request(method, srv.url(path), headers=bearer("bob"), timeout=30)
        assert_problem(r, 404)
    listed = srv.get("/v1/jobs", headers=bearer("bob")).json()["jobs"]
    assert job_id not in [j["id"] for j in listed]
    listed = srv.get("/v1/jobs", headers=bearer("alice")).json()["jobs"]
    assert job_id in [j["id"] for j in listed]
    assert srv.get(f"/v1/jobs/{job_id}/output", headers=bearer("alice")).status_code == 200
    state = (srv.data / "jobs" / job_id / "state.json").read_text()
    assert KEYS["alice"] not in state


def test_idempotency_keys_are_per_api_key(srv, media):
    key = {"Idempotency-Key": "same"}
    a = submit_edit(srv, media, headers={**key, **bearer("alice")})
    b = submit_edit(srv, media, headers={**key, **bearer("bob")}, seed=3)
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]
    assert srv.delete(f"/v1/jobs/{b.json()['id']}", headers=bearer("bob")).status_code == 204
    assert srv.delete(f"/v1/jobs/{a.json()['id']}", headers=bearer("bob")).status_code == 404
    assert srv.delete(f"/v1/jobs/{a.json()['id']}", headers=bearer("alice")).status_code == 204
