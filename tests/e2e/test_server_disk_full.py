"""A full disk: the server's data directory is a small tmpfs of its own (a
mount namespace made with unshare, so no privilege is needed). Uploads that
do not fit answer 507, a job whose output does not fit fails with a 507
problem, what was stored before stays intact, the server keeps serving, and
once jobs are deleted it takes work again."""
import hashlib
import shutil

import pytest

from conftest import assert_problem, ffmpeg, make_server, propagate_spec, submit, wait_job

TMPFS_BYTES = 6 * 1024 * 1024


def in_tmpfs(data_dir):
    """A command prefix that runs the server with data_dir on a fresh tmpfs."""
    return [shutil.which("unshare"), "--user", "--map-root-user", "--mount", "sh", "-c",
            f'mkdir -p "$1" && mount -t tmpfs -o size={TMPFS_BYTES} tmpfs "$1" && '
            'shift && exec "$@"', "sh", str(data_dir)]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory, "full")
    s.wrap = in_tmpfs(s.data)
    s.start()
    yield s
    assert s.stop() == 0


def noise_clip(folder, size, seconds, *quality):
    """A clip of random luma noise at size, x264-coded with the quality options."""
    path = folder / "noise.mp4"
    ffmpeg("-f", "lavfi", "-i",
           f"nullsrc=size={size}:rate=24:duration={seconds},geq=random(1)*255:128:128",
           "-c:v", "libx264", *quality, "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory):
    """About 1 MB of noise that x264 cannot shrink: a few of these fill the disk."""
    return noise_clip(tmp_path_factory.mktemp("big"), "160x96", 1, "-qp", "0")


@pytest.fixture(scope="module")
def grain_clip(tmp_path_factory):
    """180 KB of coarse noise whose lossless edit takes about 2 MB."""
    return noise_clip(tmp_path_factory.mktemp("grain"), "240x144", 3, "-crf", "40")


def output_digest(srv, job_id):
    r = srv.get(f"/v1/jobs/{job_id}/output")
    assert r.status_code == 200, r.text
    return hashlib.sha256(r.content).hexdigest()


def lossless(**extra):
    return propagate_spec(output={"pix_fmt": "yuv444p", "crf": 0}, **extra)


def test_disk_full(srv, media, big_clip, grain_clip):
    done = {}
    # fill the disk with finished jobs until an upload no longer fits
    for _ in range(20):
        r = submit(srv, propagate_spec(), clip=big_clip, mask0=media["mask"], edit0=media["edit"])
        if r.status_code == 507:
            body = assert_problem(r, 507)
            assert "space" in body["title"] + body.get("detail", ""), body
            break
        assert r.status_code == 202, r.text
        job = wait_job(srv, r.json()["id"])
        if job["status"] == "failed":
            assert job["error"]["status"] == 507, job
            continue
        assert job["status"] == "succeeded", job
        done[job["id"]] = output_digest(srv, job["id"])
    else:
        pytest.fail("the disk never filled")
    assert done, "no job fitted at all"
    assert srv.get("/healthz").status_code == 200

    # a small upload fits (once a job is deleted if need be), its lossless output does not
    failed = None
    for _ in range(6):
        r = submit(srv, lossless(), clip=grain_clip, mask0=media["mask"], edit0=media["edit"])
        if r.status_code == 507:
            oldest = next(iter(done))
            assert srv.delete(f"/v1/jobs/{oldest}").status_code == 204
            del done[oldest]
            continue
        assert r.status_code == 202, r.text
        job = wait_job(srv, r.json()["id"])
        if job["status"] == "failed":
            failed = job
            break
    assert failed is not None, "no job ran out of space while writing its output"
    assert failed["error"]["status"] == 507, failed
    assert failed["error"]["type"].endswith("insufficient-storage"), failed
    assert "No space left on device" in failed["error"]["detail"], failed
    assert_problem(srv.get(f"/v1/jobs/{failed['id']}/output"), 409)

    # nothing stored before was harmed
    for job_id, digest in done.items():
        job = srv.get(f"/v1/jobs/{job_id}").json()
        assert job["status"] == "succeeded", job
        assert output_digest(srv, job_id) == digest

    # space returns: the server takes work again
    for job_id in list(done)[:-1]:
        assert srv.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert srv.delete(f"/v1/jobs/{failed['id']}").status_code == 204
    r = submit(srv, propagate_spec(), clip=big_clip, mask0=media["mask"], edit0=media["edit"])
    assert r.status_code == 202, r.text
    assert wait_job(srv, r.json()["id"])["status"] == "succeeded"
    last = list(done)[-1]
    assert output_digest(srv, last) == done[last]
