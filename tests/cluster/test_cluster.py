"""Scale-out: redis-server, three replicas sharing one data directory, and
haproxy in front. Thirty jobs of both modes go through haproxy, their status
is polled through it (answered by every replica), all succeed once, and their
outputs, downloaded through haproxy, have the frames of their clips. The
replicas then drain on SIGTERM and exit 0."""
import collections
import re

from cluster import count_frames, job_parts
from conftest import FRAME_COUNTS, SIZES

JOBS = 30


def test_thirty_jobs_through_haproxy(media, cluster_of, tmp_path):
    c = cluster_of(3, "--workers", "1")
    frames, answered_by = {}, collections.Counter()
    for i in range(JOBS):
        w, h = SIZES[i % len(SIZES)]
        n = FRAME_COUNTS[i // len(SIZES) % len(FRAME_COUNTS)]
        mode = ("propagate", "stabilize")[i % 2]
        r = c.post("/v1/jobs", files=job_parts(media, w, h, n, mode, seed=i))
        assert r.status_code == 202, r.text
        assert r.headers["Location"] == f"/v1/jobs/{r.json()['id']}"
        answered_by[r.headers["X-Served-By"]] += 1
        frames[r.json()["id"]] = n
    polled_by = set()
    for job_id in frames:
        job = c.wait_job(job_id, seen=polled_by, timeout=240)
        assert job["status"] == "succeeded", job
        assert job["frames_done"] == frames[job_id]
    assert len(answered_by) == 3 and len(polled_by) == 3, (answered_by, polled_by)

    for job_id, n in frames.items():
        r = c.get(f"/v1/jobs/{job_id}/output")
        assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4"
        out = tmp_path / f"{job_id}.mp4"
        out.write_bytes(r.content)
        assert count_frames(out) == n

    ran = {r.name: r.job_events("running") for r in c.replicas}
    assert all(ran.values()), f"a replica took no job: {ran}"
    succeeded = collections.Counter(i for r in c.replicas for i in r.job_events("succeeded"))
    assert succeeded == collections.Counter(list(frames)), "each job succeeds exactly once"

    listed = c.get("/v1/jobs?limit=100").json()
    assert sorted(j["id"] for j in listed["jobs"]) == sorted(frames)
    assert listed["next_cursor"] is None
    metrics = c.get("/metrics").text
    assert re.search(r'^maskattn_jobs\{status="succeeded"\} 30$', metrics, re.M), metrics
    assert re.search(r"^maskattn_queue_depth 0$", metrics, re.M)

    c.haproxy.stop()
    for r in c.replicas:
        assert r.stop() == 0, r.log_text()[-3000:]
        assert "Sanitizer" not in r.log_text() and "runtime error" not in r.log_text()
