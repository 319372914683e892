"""Many clients at once, and a full queue answered 429 with Retry-After."""
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import assert_problem, make_server, parts, propagate_spec, submit_edit, wait_job


def test_twenty_clients(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "many", args=["--workers", "2"]).start()
    files = {name: media[key].read_bytes() for name, key in
             (("clip", "clip"), ("mask0", "mask"), ("edit0", "edit"))}

    def client(i):
        with requests.Session() as s:
            r = s.post(srv.url("/v1/jobs"), files=parts(propagate_spec(seed=i), **files),
                       timeout=120)
            assert r.status_code == 202, r.text
            return r.json()["id"]

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(client, range(20)))
    assert len(set(ids)) == 20
    with ThreadPoolExecutor(20) as pool:
        jobs = list(pool.map(lambda i: wait_job(srv, i, timeout=280), ids))
    assert [j["status"] for j in jobs] == ["succeeded"] * 20
    assert srv.stop() == 0


def test_queue_full_is_429(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "full", args=["--workers", "1", "--queue", "1"]).start()
    first = submit_edit(srv, media, "long").json()["id"]
    wait_job(srv, first, until=("running",))
    second = submit_edit(srv, media, "long")
    assert second.status_code == 202
    r = submit_edit(srv, media, "clip")
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    tmp, _ = srv.staged()
    assert tmp == []
    for job_id in (first, second.json()["id"]):
        srv.post(f"/v1/jobs/{job_id}/cancel")
    assert submit_edit(srv, media, "clip").status_code == 202
    assert srv.stop() == 0
