"""Server-sent events in the scale-out: a replica that does not run the job
follows it through Redis (status, progress, end, in order), and haproxy
carries the stream of a finished job."""
import sys
from pathlib import Path

from cluster import job_parts, wait_until
from conftest import LONG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from sse import events  # noqa: E402  (the e2e tests' SSE reader)

RANK = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2, "canceled": 2}


def test_events_from_another_replica(media, cluster_of):
    c = cluster_of(2, "--workers", "1")
    w, h, n = LONG
    r = c.post("/v1/jobs", files=job_parts(media, w, h, n, "propagate"))
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    wait_until(lambda: c.redis.record(job_id).get("runner"), 60, "the job did not start")
    runner = c.redis.record(job_id)["runner"]
    other = next(rep for rep in c.replicas if rep.node != runner)
    stream = c.session.get(f"{other.base}/v1/jobs/{job_id}/events", stream=True, timeout=120)
    assert stream.status_code == 200 and stream.headers["X-Served-By"] == other.node
    got = list(events(stream))
    assert [int(e.id) for e in got] == list(range(1, len(got) + 1))
    assert got[-1].name == "end" and got[-1].json()["status"] == "succeeded", got
    statuses = [e.json()["status"] for e in got if e.name == "status"]
    assert statuses == sorted(statuses, key=RANK.get) and "running" in statuses, statuses
    progress = [e.json() for e in got if e.name == "progress"]
    assert progress and progress[-1]["frames_total"] == n
    assert [p["frames_done"] for p in progress] == sorted(p["frames_done"] for p in progress)

    through = list(events(c.session.get(f"{c.base}/v1/jobs/{job_id}/events", stream=True,
                                        timeout=60)))
    assert [e.name for e in through] == ["status", "end"]
    assert through[-1].json()["status"] == "succeeded"
