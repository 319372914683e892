"""Shared fixtures of the end-to-end tests: the real `maskattn serve` process
on a free loopback port with a fresh data directory, and media made with
ffmpeg's lavfi sources (the tests need no file from outside the repository).

The binary comes from MASKATTN_BIN (the Makefile's e2e target sets it).
"""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

BIN = os.environ.get("MASKATTN_BIN", str(Path(__file__).resolve().parents[2] / "build" / "maskattn"))
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
FINAL = ("succeeded", "failed", "canceled")
LONG_SECONDS = 3
LONG_FRAMES = 24 * LONG_SECONDS


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running; skipped by the sanitizer pass")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process on its own port and data directory."""

    def __init__(self, data, log, env=None, args=()):
        self.data = Path(data)
        self.wrap = []  # a command prefix the server runs under (unshare ...)
        self.log_path = Path(log)
        self.env = dict(env or {})
        self.args = list(args)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.session = requests.Session()

    def start(self, timeout=20):
        env = dict(os.environ)
        env.update({k: str(v) for k, v in self.env.items()})
        cmd = self.wrap + [BIN, "serve", "--port", str(self.port), "--data", str(self.data)] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if requests.get(self.url("/healthz"), timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not answer /healthz")

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        return self.session.get(self.url(path), timeout=kw.pop("timeout", 30), **kw)

    def post(self, path, **kw):
        return self.session.post(self.url(path), timeout=kw.pop("timeout", 60), **kw)

    def delete(self, path, **kw):
        return self.session.delete(self.url(path), timeout=kw.pop("timeout", 60), **kw)

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def log_lines(self):
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def staged(self):
        """Staging directories and job directories on disk."""
        tmp = sorted(p.name for p in (self.data / "tmp").iterdir())
        jobs = sorted(p.name for p in (self.data / "jobs").iterdir())
        return tmp, jobs


def make_server(tmp_path_factory, name, env=None, args=()):
    base = tmp_path_factory.mktemp(name)
    return Server(base / "data", base / "server.log", env=env, args=args)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with default settings, a fresh data directory per module."""
    srv = make_server(tmp_path_factory, "server").start()
    yield srv
    assert srv.stop() == 0


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Clips and PNGs made with lavfi, 24 fps with an AAC sine track: `clip`
    160x96 1.5 s, `short` 160x96 0.5 s, `long` 240x144 (same aspect) for jobs
    that must be seen running; a mask and an edited keyframe for propagate."""
    d = tmp_path_factory.mktemp("media")
    clip = d / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24:duration=1.5",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip))
    short = d / "short.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24:duration=0.5",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(short))
    long_clip = d / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=240x144:rate=24:duration={LONG_SECONDS}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={LONG_SECONDS}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(long_clip))
    mask = d / "mask.png"
    ffmpeg("-f", "lavfi", "-i", "color=black:size=160x96,drawbox=x=40:y=24:w=80:h=48:color=white:t=fill",
           "-frames:v", "1", str(mask))
    edit = d / "edit0.png"
    ffmpeg("-i", str(clip), "-vf", "hue=h=120", "-frames:v", "1", str(edit))
    return {"clip": clip, "short": short, "long": long_clip, "mask": mask, "edit": edit, "dir": d}


def probe(path):
    """ffprobe's streams and format of path."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams",
                          "-show_format", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def stabilize_spec(**extra):
    spec = {"mode": "stabilize", "video": "clip", "steps": 1}
    spec.update(extra)
    return spec


def propagate_spec(**extra):
    spec = {"mode": "propagate", "video": "clip",
            "masks": [{"frame": 0, "image": "mask0", "weight": 0.85}],
            "keyframes": [{"frame": 0, "image": "edit0"}], "steps": 1}
    spec.update(extra)
    return spec


def parts(spec, **files):
    """A requests `files=` list: the spec part and each named file part."""
    out = [("spec", (None, json.dumps(spec) if not isinstance(spec, (str, bytes)) else spec,
                     "application/json"))]
    for name, path in files.items():
        data = Path(path).read_bytes() if isinstance(path, Path) else path
        out.append((name, (name + ".bin", data, "application/octet-stream")))
    return out


def submit(srv, spec, headers=None, **files):
    return srv.post("/v1/jobs", files=parts(spec, **files), headers=headers or {})


def submit_edit(srv, media, clip="clip", headers=None, **extra):
    """Submits a propagate job (the mode that runs fastest) on one of the media clips."""
    return submit(srv, propagate_spec(**extra), headers=headers, clip=media[clip],
                  mask0=media["mask"], edit0=media["edit"])


def wait_job(srv, job_id, until=FINAL, timeout=240, headers=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = srv.get(f"/v1/jobs/{job_id}", headers=headers or {})
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert "type" in body
    return body


@pytest.fixture
def fixture_clip():
    clip = FIXTURES / "running_car.mp4"
    if not clip.exists():
        pytest.skip("../shared/fixtures/running_car.mp4 is absent")
    return clip
