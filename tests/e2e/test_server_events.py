"""GET /v1/jobs/{id}/events: Server-Sent Events read by a real streaming
client: a status event per transition, progress at most every 500 ms, a
final end event, then the stream closes; a finished job gives its status
and end at once; a stream outlives the connection timeout; 404 for a job
of another API key."""
import time

import pytest
import requests

from conftest import FINAL, assert_problem, make_server, submit_edit, wait_job
from sse import events

RANK = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2, "canceled": 2}


def stream(srv, job_id, headers=None, timeout=60):
    r = requests.get(srv.url(f"/v1/jobs/{job_id}/events"), stream=True,
                     headers=headers or {}, timeout=timeout)
    return r


def check_stream(got, job_id):
    """Events in order: ids 1, 2, ...; statuses forward; progress only while
    running and at most every 500 ms; one end, last, with a final status."""
    assert [int(e.id) for e in got] == list(range(1, len(got) + 1)), got
    assert got[0].name == "status" and got[-1].name == "end", got
    assert [e.name for e in got].count("end") == 1
    statuses = [e.json()["status"] for e in got if e.name == "status"]
    assert statuses == sorted(statuses, key=RANK.get), statuses
    assert len(set(statuses)) == len(statuses), statuses
    assert got[-1].json()["status"] in FINAL
    assert all(e.json()["id"] == job_id for e in got if e.name in ("status", "end"))
    progress = [e for e in got if e.name == "progress"]
    for a, b in zip(progress, progress[1:]):
        assert b.at - a.at >= 0.4, (a, b)
        assert b.json()["frames_done"] >= a.json()["frames_done"]
    return progress


def test_events_follow_a_job_to_its_end(server, media):
    job_id = submit_edit(server, media, "long").json()["id"]
    r = stream(server, job_id)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/event-stream"
    assert r.headers["Cache-Control"] == "no-cache"
    got = list(events(r))
    progress = check_stream(got, job_id)
    assert got[-1].json()["status"] == "succeeded"
    assert "running" in [e.json()["status"] for e in got if e.name == "status"]
    assert progress, got
    last = progress[-1].json()
    assert set(last) == {"frames_done", "frames_total", "fps", "eta"}
    assert last["frames_total"] == got[-1].json()["frames_total"]
    assert 0 < last["frames_done"] <= last["frames_total"]
    assert last["fps"] > 0 and last["eta"] >= 0


def test_a_finished_job_gives_status_and_end_at_once(server, media):
    job = wait_job(server, submit_edit(server, media, "short").json()["id"])
    start = time.monotonic()
    got = list(events(stream(server, job["id"])))
    assert time.monotonic() - start < 2
    assert [(e.name, e.id) for e in got] == [("status", "1"), ("end", "2")]
    assert got[0].json() == got[1].json() == job


def test_reconnect_with_last_event_id_starts_again(server, media):
    job = wait_job(server, submit_edit(server, media, "short").json()["id"])
    got = list(events(stream(server, job["id"], headers={"Last-Event-ID": "7"})))
    assert [e.name for e in got] == ["status", "end"]


def test_cancel_ends_the_stream(server, media):
    job_id = submit_edit(server, media, "long").json()["id"]
    r = stream(server, job_id)
    got = []
    for e in events(r):
        got.append(e)
        if e.name == "status" and e.json()["status"] == "running":
            assert server.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    check_stream(got, job_id)
    assert got[-1].json()["status"] == "canceled"


def test_a_stream_outlives_the_connection_timeout(tmp_path_factory, media):
    """With --timeout 1 a waiting stream (its job queued behind another) is
    not cut: suspended connections have no idle timeout."""
    srv = make_server(tmp_path_factory, "events-timeout",
                      args=["--timeout", "1", "--workers", "1"]).start()
    try:
        first = submit_edit(srv, media, "long").json()["id"]
        second = submit_edit(srv, media, "short").json()["id"]
        got = list(events(stream(srv, second)))
        check_stream(got, second)
        assert got[-1].json()["status"] == "succeeded"
        assert got[-1].at - got[0].at > 1.5, "the stream should have waited for the first job"
        wait_job(srv, first)
    finally:
        assert srv.stop() == 0


def test_unknown_job_and_other_keys_job_are_404(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "events-auth", env={"MASKATTN_API_KEYS": "ka,kb"}).start()
    try:
        a = {"Authorization": "Bearer ka"}
        b = {"Authorization": "Bearer kb"}
        job_id = submit_edit(srv, media, "short", headers=a).json()["id"]
        assert_problem(stream(srv, job_id, headers=b), 404)
        assert_problem(stream(srv, "0" * 32, headers=a), 404)
        assert_problem(stream(srv, job_id), 401)
        got = list(events(stream(srv, job_id, headers=a)))
        assert got[-1].name == "end"
    finally:
        assert srv.stop() == 0


def test_shutdown_closes_open_streams(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "events-stop", args=["--workers", "1"]).start()
    first = submit_edit(srv, media, "long").json()["id"]
    second = submit_edit(srv, media, "long").json()["id"]
    r = stream(srv, second)
    it = events(r)
    assert next(it).json()["status"] == "queued"
    srv.proc.send_signal(15)
    rest = list(it)
    assert all(e.name != "end" for e in rest), rest
    assert srv.proc.wait(120) == 0
    srv.log.close()
    assert first


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
def test_other_methods_are_405(server, media, method):
    job = wait_job(server, submit_edit(server, media, "short").json()["id"])
    r = server.session.request(method, server.url(f"/v1/jobs/{job['id']}/events"), timeout=30)
    assert_problem(r, 405)
    assert r.headers["Allow"] == "GET, HEAD"
