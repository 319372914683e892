"""Attention maps and frame previews, on a case with a known answer: a
clip of noise whose left half never changes (an exact match in the
keyframe) and whose right half is new noise in every frame (no match
anywhere). The heatmap video (GET /v1/jobs/{id}/attention) and the frame
PNGs (GET /v1/jobs/{id}/frames/{n}.png?view=...) must show low entropy
(dark) on the left and high entropy (purple-red and up) on the right, with the
output's frame count and timestamps; plus the 400/404/409 answers."""
import json
import subprocess

import numpy as np
import pytest

from conftest import assert_problem, ffmpeg, make_server, probe, submit, wait_job

W, H, FRAMES = 128, 96, 8
LEFT = (slice(12, H - 12), slice(12, W // 2 - 16))     # rows, columns: exact match
RIGHT = (slice(12, H - 12), slice(W // 2 + 16, W - 12))  # new noise


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """The clip (lossless 4:4:4, 8 fps), a white mask and the keyframe as its edit."""
    d = tmp_path_factory.mktemp("noise")
    rng = np.random.default_rng(7)
    still = rng.integers(16, 236, size=(3, H, W // 2), dtype=np.uint8)
    frames = []
    for _ in range(FRAMES):
        f = np.empty((3, H, W), dtype=np.uint8)
        f[:, :, :W // 2] = still
        f[:, :, W // 2:] = rng.integers(16, 236, size=(3, H, W // 2), dtype=np.uint8)
        frames.append(f)
    clip = d / "noise.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv444p",
                    "-s", f"{W}x{H}", "-r", "8", "-i", "-", "-c:v", "libx264", "-qp", "0",
                    "-pix_fmt", "yuv444p", str(clip)],
                   input=b"".join(f.tobytes() for f in frames), check=True)
    mask = d / "mask.png"
    ffmpeg("-f", "lavfi", "-i", f"color=white:size={W}x{H}", "-frames:v", "1", str(mask))
    edit = d / "edit.png"
    ffmpeg("-i", str(clip), "-frames:v", "1", str(edit))
    return {"clip": clip, "mask": mask, "edit": edit}


def noise_spec(**extra):
    spec = {"mode": "propagate", "video": "clip", "masks": [{"frame": 0, "image": "mask0"}],
            "keyframes": [{"frame": 0, "image": "edit0"}], "steps": 2,
            "outputs": ["video", "attention"]}
    spec.update(extra)
    return spec


def submit_noise(srv, noise, **extra):
    return submit(srv, noise_spec(**extra), clip=noise["clip"], mask0=noise["mask"],
                  edit0=noise["edit"])


@pytest.fixture(scope="module")
def done(server, noise):
    r = submit_noise(server, noise)
    assert r.status_code == 202, r.text
    assert r.json()["spec"]["outputs"] == ["video", "attention"]
    job = wait_job(server, r.json()["id"])
    assert job["status"] == "succeeded", job
    return job


def rgb_frames(data, suffix, tmp_path, size=(W, H)):
    """Every frame of a video (or one PNG) as an array frames x H x W x 3."""
    path = tmp_path / ("decode" + suffix)
    path.write_bytes(data)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, size[1], size[0], 3)


def check_known_answer(rgb):
    """Sure matches dark, no match purple-red and brighter (inferno from about 0.4 up)."""
    left, right = rgb[LEFT[0], LEFT[1]].astype(float), rgb[RIGHT[0], RIGHT[1]].astype(float)
    assert left.mean(axis=(0, 1)).max() < 60, left.mean(axis=(0, 1))
    assert right[..., 0].mean() > 110, right.mean(axis=(0, 1))
    assert right[..., 0].mean() - left[..., 0].mean() > 90


def test_heatmap_video(server, done, tmp_path):
    url = f"/v1/jobs/{done['id']}/attention"
    r = server.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "video/mp4"
    assert r.headers["Accept-Ranges"] == "bytes"
    frames = rgb_frames(r.content, ".mp4", tmp_path)
    assert len(frames) == FRAMES
    for f in frames[1:]:
        check_known_answer(f)
    check_known_answer(frames[1])
    out = server.get(done["output_url"]).content
    (tmp_path / "out.mp4").write_bytes(out)
    (tmp_path / "attention.mp4").write_bytes(r.content)
    pts = [subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "frame=pts_time", "-of", "csv=p=0", str(tmp_path / name)],
                          check=True, capture_output=True, text=True).stdout.split()
           for name in ("out.mp4", "attention.mp4")]
    assert pts[0] == pts[1] and len(pts[0]) == FRAMES
    assert probe(tmp_path / "attention.mp4")["streams"][0]["codec_name"] == "h264"


def test_heatmap_download_is_like_the_output(server, done):
    url = f"/v1/jobs/{done['id']}/attention"
    full = server.get(url)
    etag = full.headers["ETag"]
    assert server.get(url, headers={"If-None-Match": etag}).status_code == 304
    part = server.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == full.content[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(full.content)}"
    assert_problem(server.get(url, headers={"Range": f"bytes={len(full.content)}-"}), 416)


def test_frame_pngs(server, done, tmp_path):
    base = f"/v1/jobs/{done['id']}/frames"
    r = server.get(f"{base}/3.png", params={"view": "attention"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    [attention] = rgb_frames(r.content, ".png", tmp_path)
    check_known_answer(attention)
    [source] = rgb_frames(server.get(f"{base}/3.png").content, ".png", tmp_path)
    [explicit] = rgb_frames(server.get(f"{base}/3.png", params={"view": "source"}).content,
                            ".png", tmp_path)
    assert (source == explicit).all()
    [result] = rgb_frames(server.get(f"{base}/3.png", params={"view": "result"}).content,
                          ".png", tmp_path)
    output = rgb_frames(server.get(done["output_url"]).content, ".mp4", tmp_path)
    diff = [np.abs(result.astype(int) - f.astype(int)).mean() for f in output]
    assert diff[3] < 10 and diff[3] < min(diff[:3] + diff[4:]) / 3, diff
    [mask] = rgb_frames(server.get(f"{base}/3.png", params={"view": "mask"}).content,
                        ".png", tmp_path)
    assert mask.min() > 240
    assert server.get(f"{base}/{FRAMES - 1}.png", params={"view": "result"}).status_code == 200


def test_frame_errors(server, done):
    base = f"/v1/jobs/{done['id']}/frames"
    body = assert_problem(server.get(f"{base}/{FRAMES}.png"), 404)
    assert f"{FRAMES} frames" in body["detail"]
    assert_problem(server.get(f"{base}/0.png", params={"view": "depth"}), 400)
    assert_problem(server.get(f"{base}/x.png"), 404)
    assert_problem(server.get(f"/v1/jobs/{'0' * 32}/frames/0.png"), 404)
    assert server.session.head(server.url(f"{base}/0.png"), timeout=30).status_code == 200


def test_no_attention_asked_is_404(server, noise, tmp_path):
    r = submit_noise(server, noise, outputs=["video"])
    job = wait_job(server, r.json()["id"])
    body = assert_problem(server.get(f"/v1/jobs/{job['id']}/attention"), 404)
    assert "outputs" in body["detail"]
    assert_problem(server.get(f"/v1/jobs/{job['id']}/frames/0.png",
                              params={"view": "attention"}), 404)
    assert server.get(f"/v1/jobs/{job['id']}/frames/0.png", params={"view": "result"}).ok


def test_before_success(tmp_path_factory, noise, media, tmp_path):
    """Queued behind another job: source and mask answer at once, result and
    attention 409; the mask is the keyframe masks blended linearly."""
    srv = make_server(tmp_path_factory, "frames-early", args=["--workers", "1"]).start()
    try:
        first = submit(srv, {"mode": "propagate", "video": "clip",
                             "masks": [{"frame": 0, "image": "mask0"}],
                             "keyframes": [{"frame": 0, "image": "edit0"}], "steps": 1},
                       clip=media["long"], mask0=media["mask"], edit0=media["edit"]).json()["id"]
        black = tmp_path / "black.png"
        ffmpeg("-f", "lavfi", "-i", f"color=black:size={W}x{H}", "-frames:v", "1", str(black))
        spec = noise_spec(mask_mode="linear", masks=[{"frame": 0, "image": "mask0"},
                                                     {"frame": 4, "image": "mask4"}])
        job_id = submit(srv, spec, clip=noise["clip"], mask0=noise["mask"], mask4=black,
                        edit0=noise["edit"]).json()["id"]
        assert srv.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
        base = f"/v1/jobs/{job_id}/frames"
        assert srv.get(f"{base}/2.png").status_code == 200
        [mask] = rgb_frames(srv.get(f"{base}/2.png", params={"view": "mask"}).content, ".png",
                            tmp_path)
        assert abs(mask.astype(float).mean() - 127.5) < 3
        assert_problem(srv.get(f"{base}/2.png", params={"view": "result"}), 409)
        assert_problem(srv.get(f"{base}/2.png", params={"view": "attention"}), 409)
        assert_problem(srv.get(f"/v1/jobs/{job_id}/attention"), 409)
        assert_problem(srv.get(f"{base}/{FRAMES}.png", params={"view": "mask"}), 404)
        wait_job(srv, job_id)
        wait_job(srv, first)
        [mask] = rgb_frames(srv.get(f"{base}/2.png", params={"view": "mask"}).content, ".png",
                            tmp_path)
        assert abs(mask.astype(float).mean() - 127.5) < 6
    finally:
        assert srv.stop() == 0


def test_outputs_are_validated(server, noise):
    body = assert_problem(submit_noise(server, noise, outputs=["attention"]), 422)
    assert body["errors"][0]["field"] == "outputs"
    json.dumps(body)
