"""What `maskattn edit` prints when it succeeds: a progress line (frames
done/total, fps, ETA) only when stderr is a terminal, nothing with --quiet
(or MASKATTN_QUIET), and nothing at all when stderr is not a terminal (logs
and pipelines get errors only)."""
import os
import pty
import select
import subprocess
import time

import pytest

from cli_media import BIN, edit, frame_png, make_box_png, make_clip, write_spec

FRAMES = 12


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    d = tmp_path_factory.mktemp("terminal")
    make_clip(d / "clip.mp4", size="256x144", frames=FRAMES, audio="aac")
    make_box_png(d / "mask.png", "256x144", (30, 30, 100, 60))
    frame_png(d / "clip.mp4", d / "edit0.png", vf="hue=h=120")
    return write_spec(d, {"mode": "propagate", "video": "clip.mp4",
                          "masks": [{"frame": 0, "image": "mask.png"}],
                          "keyframes": [{"frame": 0, "image": "edit0.png"}],
                          "steps": 1, "window": 2})


def run_on_terminal(args, env=None, timeout=300):
    """Runs maskattn with stderr (and stdout) on a pseudo-terminal; returns
    (exit code, everything the terminal received)."""
    master, slave = pty.openpty()
    full_env = dict(os.environ)
    full_env.pop("MASKATTN_QUIET", None)
    full_env.update(env or {})
    p = subprocess.Popen([BIN, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, env=full_env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:         # EIO: every copy of the slave is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        code = p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return code, out.decode(errors="replace")


def test_progress_on_a_terminal(job, tmp_path):
    out = tmp_path / "result.mp4"
    code, text = run_on_terminal(["edit", "--spec", job, "--out", out])
    assert code == 0, text
    assert out.is_file()
    assert f"{FRAMES}/{FRAMES} frames" in text, text
    assert "fps" in text and "ETA" in text, text
    assert "maskattn: " not in text, text


@pytest.mark.parametrize("how", ["--quiet", "MASKATTN_QUIET=1"])
def test_quiet_on_a_terminal(job, tmp_path, how):
    out = tmp_path / "result.mp4"
    args = ["edit", "--spec", job, "--out", out]
    env = None
    if how.startswith("--"):
        args.append(how)
    else:
        env = dict([how.split("=")])
    code, text = run_on_terminal(args, env=env)
    assert code == 0, text
    assert out.is_file()
    assert text == "", repr(text)


def test_nothing_when_not_a_terminal(job, tmp_path):
    """stderr a pipe (as under cron, CI or a pipeline): silent success."""
    edit(job, tmp_path / "result.mp4")


def test_nothing_when_only_stdout_is_a_terminal(job, tmp_path):
    """The progress goes to stderr and follows stderr's terminal, not stdout's."""
    master, slave = pty.openpty()
    try:
        r = subprocess.run([BIN, "edit", "--spec", str(job), "--out", str(tmp_path / "r.mp4")],
                           stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                           timeout=300)
        os.set_blocking(master, False)
        try:
            shown = os.read(master, 65536)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"" and shown == b"", (r.stderr, shown)


def test_error_on_a_terminal_is_one_line(job, tmp_path):
    """On a terminal too, a failure is one line (after any progress)."""
    spec = write_spec(tmp_path, {"mode": "propagate", "video": "missing.mp4",
                                 "keyframes": [{"frame": 0, "image": "edit0.png"}]})
    code, text = run_on_terminal(["edit", "--spec", spec, "--out", tmp_path / "r.mp4"])
    assert code == 1, text
    lines = [l for l in text.replace("\r", "\n").split("\n") if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("maskattn: ") and "missing.mp4" in lines[0], \
        repr(text)
