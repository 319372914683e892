#!/usr/bin/python3
"""Benchmarks of `maskattn serve` (not a test; run by hand, figures go in notes).

1. Memory: the server's peak resident memory (VmHWM) while a 1 GiB
   multipart body streams into POST /v1/jobs. Target: under 100 MB.
2. Throughput: wrk against GET /v1/jobs/{id} on loopback while a job runs.
   Target: >= 10,000 requests/s and p99 < 20 ms on 2 cores.

Usage: /usr/bin/python3 tests/bench/server_bench.py [--bin build/maskattn]
       [--seconds 10] [--connections 64]
"""
import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GIB = 1 << 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, data, log, *args):
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--data", str(data), *args],
                            stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def vm_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def upload_body(total):
    """A multipart body: a spec and one part of `total` zero bytes, in 1 MiB pieces."""
    spec = json.dumps({"mode": "stabilize", "video": "clip"}).encode()
    yield (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n" + spec +
           b"\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"clip\"; filename=\"c\"\r\n"
           b"Content-Type: application/octet-stream\r\n\r\n")
    chunk = b"\0" * (1 << 20)
    for _ in range(total // len(chunk)):
        yield chunk
    yield b"\r\n--BOUNDARY--\r\n"


def bench_memory(binary, work):
    data = work / "mem-data"
    with open(work / "mem.log", "wb") as log:
        proc, base = start_server(binary, data, log, "--max-upload", "2G", "--log-level", "warn")
        before = vm_kb(proc.pid, "VmRSS")
        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], vm_kb(proc.pid, "VmRSS"))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.monotonic()
        r = requests.post(base + "/v1/jobs", data=upload_body(GIB),
                          headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"})
        seconds = time.monotonic() - start
        stop.set()
        sampler.join()
        hwm = vm_kb(proc.pid, "VmHWM")
        left = sorted(p.name for p in (data / "tmp").iterdir())
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    print(f"memory: uploaded 1 GiB in {seconds:.1f} s ({GIB / seconds / 1e6:.0f} MB/s), "
          f"answer {r.status_code} ({r.json().get('title')})")
    print(f"memory: RSS before {before / 1024:.1f} MiB, peak sampled {peak[0] / 1024:.1f} MiB, "
          f"VmHWM {hwm / 1024:.1f} MiB (target < 100 MB); staging left behind: {left or 'none'}")
    return hwm * 1024 < 100e6


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_inputs(work):
    """The clip (the fixture when present), a mask and an edited keyframe."""
    clip = ROOT.parent / "shared" / "fixtures" / "running_car.mp4"
    if not clip.exists():
        clip = work / "bench.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=960x540:rate=25:duration=12", "-f", "lavfi",
               "-i", "sine=frequency=440:duration=12", "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", str(clip))
    mask, edit = work / "mask.png", work / "edit.png"
    ffmpeg("-f", "lavfi", "-i", "color=black:size=320x180,drawbox=x=80:y=45:w=160:h=90:"
           "color=white:t=fill", "-frames:v", "1", str(mask))
    ffmpeg("-i", str(clip), "-vf", "hue=h=120", "-frames:v", "1", str(edit))
    return clip, mask, edit


def bench_wrk(binary, work, seconds, connections):
    clip, mask, edit = make_inputs(work)
    with open(work / "wrk-server.log", "wb") as log:
        proc, base = start_server(binary, work / "wrk-data", log)
        spec = json.dumps({"mode": "propagate", "video": "clip",
                           "masks": [{"frame": 0, "image": "mask0"}],
                           "keyframes": [{"frame": 0, "image": "edit0"}]})
        r = requests.post(base + "/v1/jobs", files=[
            ("spec", (None, spec)), ("clip", ("c.mp4", clip.read_bytes())),
            ("mask0", ("m.png", mask.read_bytes())), ("edit0", ("e.png", edit.read_bytes()))])
        job_id = r.json()["id"]
        url = f"{base}/v1/jobs/{job_id}"
        while requests.get(url).json()["frames_done"] == 0:
            time.sleep(0.05)
        before = requests.get(url).json()
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        job = requests.get(url).json()
        proc.send_signal(signal.SIGTERM)
        proc.wait(600)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
    print(f"wrk: {' '.join(cmd[:-1])} /v1/jobs/{{id}}")
    print(out.rstrip())
    print(f"wrk: the job was {before['status']} at frame {before['frames_done']} before the run, "
          f"{job['status']} at {job['frames_done']}/{job['frames_total']} after it")
    print(f"wrk: {rps:.0f} requests/s, p99 {p99_ms:.2f} ms (target >= 10000 and < 20 ms)")
    return rps >= 10000 and p99_ms < 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "build" / "maskattn"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ok = bench_memory(args.bin, work)
        ok = bench_wrk(args.bin, work, args.seconds, args.connections) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
