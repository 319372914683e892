"""Interrupting `maskattn edit` (issue 3: cancellation): SIGINT (Ctrl-C)
during a run stops it within a few seconds with exit code 130 and one line,
and leaves no output file (nor any other file) behind. SIGTERM stops it the
same way."""
import signal
import subprocess
import time

import pytest

from cli_media import BIN, frame_png, make_box_png, make_clip, write_spec

FRAMES = 500          # ~15 s of work with the release build, far more under ASan


@pytest.fixture(scope="module")
def long_job(tmp_path_factory):
    d = tmp_path_factory.mktemp("signal")
    make_clip(d / "clip.mp4", size="256x144", frames=FRAMES, audio="aac",
              vcodec=("-c:v", "libx264", "-preset", "ultrafast"))
    make_box_png(d / "mask.png", "256x144", (30, 30, 100, 60))
    frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120")
    return write_spec(d, {"mode": "propagate", "video": "clip.mp4",
                          "masks": [{"frame": 0, "image": "mask.png"}],
                          "keyframes": [{"frame": 0, "image": "edit0.png"}]})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt(long_job, tmp_path, sig):
    out = tmp_path / "result.mp4"
    part = tmp_path / "result.mp4.part"     # written there until it is whole
    p = subprocess.Popen([BIN, "edit", "--spec", str(long_job), "--out", str(out)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # running for real: the output file is open once the clip is read
        deadline = time.monotonic() + 60
        while not part.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        assert p.poll() is None, f"finished before the signal: {p.returncode}"
        p.send_signal(sig)
        sent = time.monotonic()
        stdout, stderr = p.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, f"exit {p.returncode}: {stderr}"
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("maskattn: ") and "interrupt" in lines[0], \
        stderr
    assert took < 5, f"took {took:.1f} s to stop after {sig.name}"
    assert not out.exists(), "the partial output was left behind"
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
