"""deploy/haproxy.cfg: haproxy accepts it, and run for real on loopback (its backend line
pointed at local processes instead of Docker's DNS, everything else as written) it
routes only to ready replicas and carries a whole job: multipart upload, status polls,
download with Range, and its server-sent events as they happen."""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import DEPLOY, REPO, free_port

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from sse import events  # noqa: E402  (the e2e tests' SSE reader)

CFG = DEPLOY / "haproxy.cfg"
BIN = Path(os.environ.get("MASKATTN_BIN", REPO / "build" / "maskattn"))

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy not installed (make test-deploy installs it)")


def test_config_is_valid():
    run = subprocess.run(["haproxy", "-c", "-f", str(CFG)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def loopback_config(text, api_port, stats_port, servers):
    """The config with its listeners on loopback ports and one `server` line per
    (name, port) in place of the DNS server-template; each change must apply once."""
    out, done = [], {"api": 0, "stats": 0, "servers": 0}
    for line in text.splitlines():
        s = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if s == "bind :8080":
            line, done["api"] = f"{indent}bind 127.0.0.1:{api_port}", done["api"] + 1
        elif s == "bind :8404":
            line, done["stats"] = f"{indent}bind 127.0.0.1:{stats_port}", done["stats"] + 1
        elif s.startswith("server-template "):
            done["servers"] += 1
            out += [f"{indent}server {name} 127.0.0.1:{port}" for name, port in servers]
            continue
        out.append(line)
    assert done == {"api": 1, "stats": 1, "servers": 1}, done
    return "\n".join(out) + "\n"


class Draining(http.server.BaseHTTPRequestHandler):
    """A replica that is alive but not ready (what a draining maskattn answers)."""
    hits = 0

    def do_GET(self):
        if self.path == "/readyz":
            code = 503
        else:
            type(self).hits += 1
            code = 500
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=24:duration=1",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(d / "clip.mp4"))
    ffmpeg("-f", "lavfi", "-i", "color=black:size=160x96,drawbox=x=40:y=24:w=80:h=48:color=white:t=fill",
           "-frames:v", "1", str(d / "mask.png"))
    ffmpeg("-i", str(d / "clip.mp4"), "-vf", "hue=h=120", "-frames:v", "1", str(d / "edit0.png"))
    # long enough to run for seconds on any machine, so that its events spread over time
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x192:rate=24:duration=3",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / "long.mp4"))
    return d


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def get_ok(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def server_states(stats_url):
    """{server name: status} of the maskattn backend, from haproxy's CSV statistics."""
    rows = requests.get(stats_url + ";csv", timeout=2).text.lstrip("# ").splitlines()
    head = rows[0].split(",")
    out = {}
    for row in rows[1:]:
        cols = dict(zip(head, row.split(",")))
        if cols.get("pxname") == "maskattn" and cols.get("svname") not in ("BACKEND", None):
            out[cols["svname"]] = cols["status"]
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A real maskattn replica, a draining stub, a closed port, and haproxy in front."""
    if not BIN.is_file():
        pytest.fail(f"no {BIN}: run `make` (or set MASKATTN_BIN)")
    d = tmp_path_factory.mktemp("haproxy")
    procs, logs = [], []
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Draining)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        app_port = free_port()
        log = open(d / "maskattn.log", "wb")
        logs.append(log)
        procs.append(subprocess.Popen([str(BIN), "serve", "--port", str(app_port),
                                       "--data", str(d / "data"), "--grace", "5"],
                                      stdout=log, stderr=log))
        wait_for(lambda: get_ok(f"http://127.0.0.1:{app_port}/readyz"), 30, "maskattn /readyz")

        api_port, stats_port = free_port(), free_port()
        servers = [("ready", app_port), ("draining", stub.server_address[1]), ("gone", free_port())]
        cfg = d / "haproxy.cfg"
        cfg.write_text(loopback_config(CFG.read_text(), api_port, stats_port, servers))
        hlog = open(d / "haproxy.log", "wb")
        logs.append(hlog)
        procs.append(subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=hlog, stderr=hlog))
        base = f"http://127.0.0.1:{api_port}"
        stats = f"http://127.0.0.1:{stats_port}/stats"
        wait_for(lambda: get_ok(stats), 15, "haproxy statistics")
        yield {"base": base, "stats": stats, "api_port": api_port, "dir": d}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()
        stub.shutdown()
        stub.server_close()


def test_only_ready_replicas_stay_in_rotation(stack):
    want = {"ready": "UP", "draining": "DOWN", "gone": "DOWN"}
    states = wait_for(lambda: (lambda s: s if s == want else None)(server_states(stack["stats"])),
                      20, f"backend states {want}")
    print(f"backend: {states}")
    assert requests.get(stack["base"] + "/lb-healthz", timeout=5).status_code == 200


def test_compose_health_check_of_the_balancer(stack):
    (compose,) = yaml.safe_load_all((DEPLOY / "compose.yaml").read_text())
    test = compose["services"]["lb"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    cmd = [re.sub(r"/dev/tcp/127\.0\.0\.1/8080\b", f"/dev/tcp/127.0.0.1/{stack['api_port']}", a)
           for a in test[1:]]
    assert cmd != test[1:]
    assert subprocess.run(cmd, timeout=10).returncode == 0


def test_a_job_through_the_balancer(stack, media):
    test_only_ready_replicas_stay_in_rotation(stack)
    base = stack["base"]
    spec = {"mode": "propagate", "video": "clip",
            "masks": [{"frame": 0, "image": "mask0", "weight": 0.85}],
            "keyframes": [{"frame": 0, "image": "edit0"}], "steps": 1}
    files = [("spec", (None, json.dumps(spec), "application/json")),
             ("clip", ("clip.mp4", (media / "clip.mp4").read_bytes(), "video/mp4")),
             ("mask0", ("mask.png", (media / "mask.png").read_bytes(), "image/png")),
             ("edit0", ("edit0.png", (media / "edit0.png").read_bytes(), "image/png"))]
    r = requests.post(base + "/v1/jobs", files=files, timeout=60)
    assert r.status_code == 202, r.text
    location = r.headers["Location"]
    deadline = time.monotonic() + 240
    while True:
        job = requests.get(base + location, timeout=10).json()
        if job["status"] in ("succeeded", "failed", "canceled") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    out = requests.get(base + location + "/output", timeout=60)
    assert out.status_code == 200 and out.headers["Content-Type"] == "video/mp4"
    part = requests.get(base + location + "/output", headers={"Range": "bytes=0-99"}, timeout=60)
    assert part.status_code == 206 and part.content == out.content[:100]
    (stack["dir"] / "out.mp4").write_bytes(out.content)
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json",
         str(stack["dir"] / "out.mp4")], check=True, capture_output=True, text=True).stdout)
    video = [s for s in probe["streams"] if s["codec_type"] == "video"][0]
    assert (video["codec_name"], video["width"], video["height"], video["nb_read_frames"]) == \
        ("h264", 160, 96, "24")
    # Nothing reached the replica that was not ready.
    assert Draining.hits == 0
    # haproxy logged the requests it carried (httplog on stdout).
    log = (stack["dir"] / "haproxy.log").read_text(errors="replace")
    assert re.search(r"maskattn/ready \S+ 202 ", log) and "POST /v1/jobs" in log


def test_events_stream_through_the_balancer(stack, media):
    """A job's server-sent events pass haproxy as they happen: the first one
    well before the job ends, progress in between, the stream closed after end."""
    test_only_ready_replicas_stay_in_rotation(stack)
    base = stack["base"]
    spec = {"mode": "stabilize", "video": "clip", "steps": 2}
    files = [("spec", (None, json.dumps(spec), "application/json")),
             ("clip", ("clip.mp4", (media / "long.mp4").read_bytes(), "video/mp4"))]
    r = requests.post(base + "/v1/jobs", files=files, timeout=60)
    assert r.status_code == 202, r.text
    stream = requests.get(base + r.headers["Location"] + "/events", stream=True, timeout=60)
    assert stream.status_code == 200
    assert stream.headers["Content-Type"] == "text/event-stream"
    got = list(events(stream))
    assert got[0].name == "status" and got[-1].name == "end", got
    assert got[-1].json()["status"] == "succeeded"
    assert "progress" in [e.name for e in got]
    assert got[-1].at - got[0].at > 0.3, "the events came in one burst, not as they happened"
    assert [int(e.id) for e in got] == list(range(1, len(got) + 1))
