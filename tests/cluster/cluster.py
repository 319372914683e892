"""A cluster on loopback for the scale-out tests and the scaling benchmark:
redis-server (append-only file on), replicas of `maskattn serve` sharing one
data directory and that Redis, and haproxy in front of them with health
checks on /readyz. Every process runs on a free loopback port inside one
temporary directory, and `Cluster.close` stops them all and removes it.

The binary comes from MASKATTN_BIN (the Makefile sets it).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

BIN = os.environ.get("MASKATTN_BIN", str(Path(__file__).resolve().parents[2] / "build" / "maskattn"))
FINAL = ("succeeded", "failed", "canceled")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} after {timeout} s")


class Process:
    """A child process logging to a file in the cluster's directory."""

    def __init__(self, name, cmd, log, env=None):
        self.name = name
        self.cmd = cmd
        self.log_path = log
        self.env = env
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=self.log, env=self.env,
                                     stdin=subprocess.DEVNULL)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def log_text(self):
        return Path(self.log_path).read_text(errors="replace")

    def wait_ready(self, url, timeout):
        """Waits until url answers 200, the process still running."""
        def ready():
            assert self.alive(), self.log_text()[-2000:]
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        wait_until(ready, timeout, f"{self.name} did not answer {url}")


class Redis(Process):
    def __init__(self, root):
        self.port = free_port()
        self.dir = root / "redis"
        self.dir.mkdir()
        conf = self.dir / "redis.conf"
        conf.write_text("\n".join([
            "bind 127.0.0.1", f"port {self.port}", f"dir {self.dir}", "daemonize no",
            "appendonly yes", "appendfsync always", 'save ""', "loglevel warning",
            "protected-mode yes", ""]))
        super().__init__("redis", ["redis-server", str(conf)], root / "redis.log")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        super().start()
        wait_until(lambda: self.cli("PING") == "PONG", 20, "redis-server did not answer")
        return self

    def cli(self, *args):
        """One command through redis-cli; its answer as text ("" when it fails)."""
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--no-auth-warning", *args],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""

    def record(self, job_id):
        """A job's record (its hash) as a dict."""
        lines = self.cli("HGETALL", f"maskattn:job:{job_id}").splitlines()
        return dict(zip(lines[0::2], lines[1::2]))


class Replica(Process):
    def __init__(self, root, index, data, redis_url, args=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # No per-address limit: behind haproxy every connection comes from its address.
        cmd = [BIN, "serve", "--port", str(self.port), "--data", str(data),
               "--redis-url", redis_url, "--max-connections-per-ip", "0", *args]
        super().__init__(f"replica{index}", cmd, root / f"replica{index}.log")

    def start(self):
        super().start()
        self.wait_ready(self.base + "/readyz", 30)
        self.node = requests.get(self.base + "/healthz", timeout=5).headers["X-Served-By"]
        return self

    def log_lines(self):
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def job_events(self, status):
        """The ids of the jobs this replica logged entering status."""
        return [line["job"] for line in self.log_lines()
                if line.get("msg") == "job" and line.get("status") == status]


class HAProxy(Process):
    def __init__(self, root, replicas):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cfg = root / "haproxy.cfg"
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} check inter 300ms fall 2 rise 1"
                            for r in replicas)
        cfg.write_text(f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 2
    option redispatch

frontend api
    bind 127.0.0.1:{self.port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
{servers}
""")
        super().__init__("haproxy", ["haproxy", "-db", "-f", str(cfg)], root / "haproxy.log")

    def start(self):
        super().start()
        self.wait_ready(self.base + "/readyz", 20)
        return self


class Cluster:
    """Redis, n replicas on one data directory, and haproxy in front."""

    def __init__(self, n, replica_args=(), haproxy=True):
        self.root = Path(tempfile.mkdtemp(prefix="maskattn-cluster-"))
        self.data = self.root / "data"
        self.redis = Redis(self.root)
        self.replicas = [Replica(self.root, i, self.data, self.redis.url, replica_args)
                         for i in range(n)]
        self.haproxy = HAProxy(self.root, self.replicas) if haproxy else None
        self.session = requests.Session()

    def start(self):
        try:
            self.redis.start()
            for r in self.replicas:
                r.start()
            if self.haproxy:
                self.haproxy.start()
        except BaseException:
            self.close()
            raise
        return self

    @property
    def base(self):
        return self.haproxy.base

    def get(self, path, **kw):
        return self.session.get(self.base + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path, **kw):
        return self.session.post(self.base + path, timeout=kw.pop("timeout", 120), **kw)

    def wait_job(self, job_id, until=FINAL, timeout=240, seen=None):
        """Polls a job until its status is in until; seen collects X-Served-By."""
        job = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.get(f"/v1/jobs/{job_id}")
            if r.status_code == 200:
                job = r.json()
                if seen is not None:
                    seen.add(r.headers.get("X-Served-By"))
                if job["status"] in until:
                    return job
            else:
                assert r.status_code in (502, 503), r.text
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout} s")

    def close(self):
        for p in [self.haproxy, *self.replicas, self.redis]:
            if p is not None:
                p.stop(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_media(root, sizes, frame_counts):
    """A clip of each size and frame count (24 fps, lavfi test pattern, with
    audio), and a mask and an edited keyframe for each size."""
    media = {}
    for w, h in sizes:
        for frames in frame_counts:
            clip = root / f"clip_{w}x{h}_{frames}.mp4"
            ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=24",
                   "-f", "lavfi", "-i", "sine=frequency=440",
                   "-frames:v", str(frames), "-t", f"{frames / 24:.3f}",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip))
            media[(w, h, frames)] = clip
        mask = root / f"mask_{w}x{h}.png"
        ffmpeg("-f", "lavfi", "-i",
               f"color=black:size={w}x{h},drawbox=x={w // 4}:y={h // 4}:w={w // 2}:h={h // 2}:color=white:t=fill",
               "-frames:v", "1", str(mask))
        edit = root / f"edit_{w}x{h}.png"
        ffmpeg("-i", str(media[(w, h, frame_counts[0])]), "-vf", "hue=h=120", "-frames:v", "1", str(edit))
        media[(w, h, "mask")] = mask
        media[(w, h, "edit")] = edit
    return media


def job_parts(media, w, h, frames, mode, seed=42):
    """The multipart parts of a job on one of the clips."""
    spec = {"mode": mode, "video": "clip", "steps": 1, "seed": seed}
    files = {"clip": media[(w, h, frames)]}
    if mode == "propagate":
        spec["masks"] = [{"frame": 0, "image": "mask0", "weight": 0.85}]
        spec["keyframes"] = [{"frame": 0, "image": "edit0"}]
        files["mask0"] = media[(w, h, "mask")]
        files["edit0"] = media[(w, h, "edit")]
    out = [("spec", (None, json.dumps(spec), "application/json"))]
    out += [(name, (name + ".bin", Path(path).read_bytes(), "application/octet-stream"))
            for name, path in files.items()]
    return out


def count_frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(json.loads(out)["streams"][0]["nb_read_frames"])
