"""Faults: a replica killed with SIGKILL while it runs a job (the job is
taken over by another replica after --reclaim-after and finishes there, once),
and Redis restarted while jobs wait (its append-only file keeps every
accepted job; the replicas answer 503 meanwhile and reconnect by themselves)."""
import collections
import time

import requests

from cluster import count_frames, job_parts, wait_until
from conftest import LONG

RECLAIM_AFTER = "3"


def runner_of(c, job_id, timeout=120):
    """The replica that logged starting job_id."""
    found = []

    def started():
        found[:] = [r for r in c.replicas if job_id in r.job_events("running")]
        return bool(found)
    wait_until(started, timeout, f"no replica started {job_id}")
    return found[0]


def successes(c):
    return collections.Counter(i for r in c.replicas for i in r.job_events("succeeded"))


def test_kill9_running_replica(media, cluster_of, tmp_path):
    c = cluster_of(3, "--workers", "1", "--reclaim-after", RECLAIM_AFTER)
    w, h, n = LONG
    r = c.post("/v1/jobs", files=job_parts(media, w, h, n, "propagate"))
    assert r.status_code == 202, r.text
    long_id = r.json()["id"]
    others = [c.post("/v1/jobs", files=job_parts(media, 96, 64, 12, mode, seed=i)).json()["id"]
              for i, mode in enumerate(["stabilize", "propagate"] * 3)]
    victim = runner_of(c, long_id)
    c.wait_job(long_id, until=("running",))
    wait_until(lambda: c.get(f"/v1/jobs/{long_id}").json()["frames_done"] > 0, 120,
               "the long job made no progress")
    victim.kill9()
    record = c.redis.record(long_id)
    assert record["status"] == "running" and record["runner"] == victim.node, record

    for job_id in [long_id, *others]:
        assert c.wait_job(job_id, timeout=240)["status"] == "succeeded"
    record = c.redis.record(long_id)
    assert record["runs"] == "2" and record["runner"] != victim.node, record
    assert record["done_by"].startswith(record["runner"] + "/"), record
    finisher = [r for r in c.replicas if long_id in r.job_events("succeeded")]
    assert len(finisher) == 1 and finisher[0] is not victim
    assert any(line.get("msg") == "job reclaimed" and long_id in line.get("detail", "")
               for line in finisher[0].log_lines())
    assert successes(c) == collections.Counter([long_id, *others])
    out = tmp_path / "long.mp4"
    out.write_bytes(c.get(f"/v1/jobs/{long_id}/output").content)
    assert count_frames(out) == n


def test_redis_restart_loses_no_job(media, cluster_of):
    c = cluster_of(2, "--workers", "1")
    ids = [c.post("/v1/jobs", files=job_parts(media, 128, 80, 18, mode, seed=i)).json()["id"]
           for i, mode in enumerate(["propagate", "stabilize"] * 4)]
    assert c.redis.cli("SCARD", "maskattn:status:queued") != "0", "no job waits"
    c.redis.stop()
    replica = c.replicas[0]
    wait_until(lambda: requests.get(replica.base + "/readyz", timeout=5).status_code == 503, 10,
               "readyz did not say 503 without Redis")
    r = requests.get(f"{replica.base}/v1/jobs/{ids[0]}", timeout=10)
    assert r.status_code == 503 and r.json()["type"].endswith("store-unavailable"), r.text
    time.sleep(1)
    c.redis.start()
    wait_until(lambda: requests.get(replica.base + "/readyz", timeout=5).status_code == 200, 20,
               "readyz did not recover with Redis back")
    for job_id in ids:
        assert c.wait_job(job_id, timeout=240)["status"] == "succeeded"
    assert successes(c) == collections.Counter(ids)
    assert any(line.get("msg") == "redis reachable" for line in replica.log_lines())
