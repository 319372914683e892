"""Abuse of the HTTP front end: slow clients holding connections
(slowloris), many connections from one address, idle and trickling
connections, oversized requests, path traversal through the job routes,
and the job ids themselves. Raw sockets where a client library would tidy
the request (dot segments, encodings) or could not trickle it.

All of 127.0.0.0/8 reaches the loopback interface, so clients bind to
127.0.0.2, 127.0.0.3, ... to be distinct addresses to the server."""
import contextlib
import re
import selectors
import socket
import time
from pathlib import Path

import pytest
import requests

from conftest import assert_problem, make_server, submit_edit, wait_job

PER_IP_DEFAULT = 64          # --max-connections-per-ip's default
SLOW_SOURCES = [f"127.0.0.{i}" for i in range(2, 12)]
SLOW_PER_SOURCE = 50         # 500 slow connections, under the per-address limit
LATENCY_ROUNDS = 20
LATENCY_LIMIT = 1.0          # seconds, worst of LATENCY_ROUNDS
TIMEOUT = 2                  # --timeout of the `quick` server
ID = re.compile(r"[0-9a-f]{32}")


def client_socket(source):
    """A TCP socket bound to source. SO_REUSEADDR, because the port it gets
    stays bound in TIME_WAIT after close, and without the option that would
    keep a server started meanwhile from listening on the same port number."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    return s


def connect(port, source="127.0.0.1", timeout=10):
    s = client_socket(source)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def recv_some(s):
    """The next bytes from s; b"" when the server closed or reset it."""
    try:
        return s.recv(65536)
    except ConnectionResetError:
        return b""


def read_answer(s, head_only=False):
    """(status, headers, body) of one answer on s; status 0 when the server
    closed the connection without answering."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = recv_some(s)
        if not chunk:
            return 0, {}, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    want = 0 if head_only else int(headers.get("content-length", 0))
    while len(body) < want:
        chunk = recv_some(s)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def raw(port, method, target, headers=b"", body=b"", source="127.0.0.1"):
    """Sends one request exactly as given (target: str or bytes) and reads its answer."""
    if isinstance(target, str):
        target = target.encode()
    req = (method.encode() + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Connection: close\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with connect(port, source) as s:
        s.sendall(req)
        return read_answer(s, head_only=method == "HEAD")


def closed_within(s, seconds):
    """Seconds until the server closes s (it sends nothing), or None."""
    start = time.monotonic()
    s.settimeout(seconds)
    try:
        data = s.recv(1)
    except socket.timeout:
        return None
    except ConnectionResetError:
        data = b""
    assert data == b"", data
    return time.monotonic() - start


def socket_fds(srv):
    """Sockets the server holds open."""
    count = 0
    for fd in Path(f"/proc/{srv.proc.pid}/fd").iterdir():
        try:
            count += fd.readlink().name.startswith("socket:")
        except FileNotFoundError:
            pass
    return count


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} after {timeout} s")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """A server with a 2 s connection timeout."""
    s = make_server(tmp_path_factory, "quick", args=["--timeout", str(TIMEOUT)]).start()
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def jobs(server, media):
    """A handful of jobs, finished."""
    ids = []
    for seed in range(4):
        r = submit_edit(server, media, "short", seed=seed)
        assert r.status_code == 202, r.text
        assert r.headers["Location"] == f"/v1/jobs/{r.json()['id']}"
        ids.append(r.json()["id"])
    for job_id in ids:
        assert wait_job(server, job_id)["status"] == "succeeded"
    return ids


class SlowClients:
    """Connections that send a request's headers a byte at a time and never
    finish them, driven by one selector (non-blocking sockets, no threads)."""

    START = b"GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def __init__(self, port, sources, per_source):
        self.sel = selectors.DefaultSelector()
        self.pending = set()
        for source in sources:
            for _ in range(per_source):
                s = client_socket(source)
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                self.sel.register(s, selectors.EVENT_WRITE)
                self.pending.add(s)
        self.open = []
        self.closed = 0

    def connect(self, timeout):
        """Waits until every socket is connected and has sent the request's start."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.5):
                s = key.fileobj
                assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                s.send(self.START)
                self.sel.modify(s, selectors.EVENT_READ)
                self.pending.discard(s)
                self.open.append(s)
        assert not self.pending, f"{len(self.pending)} slow connections never connected"

    def trickle(self):
        """One more header byte on every connection; counts those the server closed."""
        for s in list(self.open):
            s.send(b"a")
        for key, _ in self.sel.select(0):
            assert recv_some(key.fileobj) == b"", "the server answered a request not yet whole"
            self.sel.unregister(key.fileobj)
            self.open.remove(key.fileobj)
            key.fileobj.close()
            self.closed += 1

    def close(self):
        for s in self.open + list(self.pending):
            s.close()
        self.sel.close()


def timed_get(srv, path):
    start = time.perf_counter()
    r = requests.get(srv.url(path), timeout=10)
    assert r.status_code == 200, r.text
    return time.perf_counter() - start


def test_slowloris_does_not_starve_other_clients(server):
    slow = SlowClients(server.port, SLOW_SOURCES, SLOW_PER_SOURCE)
    try:
        slow.connect(30)
        total = len(SLOW_SOURCES) * SLOW_PER_SOURCE
        wait_for(lambda: socket_fds(server) >= total, 10, f"the server does not hold {total} sockets")
        worst = {"/healthz": 0.0, "/v1/jobs": 0.0}
        for _ in range(LATENCY_ROUNDS):
            slow.trickle()
            for path in worst:
                worst[path] = max(worst[path], timed_get(server, path))
            time.sleep(0.1)
        slow.trickle()
        print(f"\nslowloris: {len(slow.open)} slow connections held; worst of {LATENCY_ROUNDS}: "
              + ", ".join(f"GET {p} {t * 1000:.1f} ms" for p, t in worst.items()))
        assert slow.closed == 0, f"{slow.closed} slow connections closed before the timeout"
        assert len(slow.open) == total
        for path, seconds in worst.items():
            assert seconds < LATENCY_LIMIT, f"GET {path} took {seconds:.3f} s"
    finally:
        slow.close()


@contextlib.contextmanager
def held_connections(port, source, count, request):
    """count connections from source, each having sent request; closed on exit."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(connect(port, source)) for _ in range(count)]
        for s in socks:
            s.sendall(request)
        yield socks


def assert_open(socks):
    """The server has neither answered nor closed any of socks."""
    for s in socks:
        s.settimeout(0.01)
        with pytest.raises(socket.timeout):
            s.recv(1)


def test_connections_past_the_per_address_limit_are_refused(server):
    source = "127.0.0.20"
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with held_connections(server.port, source, PER_IP_DEFAULT, request) as held:
        for s in held:
            assert read_answer(s)[0] == 200
        with connect(server.port, source) as extra:
            extra.sendall(request)
            assert read_answer(extra)[0] == 0, "a connection past the limit was served"
        assert raw(server.port, "GET", "/healthz", source="127.0.0.21")[0] == 200
        assert requests.get(server.url("/healthz"), timeout=5).status_code == 200
        assert_open(held)
    wait_for(lambda: raw(server.port, "GET", "/healthz", source=source)[0] == 200, 5,
             "the address is not served again once its connections closed")


def test_idle_connection_is_closed_after_the_timeout(quick):
    with connect(quick.port) as s:
        seconds = closed_within(s, TIMEOUT + 5)
    assert seconds is not None and TIMEOUT - 0.5 <= seconds <= TIMEOUT + 2, seconds


def test_idle_keep_alive_is_closed_after_the_timeout(quick):
    with connect(quick.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(s)[0] == 200
        seconds = closed_within(s, TIMEOUT + 5)
    assert seconds is not None and TIMEOUT - 0.5 <= seconds <= TIMEOUT + 2, seconds


def trickle_until_closed(s, payload, interval, limit):
    """Sends payload a byte every interval seconds until the server closes s:
    the seconds that took, or None when it did not within limit."""
    start = time.monotonic()
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    try:
        for i in range(len(payload)):
            if time.monotonic() - start > limit:
                return None
            try:
                s.send(payload[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
            if sel.select(interval):
                assert recv_some(s) == b"", "the server answered a request not yet whole"
                return time.monotonic() - start
        return None
    finally:
        sel.close()


def test_trickled_headers_are_cut_after_the_timeout(quick):
    payload = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    with connect(quick.port) as s:
        seconds = trickle_until_closed(s, payload, 0.2, TIMEOUT + 10)
    assert seconds is not None, "a client trickling its headers kept the connection"
    assert TIMEOUT <= seconds <= TIMEOUT + 3, seconds
    assert requests.get(quick.url("/healthz"), timeout=5).status_code == 200


def test_trickled_body_is_cut_after_the_timeout(quick):
    before = quick.staged()
    head = (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=BOUNDARY\r\nContent-Length: 100000\r\n\r\n")
    body = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"clip\"; filename=\"c\"\r\n\r\n" + b"x" * 99000
    with connect(quick.port) as s:
        s.sendall(head)
        seconds = trickle_until_closed(s, body, 0.05, TIMEOUT + 10)
    assert seconds is not None, "a client trickling its body kept the connection"
    assert TIMEOUT <= seconds <= TIMEOUT + 3, seconds
    wait_for(lambda: quick.staged() == before, 5, "the cut upload left files")


def test_slow_but_steady_upload_is_not_cut(quick, media):
    """An upload that takes longer than the timeout, at a steady rate well
    above 1 KiB/s, goes through."""
    boundary = b"steady"
    parts = [(b"spec", b'{"mode": "stabilize", "video": "clip", "steps": 1}'),
             (b"clip", media["short"].read_bytes())]
    body = b"".join(b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name
                    + b"\"; filename=\"f\"\r\n\r\n" + data + b"\r\n" for name, data in parts)
    body += b"--" + boundary + b"--\r\n"
    interval = 0.1
    piece = -(-len(body) // int((TIMEOUT + 2) / interval))
    assert piece / interval > 2048
    with connect(quick.port) as s:
        start = time.monotonic()
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                  b"boundary=" + boundary + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), piece):
            s.sendall(body[i:i + piece])
            time.sleep(interval)
        status, _, answer = read_answer(s)
        seconds = time.monotonic() - start
    assert status == 202, answer
    assert seconds > TIMEOUT + 1
    assert wait_job(quick, ID.search(answer.decode()).group(0))["status"] == "succeeded"


OVERSIZED = [
    ("a 64 KiB header", "GET", "/healthz", b"X-Big: " + b"a" * 65536 + b"\r\n", 431),
    ("40 KiB in 800 headers", "GET", "/healthz",
     b"".join(b"X-H%03d: %s\r\n" % (i, b"v" * 40) for i in range(800)), 431),
    ("a 64 KiB path", "GET", "/v1/jobs/" + "a" * 65536, b"", 414),
    ("a 64 KiB query", "GET", "/v1/jobs?cursor=" + "a" * 65536, b"", 414),
    ("a 64 KiB header on an upload", "POST", "/v1/jobs",
     b"X-Big: " + b"a" * 65536 + b"\r\n", 431),
]


@pytest.mark.parametrize("what,method,target,headers,status", OVERSIZED,
                         ids=[o[0] for o in OVERSIZED])
def test_oversized_request_is_a_problem(server, what, method, target, headers, status):
    got, hdrs, body = raw(server.port, method, target, headers=headers)
    assert got == status, (what, got, body[:200])
    assert hdrs["content-type"] == "application/problem+json"
    assert requests.get(server.url("/healthz"), timeout=5).status_code == 200


@pytest.mark.parametrize("what,target,headers,status", [
    ("a 256 KiB header", "/healthz", b"X-Big: " + b"a" * (256 << 10) + b"\r\n", 431),
    ("a 256 KiB path", "/" + "a" * (256 << 10), b"", 414),
])
def test_request_past_the_connection_memory_gets_mhds_answer(server, what, target, headers, status):
    """Past the 128 KiB a connection may use, MHD answers by itself: the
    status is right, the body is MHD's short HTML page, not problem+json."""
    got, hdrs, _ = raw(server.port, "GET", target, headers=headers)
    assert got == status, (what, got)
    assert requests.get(server.url("/healthz"), timeout=5).status_code == 200


def test_open_files_limit_is_raised_for_max_connections(tmp_path_factory):
    """Started with a soft limit of 256 open files, the server raises it for
    its 1024 connections, and holds 400 from one address (no per-address
    limit)."""
    srv = make_server(tmp_path_factory, "nofile", args=["--max-connections-per-ip", "0"])
    srv.wrap = ["prlimit", "--nofile=256:", "--"]
    srv.start()
    try:
        assert any(line.get("msg") == "open files" and "raised from 256 to 1280" in line["detail"]
                   for line in srv.log_lines()), srv.log_text()
        limits = Path(f"/proc/{srv.proc.pid}/limits").read_text()
        assert re.search(r"Max open files\s+1280\s", limits), limits
        with held_connections(srv.port, "127.0.0.30", 400, b"GET /healthz HTTP/1.1\r\n") as held:
            wait_for(lambda: socket_fds(srv) >= 400, 10, "the server does not hold 400 sockets")
            assert requests.get(srv.url("/healthz"), timeout=5).status_code == 200
            assert_open(held)
    finally:
        assert srv.stop() == 0


def test_a_hard_open_files_limit_caps_the_connections(tmp_path_factory):
    srv = make_server(tmp_path_factory, "nofile_hard")
    srv.wrap = ["prlimit", "--nofile=300:300", "--"]
    srv.start()
    try:
        warnings = [line["detail"] for line in srv.log_lines()
                    if line.get("msg") == "open files" and line["level"] == "warn"]
        assert warnings and "holds 150 connections, not --max-connections 1024" in warnings[0], warnings
        assert requests.get(srv.url("/healthz"), timeout=5).status_code == 200
    finally:
        assert srv.stop() == 0


def bad_ids(job_id):
    """Path parameters that must not reach a file: traversal, encodings of it,
    absolute paths, NUL, overlong and look-alike ids."""
    return [
        "..", "%2e%2e", "%2E%2E", ".%2e", "../../etc/passwd", "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%252e%252e%252fetc%252fpasswd",
        "..%5c..%5cetc%5cpasswd", "....//....//etc/passwd", "/etc/passwd", "%2fetc%2fpasswd",
        job_id + "/../" + job_id, job_id[:16] + "%2f" + job_id[16:],
        job_id + "%00", job_id + "%00/../../etc/passwd", "%00" + job_id,
        job_id + "0", job_id * 40, job_id[:-1], job_id.upper(), job_id[:31] + "G",
        "é" * 16, "%C3%A9" * 16, "\uff10" * 32, "0" * 31 + "\u0660", "%u002e%u002e",
        job_id + "/output/../../../etc/passwd", job_id + "%2Foutput", " " + job_id[1:],
    ]


METHODS = ["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]


def test_path_traversal_reaches_no_file(server, jobs):
    """Every job route, every method: 400 or 404 problem+json, never a file;
    the job named inside the bad path is untouched."""
    job_id = jobs[0]
    before = server.get(f"/v1/jobs/{job_id}/output").content
    tried = 0
    for bad in bad_ids(job_id):
        for tail in ("", "/output", "/cancel"):
            for method in METHODS:
                status, headers, body = raw(server.port, method, f"/v1/jobs/{bad}{tail}")
                what = f"{method} /v1/jobs/{bad}{tail}"
                assert status in (400, 404), (what, status, body[:200])
                assert headers["content-type"] == "application/problem+json", what
                assert b"root:" not in body and not body.startswith(b"\x00\x00\x00"), what
                tried += 1
    assert tried == len(bad_ids(job_id)) * 3 * len(METHODS)
    job = server.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert server.get(f"/v1/jobs/{job_id}/output").content == before
    assert sorted(p.name for p in (server.data / "jobs").iterdir()) >= sorted(jobs)


def test_job_ids_are_128_random_bits_in_lowercase_hex(server, jobs):
    assert all(ID.fullmatch(j) for j in jobs), jobs
    assert len(set(jobs)) == len(jobs)
    listed = [j["id"] for j in server.get("/v1/jobs", params={"limit": 100}).json()["jobs"]]
    assert set(jobs) <= set(listed)
