"""Bad input over HTTP: each gets the right 4xx problem+json (or a failed job
with a problem object when only decoding can tell), nothing of a rejected
request stays on disk, and the server keeps answering."""
import json
import socket
import time

import pytest
import requests

from conftest import (assert_problem, make_server, parts, propagate_spec,
                      stabilize_spec, submit, submit_edit, wait_job)

MAX_UPLOAD = 4 << 20


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = make_server(tmp_path_factory, "errors", args=["--max-upload", str(MAX_UPLOAD)]).start()
    yield s
    assert s.stop() == 0


@pytest.fixture
def nothing_left(srv):
    """Checks after the test that no staging or job directory was added."""
    before = srv.staged()
    yield
    deadline = time.monotonic() + 5
    while srv.staged() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.staged() == before
    assert srv.get("/healthz").status_code == 200


def fields(body):
    return {e["field"] for e in body.get("errors", [])}


def test_missing_spec(srv, media, nothing_left):
    r = srv.post("/v1/jobs", files=[("clip", ("c.mp4", media["clip"].read_bytes()))])
    assert fields(assert_problem(r, 422)) == {"spec"}


def test_missing_video_part(srv, nothing_left):
    r = srv.post("/v1/jobs", files=parts(stabilize_spec()))
    assert "video" in fields(assert_problem(r, 422))


def test_spec_not_json(srv, media, nothing_left):
    r = srv.post("/v1/jobs", files=parts('{"mode": "stabilize",', clip=media["clip"]))
    body = assert_problem(r, 422)
    assert body["errors"]


def test_wrong_types_and_unknown_fields(srv, media, nothing_left):
    spec = stabilize_spec(steps="two", temperature=-1, colour="red")
    r = submit(srv, spec, clip=media["clip"])
    assert {"steps", "temperature", "colour"} <= fields(assert_problem(r, 422))


def test_referenced_part_missing(srv, media, nothing_left):
    r = submit(srv, propagate_spec(), clip=media["clip"], edit0=media["edit"])
    assert fields(assert_problem(r, 422)) == {"masks[0].image"}


def test_part_not_in_spec(srv, media, nothing_left):
    r = submit(srv, stabilize_spec(), clip=media["clip"], extra=b"x")
    assert_problem(r, 422)


def test_non_png_mask(srv, media, nothing_left):
    r = submit(srv, propagate_spec(), clip=media["clip"], mask0=b"GIF89a not a png",
               edit0=media["edit"])
    assert fields(assert_problem(r, 415)) == {"masks[0].image"}


def test_non_video_upload(srv, nothing_left):
    r = submit(srv, stabilize_spec(), clip=b"this is text, not a video" * 100)
    assert fields(assert_problem(r, 415)) == {"video"}


def test_frame_outside_clip(srv, media, nothing_left):
    spec = propagate_spec(keyframes=[{"frame": 500, "image": "edit0"}])
    r = submit(srv, spec, clip=media["clip"], mask0=media["mask"], edit0=media["edit"])
    assert "keyframes[0].frame" in fields(assert_problem(r, 422))


def test_not_multipart(srv, nothing_left):
    r = srv.post("/v1/jobs", data=json.dumps(stabilize_spec()),
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 415)


def test_broken_multipart(srv, nothing_left):
    r = srv.post("/v1/jobs", data=b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n{}",
                 headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"})
    assert_problem(r, 400)


def test_content_length_over_limit(srv, nothing_left):
    """413 from the headers alone: the body is never sent."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=BOUNDARY\r\n"
                  b"Content-Length: %d\r\n\r\n" % (MAX_UPLOAD + 1))
        answer = s.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "application/problem+json" in answer


def test_streamed_body_over_limit(srv, nothing_left):
    """Without Content-Length (chunked), the limit is enforced as it streams."""
    def body():
        yield b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"clip\"; filename=\"a\"\r\n\r\n"
        for _ in range(MAX_UPLOAD // 65536 + 8):
            yield b"\0" * 65536
    try:
        r = srv.post("/v1/jobs", data=body(),
                     headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"})
    except requests.ConnectionError:
        return              # the server may close before the client reads the answer
    assert_problem(r, 413)


def test_client_disconnects_mid_body(srv, media, nothing_left):
    clip = media["clip"].read_bytes()
    head = (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n" +
            json.dumps(stabilize_spec()).encode() +
            b"\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"clip\"; filename=\"c\"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=BOUNDARY\r\n"
                  b"Content-Length: %d\r\n\r\n" % (len(head) + len(clip) + 100))
        s.sendall(head + clip[: len(clip) // 2])
        time.sleep(0.3)
    time.sleep(0.3)


def test_unknown_route_and_method(srv):
    assert_problem(srv.get("/v2/nothing"), 404)
    assert_problem(srv.get("/v1/jobs/not-an-id"), 404)
    assert_problem(srv.get("/v1/jobs/" + "0" * 32), 404)
    r = srv.session.put(srv.url("/v1/jobs"))
    assert_problem(r, 405)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    r = srv.post("/healthz")
    assert_problem(r, 405)


def test_bad_query(srv):
    assert_problem(srv.get("/v1/jobs", params={"limit": 0}), 400)
    assert_problem(srv.get("/v1/jobs", params={"limit": "x"}), 400)
    assert_problem(srv.get("/v1/jobs", params={"cursor": "nonsense"}), 400)


def test_output_before_success(srv, media):
    job = submit_edit(srv, media, "long").json()
    assert_problem(srv.get(f"/v1/jobs/{job['id']}/output"), 409)
    srv.post(f"/v1/jobs/{job['id']}/cancel")


def test_corrupt_png_fails_the_job(srv, media):
    """A PNG signature over garbage passes the upload check; decoding fails
    the job, which carries a problem object."""
    bad = b"\x89PNG\r\n\x1a\n" + b"\0garbage" * 64
    r = submit(srv, propagate_spec(), clip=media["clip"], mask0=bad, edit0=media["edit"])
    assert r.status_code == 202, r.text
    job = wait_job(srv, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["status"] >= 400
    assert job["error"]["title"] and job["error"]["detail"]
    assert job["output_url"] is None
