#!/usr/bin/python3
"""Soak: the real `maskattn serve` on loopback under mixed traffic for a
while, its memory and open descriptors watched.

A few client threads, each with its own jobs, loop over weighted operations:
uploads of small jobs (a 64x48 clip of 6 frames, propagate, one step; at
most one a second per client, at most MAX_LIVE jobs each), polls, listings
with pagination, downloads and HEADs of the output with ranges, cancels,
deletes (then a GET that must be 404), 404s on unknown jobs and routes,
and the operations endpoints. Every answer must have the status designed
for it; a 429 (the queue is kept short, so they happen) must carry
Retry-After.

The server's RSS (VmRSS) and open descriptors (/proc/PID/fd) are sampled
every second. The run fails on:
- any unexpected status, exception, or error line in the server's log;
- a run that did not do its work: no 202, 204, 206 or 404 answer, or no
  job that succeeded;
- RSS growth: the median of the last fifth of the run (after the warm-up)
  above the median of the first fifth by more than RSS_TOLERANCE (5 %, at
  least 4 MiB: the early plateau already holds the allocator's arenas, so a
  leak shows as a steady climb, not noise);
- descriptor growth: with the server idle (no job left to run, clients'
  connections closed) after the run, more than FD_TOLERANCE (0) descriptors
  above the same count taken after the warm-up.

Usage: /usr/bin/python3 tests/soak/soak.py [--seconds 900] [--clients 4]
       [--bin build/maskattn] [--keep DIR]
Prints a one-screen summary; exit status 0 when it passed, 1 when not.
"""
import argparse
import collections
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from cluster import FINAL, Process, free_port, job_parts, make_media  # noqa: E402

BIN = os.environ.get("MASKATTN_BIN", str(ROOT / "build" / "maskattn"))
CLIP = (64, 48, 6)                  # width, height, frames
MAX_LIVE = 4                        # jobs a client holds at once
SUBMIT_EVERY = 1.0                  # seconds between one client's uploads
QUEUE = 1                           # the server's --queue: 429s happen
RSS_TOLERANCE = (0.05, 4 << 20)     # growth allowed: the larger of a fraction and bytes
FD_TOLERANCE = 0
MIB = 1 << 20
REQUIRED = {200, 202, 204, 206, 404}   # statuses a working run always sees
PAUSE = 0.01                        # seconds a client waits between two operations
OPS = {"submit": 8, "poll": 30, "list": 10, "download": 15, "head": 5, "cancel": 2,
       "delete": 8, "missing": 10, "operations": 6}


class Tally:
    """Answers by operation and status, and what was unexpected; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_status = collections.Counter()
        self.by_op = collections.Counter()
        self.errors = []
        self.error_count = 0

    def add(self, op, status, error=None):
        with self.lock:
            self.by_status[status] += 1
            self.by_op[op] += 1
            if error:
                self.error_count += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{op}: {error}")

    @property
    def total(self):
        return sum(self.by_status.values())


class Client:
    """One client thread's state: its session and jobs (id -> last status)."""

    def __init__(self, soak, index):
        self.soak = soak
        self.rng = random.Random(index)
        self.jobs = {}
        self.sizes = {}
        self.next_submit = 0.0
        self.session = None

    def request(self, op, method, path, expect, **kw):
        """The answer when its status is in expect (a 429 with Retry-After), else None."""
        try:
            r = self.session.request(method, self.soak.base + path, timeout=60, **kw)
        except requests.RequestException as e:
            self.soak.tally.add(op, "exception", f"{method} {path}: {e!r}")
            return None
        error = None
        if r.status_code not in expect:
            error = f"{method} {path}: {r.status_code} {r.text[:200]!r}"
        elif r.status_code == 429 and not r.headers.get("Retry-After", "").isdigit():
            error = f"{method} {path}: 429 without Retry-After"
        self.soak.tally.add(op, r.status_code, error)
        return None if error else r

    def pick(self, want=lambda status: True):
        ids = [i for i, s in self.jobs.items() if want(s)]
        return self.rng.choice(ids) if ids else None

    def submit(self):
        """Uploads a job; when it holds too many, deletes one; too early, polls."""
        now = time.monotonic()
        if len(self.jobs) >= MAX_LIVE:
            self.delete()
        elif now < self.next_submit:
            self.poll()
        else:
            r = self.request("submit", "POST", "/v1/jobs", {202, 429}, files=self.soak.parts)
            self.next_submit = now + SUBMIT_EVERY
            if r is not None and r.status_code == 202:
                self.jobs[r.json()["id"]] = r.json()["status"]
            elif r is not None:
                self.next_submit = now + min(int(r.headers["Retry-After"]), 2)

    def poll(self):
        job_id = self.pick()
        if job_id:
            r = self.request("poll", "GET", f"/v1/jobs/{job_id}", {200})
            if r is not None:
                self.jobs[job_id] = r.json()["status"]

    def list(self):
        r = self.request("list", "GET", "/v1/jobs", {200}, params={"limit": 5})
        if r is not None and r.json()["next_cursor"]:
            self.request("list", "GET", "/v1/jobs", {200},
                         params={"limit": 5, "cursor": r.json()["next_cursor"]})

    def ranges(self, job_id):
        size = self.sizes.get(job_id)
        if not size:
            return "bytes=0-1023"
        start = self.rng.randrange(size)
        return self.rng.choice([f"bytes={start}-", f"bytes={start}-{self.rng.randrange(start, size)}",
                                f"bytes=-{self.rng.randrange(1, size + 1)}"])

    def output(self, op, method):
        job_id = self.pick()
        if not job_id:
            return
        done = self.jobs[job_id] == "succeeded"
        expect = {200, 206} if done else {200, 206, 409}
        r = self.request(op, method, f"/v1/jobs/{job_id}/output", expect,
                         headers={"Range": self.ranges(job_id)})
        if r is None or r.status_code == 409:
            return
        self.jobs[job_id] = "succeeded"
        if r.status_code == 206:
            m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", r.headers["Content-Range"])
            self.sizes[job_id] = int(m.group(3))
            if method == "GET" and len(r.content) != int(m.group(2)) - int(m.group(1)) + 1:
                self.soak.tally.add(op, "short", f"{job_id}: {len(r.content)} bytes for "
                                    f"{r.headers['Content-Range']}")

    def download(self):
        self.output("download", "GET")

    def head(self):
        self.output("head", "HEAD")

    def cancel(self):
        job_id = self.pick(lambda s: s not in FINAL)
        if job_id:
            r = self.request("cancel", "POST", f"/v1/jobs/{job_id}/cancel", {200})
            if r is not None:
                self.jobs[job_id] = r.json()["status"]

    def delete(self):
        """Deletes a finished job (then checks it is gone), or polls one."""
        job_id = self.pick(lambda s: s in FINAL)
        if not job_id:
            self.poll()
        elif self.request("delete", "DELETE", f"/v1/jobs/{job_id}", {204}) is not None:
            del self.jobs[job_id]
            self.sizes.pop(job_id, None)
            self.request("gone", "GET", f"/v1/jobs/{job_id}", {404})

    def missing(self):
        job_id = "%032x" % self.rng.getrandbits(128)
        path = self.rng.choice([f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/output",
                                f"/v1/jobs/{job_id[:20]}", "/v2/jobs"])
        self.request("missing", "GET", path, {404})

    def operations(self):
        self.request("operations", "GET", self.rng.choice(["/healthz", "/readyz", "/metrics"]), {200})

    def run(self, deadline):
        names, weights = list(OPS), list(OPS.values())
        self.session = requests.Session()
        try:
            while time.monotonic() < deadline:
                getattr(self, self.rng.choices(names, weights)[0])()
                time.sleep(PAUSE)
        finally:
            self.session.close()


class Soak:
    def __init__(self, seconds, clients, binary, workdir):
        self.seconds = seconds
        self.warmup = min(60.0, max(10.0, seconds / 10))
        self.workdir = Path(workdir)
        self.tally = Tally()
        self.samples = []           # (seconds since start, RSS bytes, descriptors)
        self.clients = [Client(self, i) for i in range(clients)]
        media = make_media(self.workdir, [CLIP[:2]], [CLIP[2]])
        self.parts = job_parts(media, *CLIP, "propagate")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.server = Process("server", [binary, "serve", "--port", str(port), "--data",
                                         str(self.workdir / "data"), "--queue", str(QUEUE)],
                              self.workdir / "server.log")

    def rss_fds(self):
        status = Path(f"/proc/{self.server.proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
        return rss, len(os.listdir(f"/proc/{self.server.proc.pid}/fd"))

    def traffic(self, seconds, sample):
        """Runs every client for seconds; samples the server each second when sample."""
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=c.run, args=(deadline,)) for c in self.clients]
        for t in threads:
            t.start()
        while sample and time.monotonic() < deadline:
            self.samples.append((time.monotonic() - self.started, *self.rss_fds()))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        for t in threads:
            t.join()

    def idle(self):
        """Waits for every job to end and the clients' connections to close; RSS, fds."""
        with requests.Session() as s:
            for c in self.clients:
                for job_id, status in list(c.jobs.items()):
                    deadline = time.monotonic() + 120
                    while status not in FINAL and time.monotonic() < deadline:
                        time.sleep(0.2)
                        status = s.get(f"{self.base}/v1/jobs/{job_id}", timeout=30).json()["status"]
                    c.jobs[job_id] = status
        samples = []
        while len(samples) < 3 or samples[-1][1] != samples[-3][1]:
            time.sleep(0.5)
            samples.append(self.rss_fds())
        return samples[-1]

    def run(self):
        self.server.start()
        try:
            self.server.wait_ready(self.base + "/readyz", 30)
            self.started = time.monotonic()
            self.traffic(self.warmup, sample=False)
            self.start_rss, self.start_fds = self.idle()
            self.traffic(self.seconds - self.warmup, sample=True)
            self.traffic_seconds = time.monotonic() - self.started
            self.end_rss, self.end_fds = self.idle()
        finally:
            self.exit_code = self.server.stop()
        return self.verdict()

    def verdict(self):
        failures = []
        if self.tally.error_count:
            failures.append(f"{self.tally.error_count} unexpected answers, first: "
                            + "; ".join(self.tally.errors[:5]))
        log = [json.loads(ln) for ln in self.server.log_text().splitlines() if ln.startswith("{")]
        self.jobs = collections.Counter(ln["status"] for ln in log if ln["msg"] == "job")
        errors = [ln for ln in log if ln["level"] == "error"]
        if errors:
            failures.append(f"{len(errors)} error lines in the server log, first: {errors[0]}")
        missing = REQUIRED - set(self.tally.by_status)
        if missing or not self.jobs["succeeded"]:
            failures.append(f"the traffic was not what it should be: no {sorted(missing)} "
                            f"answers, {self.jobs['succeeded']} jobs succeeded")
        if self.exit_code != 0:
            failures.append(f"the server exited {self.exit_code} on SIGTERM")
        fifth = max(1, len(self.samples) // 5)
        self.early = statistics.median(s[1] for s in self.samples[:fifth])
        self.late = statistics.median(s[1] for s in self.samples[-fifth:])
        self.allowed = max(self.early * RSS_TOLERANCE[0], RSS_TOLERANCE[1])
        if self.late - self.early > self.allowed:
            failures.append(f"RSS grew from {self.early / MIB:.1f} to {self.late / MIB:.1f} MiB")
        if self.end_fds - self.start_fds > FD_TOLERANCE:
            failures.append(f"open descriptors grew from {self.start_fds} to {self.end_fds}")
        self.failures = failures
        return not failures

    def summary(self):
        t = self.tally
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(t.by_status.items(), key=str))
        by_op = ", ".join(f"{k} {v}" for k, v in t.by_op.most_common())
        rss = [s[1] for s in self.samples]
        fds = [s[2] for s in self.samples]
        lines = [
            f"soak: {self.traffic_seconds:.0f} s of traffic ({self.warmup:.0f} s warm-up), "
            f"{len(self.clients)} clients, {self.server.cmd[0]} --queue {QUEUE}",
            f"requests: {t.total} ({t.total / self.traffic_seconds:.1f}/s), unexpected: {t.error_count}",
            f"  by status: {by_status}",
            f"  by operation: {by_op}",
            f"jobs: {self.jobs['queued']} accepted, {self.jobs['succeeded']} succeeded, "
            f"{self.jobs['canceled']} canceled, {self.jobs['failed']} failed",
            f"RSS: start {self.start_rss / MIB:.1f} MiB, end {self.end_rss / MIB:.1f} MiB, "
            f"max {max(rss) / MIB:.1f} MiB over {len(rss)} samples",
            f"  plateaus: early {self.early / MIB:.1f} MiB, late {self.late / MIB:.1f} MiB "
            f"({(self.late - self.early) / MIB:+.1f} MiB; allowed +{self.allowed / MIB:.1f} MiB)",
            f"fds: start {self.start_fds}, end {self.end_fds} (idle; allowed +{FD_TOLERANCE}), "
            f"{min(fds)}..{max(fds)} under load",
            "result: " + ("PASS" if not self.failures else "FAIL"),
        ]
        lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


def run(seconds, clients=4, binary=BIN, workdir=None):
    """Runs a soak; the Soak, with .failures empty when it passed."""
    with tempfile.TemporaryDirectory(prefix="maskattn-soak-") as tmp:
        soak = Soak(seconds, clients, binary, workdir or tmp)
        soak.run()
        print(soak.summary(), flush=True)
        return soak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--keep", help="a directory for the data and the server's log, kept")
    args = ap.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    soak = run(args.seconds, args.clients, args.bin, args.keep)
    return 0 if not soak.failures else 1


if __name__ == "__main__":
    sys.exit(main())
