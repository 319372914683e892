"""Durability: a crash (kill -9) loses no accepted job, and SIGTERM drains:
readyz 503, no new jobs, running ones finish (or go back to the queue after
the grace period), queued ones stay on disk, exit code 0."""
import json
import time

import pytest

from conftest import LONG_FRAMES, assert_problem, make_server, probe, submit_edit, wait_job


def state(srv, job_id):
    return json.loads((srv.data / "jobs" / job_id / "state.json").read_text())


def wait_frames(srv, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = srv.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["frames_done"] > 0:
            return job
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.05)
    raise AssertionError("the job did not start")


@pytest.mark.slow
def test_kill9_with_one_running_and_two_queued(tmp_path_factory, media, tmp_path):
    srv = make_server(tmp_path_factory, "crash", args=["--workers", "1"]).start()
    ids = [submit_edit(srv, media, "long").json()["id"] for _ in range(3)]
    wait_frames(srv, ids[0])
    assert [state(srv, i)["status"] for i in ids] == ["running", "queued", "queued"]
    srv.kill9()
    srv.start()
    for job_id in ids:
        job = wait_job(srv, job_id, timeout=280)
        assert job["status"] == "succeeded", job
        out = tmp_path / f"{job_id}.mp4"
        out.write_bytes(srv.get(job["output_url"]).content)
        video = next(s for s in probe(out)["streams"] if s["codec_type"] == "video")
        assert int(video["nb_read_frames"]) == LONG_FRAMES
    assert srv.stop() == 0


def test_sigterm_drains(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "drain", args=["--workers", "1", "--grace", "120"]).start()
    running = submit_edit(srv, media, "long").json()["id"]
    queued = submit_edit(srv, media, "clip").json()["id"]
    wait_frames(srv, running)
    srv.proc.terminate()
    deadline = time.monotonic() + 5
    while srv.get("/readyz").status_code != 503:
        assert time.monotonic() < deadline, "readyz never said 503"
        time.sleep(0.02)
    assert_problem(srv.get("/readyz"), 503)
    r = submit_edit(srv, media, "clip")
    assert_problem(r, 503)
    assert srv.proc.wait(120) == 0
    srv.log.close()
    assert state(srv, running)["status"] == "succeeded"
    assert state(srv, queued)["status"] == "queued"
    srv.start()
    assert wait_job(srv, queued)["status"] == "succeeded"
    assert srv.get(f"/v1/jobs/{running}").json()["status"] == "succeeded"
    assert srv.stop() == 0


def test_grace_period_over_requeues(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "grace", args=["--grace", "0"]).start()
    job_id = submit_edit(srv, media, "long").json()["id"]
    wait_frames(srv, job_id)
    assert srv.stop() == 0
    saved = state(srv, job_id)
    assert saved["status"] == "queued" and saved["started_us"] == 0
    assert not (srv.data / "jobs" / job_id / "output.mp4").exists()
    srv.start()
    assert wait_job(srv, job_id)["status"] == "succeeded"
    assert srv.stop() == 0
