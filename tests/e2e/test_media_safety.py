"""Hostile media: inputs that would make FFmpeg read other files or reach the
network are refused, and media that decode to huge sizes are refused from
their headers, before they are decoded, in the CLI and through the API."""
import os
import socket
import struct
import subprocess
import threading
import zlib

import pytest

from cli_media import BIN, error_line, run_edit, write_spec
from conftest import (assert_problem, ffmpeg, make_server, propagate_spec, submit,
                      wait_job)


class Listener:
    """A TCP port on loopback that records whether anyone connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


def hostile_inputs(port):
    """name -> (file contents, the container FFmpeg would take it for)."""
    url = f"http://127.0.0.1:{port}"
    return {
        "hls-file.mp4": ("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
                         "file:///etc/passwd\n#EXT-X-ENDLIST\n", "hls"),
        "hls-url.mp4": ("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
                        f"{url}/segment.ts\n#EXT-X-ENDLIST\n", "hls"),
        "concat-file.mp4": ("ffconcat version 1.0\nfile '/etc/passwd'\n", "concat"),
        "concat-url.mp4": (f"ffconcat version 1.0\nfile '{url}/clip.mp4'\n", "concat"),
    }


def write_inputs(directory, port):
    out = {}
    for name, (text, container) in hostile_inputs(port).items():
        (directory / name).write_text(text)
        out[name] = container
    return out


def test_cli_refuses_playlists_and_lists(tmp_path, listener):
    for name, container in write_inputs(tmp_path, listener.port).items():
        spec = write_spec(tmp_path, {"mode": "stabilize", "video": name, "steps": 1})
        line = error_line(run_edit("--spec", spec, "--out", tmp_path / "out.mp4"))
        assert f"its container ({container}) is not accepted" in line, line
        assert "root:" not in line
    assert listener.connections == 0
    assert not (tmp_path / "out.mp4").exists()


def test_cli_refuses_image_patterns_and_urls(tmp_path, listener):
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5", "-frames:v", "3",
           str(tmp_path / "img%03d.png"))
    for video in ("img%03d.png", f"http://127.0.0.1:{listener.port}/clip.mp4",
                  "img001.png"):
        spec = write_spec(tmp_path, {"mode": "stabilize", "video": video, "steps": 1})
        r = run_edit("--spec", spec, "--out", tmp_path / "out.mp4")
        line = error_line(r)
        assert "not accepted" in line or "not found" in line or "not a video" in line, line
    assert listener.connections == 0


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory, "limits", args=[
        "--max-width", "1024", "--max-height", "1024", "--max-pixels", "409600",
        "--max-frames", "100", "--max-duration", "5", "--max-decoded", "4M"]).start()
    yield s
    assert s.stop() == 0


def test_api_refuses_playlists_and_lists(srv, tmp_path, listener, media):
    for name, container in write_inputs(tmp_path, listener.port).items():
        r = submit(srv, propagate_spec(), clip=tmp_path / name, mask0=media["mask"],
                   edit0=media["edit"])
        body = assert_problem(r, 415)
        assert f"its container ({container}) is not accepted" in r.text, body
    assert listener.connections == 0


def clip(path, size, seconds, rate=24):
    ffmpeg("-f", "lavfi", "-i", f"color=gray:size={size}:rate={rate}:duration={seconds}",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.mark.parametrize("size,seconds,rate,says", [
    ("1280x64", 0.2, 24, "1280x64 is over the limit of 1024x1024"),
    ("800x600", 0.2, 24, "800x600 is over the limit of 409600 pixels"),
    ("64x48", 6, 10, "6 seconds is over the limit of 5"),
    ("64x48", 3, 50, "150 frames is over the limit of 100"),
    ("640x480", 0.5, 24, "decode to more than the limit of 4194304 bytes"),
])
def test_api_refuses_media_over_the_limits(srv, tmp_path, media, size, seconds, rate, says):
    path = clip(tmp_path / "big.mp4", size, seconds, rate)
    r = submit(srv, propagate_spec(), clip=path, mask0=media["mask"], edit0=media["edit"])
    assert_problem(r, 413)
    assert says in r.text, r.text


def png_bomb(path, width, height):
    """A gray PNG of zeros: a few hundred KB that decode to width x height bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    z = zlib.compressobj(9)
    row = bytes(width + 1)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" +
                     chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
                     chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_api_png_bomb_is_refused_before_decoding(srv, tmp_path, media):
    bomb = png_bomb(tmp_path / "bomb.png", 1000, 100000)
    assert os.path.getsize(bomb) < 200_000
    before = peak_rss_kb(srv.proc.pid)
    r = submit(srv, propagate_spec(), clip=media["clip"], mask0=bomb, edit0=media["edit"])
    assert r.status_code == 202, r.text
    job = wait_job(srv, r.json()["id"])
    assert job["status"] == "failed", job
    assert job["error"]["status"] == 413, job
    assert "1000x100000 pixels is over the limit of" in job["error"]["detail"], job
    # 100 MB of pixels were never allocated
    assert peak_rss_kb(srv.proc.pid) - before < 50_000
    r = submit(srv, propagate_spec(), clip=media["clip"], mask0=media["mask"],
               edit0=media["edit"])
    assert wait_job(srv, r.json()["id"])["status"] == "succeeded"


def test_cli_bombs_are_refused_from_their_headers(tmp_path):
    """A 9000x9000 H.264 clip (a 150 KB file, 121 MB a frame decoded) and a
    16384x16384 PNG (256 MB decoded) are refused at the default limits, and
    the process never holds their pixels."""
    ffmpeg("-f", "lavfi", "-i", "color=black:size=9000x9000:rate=1", "-frames:v", "2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           str(tmp_path / "bomb.mp4"))
    png_bomb(tmp_path / "mask.png", 16384, 16384)
    small = clip(tmp_path / "small.mp4", "64x48", 0.2)
    cases = [({"mode": "stabilize", "video": "bomb.mp4", "steps": 1},
              "bomb.mp4: 9000x9000 is over the limit of 8192x8192"),
             ({"mode": "stabilize", "video": small.name, "steps": 1,
               "masks": [{"frame": 0, "image": "mask.png"}]},
              "16384x16384 pixels is over the limit of 8192x8192")]
    for spec, says in cases:
        path = write_spec(tmp_path, spec)
        p = subprocess.Popen([BIN, "edit", "--spec", str(path), "--out",
                              str(tmp_path / "out.mp4")], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        assert os.waitstatus_to_exitcode(status) in (1, 2), err
        assert says in err, err
        assert usage.ru_maxrss < 120_000, f"peak {usage.ru_maxrss} KB"
        print(f"{spec['video']}: refused, peak RSS {usage.ru_maxrss} KB")
