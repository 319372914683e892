"""Throughput against replicas: the same batch of jobs through haproxy to
1, 2 and 3 replicas on one Redis and one data directory, each replica with
one worker of one attention thread, so that a replica keeps one core busy.
Prints jobs per minute for each count and the speed-up over one replica:
throughput should grow with replicas up to the machine's cores, and hold
beyond them (nothing serialises the replicas: no global lock, one shared
queue).

    MASKATTN_BIN=build/maskattn /usr/bin/python3 tests/cluster/scale_bench.py
"""
import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from cluster import FINAL, Cluster, job_parts, make_media

SIZE, FRAMES = (240, 144), 48


def run(media, replicas, jobs, threads):
    """Seconds from the first submission to the last job succeeded."""
    c = Cluster(replicas, replica_args=["--workers", "1", "--threads", str(threads)]).start()
    try:
        start = time.monotonic()
        ids = []
        for i in range(jobs):
            r = c.post("/v1/jobs", files=job_parts(media, *SIZE, FRAMES, "propagate", seed=i))
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        while True:
            jobs = c.get("/v1/jobs?limit=100").json()["jobs"]
            done = [j["status"] for j in jobs if j["id"] in ids and j["status"] in FINAL]
            if len(done) == len(ids):
                assert done == ["succeeded"] * len(ids), done
                return time.monotonic() - start
            time.sleep(0.05)
    finally:
        c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=16, help="jobs per run [16]")
    parser.add_argument("--replicas", default="1,2,3", help="replica counts [1,2,3]")
    parser.add_argument("--threads", type=int, default=1, help="attention threads per replica [1]")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="maskattn-bench-"))
    try:
        media = make_media(root, [SIZE], [FRAMES])
        print(f"{os.cpu_count()} CPUs; {args.jobs} propagate jobs of {SIZE[0]}x{SIZE[1]}, "
              f"{FRAMES} frames; 1 worker x {args.threads} thread(s) per replica")
        first = None
        for n in (int(x) for x in args.replicas.split(",")):
            seconds = run(media, n, args.jobs, args.threads)
            rate = args.jobs * 60 / seconds
            first = first or rate
            print(f"{n} replica(s): {rate:6.1f} jobs/min ({seconds:5.1f} s, x{rate / first:.2f})",
                  flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
