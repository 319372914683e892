"""The full lifecycle of a job over HTTP: submit, poll, download, check the
file with ffprobe, for both modes, on a generated clip and on the real
fixture clip; and the job document's fields as the pinned contract names them."""
import re
import time
from pathlib import Path

import pytest

from conftest import (FINAL, ffmpeg, make_server, probe, propagate_spec, stabilize_spec,
                      submit, submit_edit, wait_job)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def check_output(srv, job, tmp_path, frames, duration):
    r = srv.get(job["output_url"])
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "video/mp4"
    assert int(r.headers["Content-Length"]) == len(r.content)
    out = tmp_path / f"{job['id']}.mp4"
    out.write_bytes(r.content)
    info = probe(out)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and audio, info["streams"]
    assert int(video[0]["nb_read_frames"]) == frames
    assert float(info["format"]["duration"]) == pytest.approx(duration, abs=0.1)


def check_job_document(job, spec_mode):
    assert re.fullmatch(r"[0-9a-f]{32}", job["id"])
    assert job["status"] == "succeeded"
    assert job["progress"] == 1
    assert job["frames_done"] == job["frames_total"] > 0
    for key in ("created_at", "started_at", "finished_at"):
        assert RFC3339.match(job[key]), job[key]
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert job["spec"]["mode"] == spec_mode
    assert job["spec"]["temperature"] == 0.7          # defaults filled in
    assert job["metrics"]["fps"] > 0
    assert job["metrics"]["attention_entropy_mean"] is not None
    assert job["error"] is None
    assert job["output_url"] == f"/v1/jobs/{job['id']}/output"


@pytest.mark.parametrize("mode", ["stabilize", "propagate"])
def test_lifecycle_generated_clip(server, media, tmp_path, mode):
    if mode == "stabilize":
        r, frames, duration = submit(server, stabilize_spec(), clip=media["short"]), 12, 0.5
    else:
        r, frames, duration = submit_edit(server, media, "clip"), 36, 1.5
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running")
    assert job["finished_at"] is None and job["output_url"] is None
    job = wait_job(server, job["id"])
    check_job_document(job, mode)
    check_output(server, job, tmp_path, frames=frames, duration=duration)


def test_progress_is_seen_while_running(server, media):
    r = submit_edit(server, media, "long")
    assert r.status_code == 202
    seen = set()
    job = r.json()
    while job["status"] not in FINAL:
        time.sleep(0.02)
        job = server.get(f"/v1/jobs/{job['id']}").json()
        assert 0 <= job["progress"] <= 1
        if job["status"] == "running" and 0 < job["frames_done"] < job["frames_total"]:
            seen.add(job["frames_done"])
    assert job["status"] == "succeeded"
    assert seen, "no progress seen between the first and the last frame"


def thread_nice_values(pid):
    """The nice value of each thread of process pid (field 19 of its stat)."""
    values = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):   # the thread ended meanwhile
            continue
        values.add(int(stat.rsplit(")", 1)[1].split()[16]))
    return values


def test_priorities_while_a_job_runs(server, media):
    """The API's threads keep nice 0; a running job's reader and encoder run at 14,
    its attention at 19, below the stages that feed and drain it."""
    job = submit_edit(server, media, "long").json()
    seen = set()
    while job["status"] not in FINAL and not {0, 14, 19} <= seen:
        if job["status"] == "running" and job["frames_done"] > 0:
            seen |= thread_nice_values(server.proc.pid)
        time.sleep(0.02)
        job = server.get(f"/v1/jobs/{job['id']}").json()
    server.post(f"/v1/jobs/{job['id']}/cancel")
    wait_job(server, job["id"])
    assert {0, 14, 19} <= seen, f"thread nice values seen while running: {sorted(seen)}"
    assert seen <= {0, 14, 19}, sorted(seen)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stabilize", "propagate"])
def test_lifecycle_fixture_clip(server, fixture_clip, tmp_path, mode):
    clip = tmp_path / "car.mp4"
    ffmpeg("-i", str(fixture_clip), "-t", "0.4", "-c:v", "libx264", "-preset", "veryfast",
           "-c:a", "copy", str(clip))
    info = probe(clip)
    frames = int(next(s for s in info["streams"] if s["codec_type"] == "video")["nb_read_frames"])
    duration = float(info["format"]["duration"])
    if mode == "stabilize":
        r = submit(server, stabilize_spec(), clip=clip)
    else:
        mask = tmp_path / "mask.png"
        edit = tmp_path / "edit.png"
        ffmpeg("-i", str(fixture_clip.parent / "mask_square.png"), str(mask))
        ffmpeg("-i", str(clip), "-vf", "hue=h=90", "-frames:v", "1", str(edit))
        r = submit(server, propagate_spec(), clip=clip, mask0=mask, edit0=edit)
    assert r.status_code == 202, r.text
    job = wait_job(server, r.json()["id"], timeout=280)
    check_job_document(job, mode)
    check_output(server, job, tmp_path, frames=frames, duration=duration)


def test_list_newest_first_and_paginated(server, media):
    ids = [submit_edit(server, media, "clip").json()["id"] for _ in range(3)]
    pages, cursor = [], None
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = server.get("/v1/jobs", params=params)
        assert r.status_code == 200
        body = r.json()
        assert len(body["jobs"]) <= 2
        pages.append([j["id"] for j in body["jobs"]])
        cursor = body["next_cursor"]
        if not cursor:
            break
    listed = [i for page in pages for i in page]
    assert len(listed) == len(set(listed))
    assert listed[:3] == ids[::-1]
    created = [server.get(f"/v1/jobs/{i}").json()["created_at"] for i in listed]
    assert created == sorted(created, reverse=True)
    for i in ids:
        wait_job(server, i)


def test_cancel_running_and_queued(server, media):
    running = submit_edit(server, media, "long").json()
    queued = submit_edit(server, media, "long").json()
    wait_job(server, running["id"], until=("running",))
    r = server.post(f"/v1/jobs/{queued['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    r = server.post(f"/v1/jobs/{running['id']}/cancel")
    assert r.status_code == 200
    job = wait_job(server, running["id"], timeout=2)
    assert job["status"] == "canceled"
    assert job["finished_at"] is not None
    assert server.get(f"/v1/jobs/{running['id']}/output").status_code == 409


def test_delete_removes_files(server, media):
    job = submit_edit(server, media, "clip").json()
    job = wait_job(server, job["id"])
    job_dir = server.data / "jobs" / job["id"]
    assert (job_dir / "output.mp4").exists()
    r = server.delete(f"/v1/jobs/{job['id']}")
    assert r.status_code == 204 and r.content == b""
    assert not job_dir.exists()
    assert server.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert server.delete(f"/v1/jobs/{job['id']}").status_code == 404


def test_delete_running_job(server, media):
    job = submit_edit(server, media, "long").json()
    wait_job(server, job["id"], until=("running",))
    assert server.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert not (server.data / "jobs" / job["id"]).exists()


def test_idempotency_key(server, media):
    key = {"Idempotency-Key": "lifecycle-1"}
    first = submit_edit(server, media, "clip", headers=key)
    assert first.status_code == 202
    again = submit_edit(server, media, "clip", headers=key)
    assert again.status_code in (200, 202)
    assert again.json()["id"] == first.json()["id"]
    other = submit_edit(server, media, "clip", headers=key, seed=7)
    assert other.status_code == 422
    assert other.headers["Content-Type"].startswith("application/problem+json")
    wait_job(server, first.json()["id"])


def test_health_ready_metrics(server):
    assert server.get("/healthz").status_code == 200
    assert server.get("/readyz").status_code == 200
    r = server.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    for name in ("maskattn_http_requests_total", "maskattn_http_request_duration_seconds_bucket",
                 "maskattn_jobs{status=\"succeeded\"}", "maskattn_queue_depth",
                 "maskattn_worker_utilization", "maskattn_frames_processed_total",
                 "maskattn_job_duration_seconds_bucket"):
        assert name in text, name
    frames = re.search(r"^maskattn_frames_processed_total (\d+)$", text, re.M)
    assert int(frames.group(1)) > 0


def test_logs_are_json_lines(server):
    server.get("/healthz")
    lines = server.log_lines()
    requests_ = [l for l in lines if l["msg"] == "request"]
    assert requests_, "no request lines"
    for key in ("method", "route", "status", "duration_ms", "bytes_out"):
        assert key in requests_[-1]
    assert any(l["msg"] == "job" and l["status"] == "succeeded" for l in lines)


def test_finished_jobs_expire(tmp_path_factory, media):
    srv = make_server(tmp_path_factory, "retention", args=["--retention", "1"]).start()
    job = wait_job(srv, submit_edit(srv, media).json()["id"])
    assert job["status"] == "succeeded"
    deadline = time.monotonic() + 10
    while srv.get(f"/v1/jobs/{job['id']}").status_code == 200:
        assert time.monotonic() < deadline, "the job was not removed after its retention time"
        time.sleep(0.1)
    assert srv.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert not (srv.data / "jobs" / job["id"]).exists()
    assert srv.stop() == 0
