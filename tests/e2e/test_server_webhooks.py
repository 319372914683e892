"""Webhooks against a real receiver on loopback (http.server in a thread):
delivery with a signature the test verifies, a retry after the receiver
answers 500, refusal of destinations the allow-list does not let through
(at submit for address literals and localhost, at delivery for a name that
resolves to loopback), and nothing sent for an event not subscribed."""
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import assert_problem, make_server, submit_edit, wait_job

SECRET = "test-secret-\u00e9"


class Receiver:
    """Records each POST (headers, body, time) and answers with the next
    status of `answers` (200 once they are used up)."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.calls = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.calls.append((dict(self.headers), body, time.monotonic()))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host="127.0.0.1"):
        return f"http://{host}:{self.port}/hooks/maskattn?token=abc"

    def wait(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.calls) >= n:
                    return list(self.calls)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.calls)} of {n} webhook calls after {timeout} s")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(headers, body, secret=SECRET, tolerance=300):
    """What a receiver does: recompute the signature over "<timestamp>.<body>"
    and compare in constant time; refuse old timestamps."""
    stamp = headers["X-Maskattn-Timestamp"]
    assert abs(time.time() - int(stamp)) < tolerance
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-Maskattn-Signature"])


def webhook_counts(srv):
    text = srv.get("/metrics").text
    return {m[0]: int(m[1]) for m in
            re.findall(r'maskattn_webhook_deliveries_total\{outcome="(\w+)"\} (\d+)', text)}


@pytest.fixture(scope="module")
def allowed(tmp_path_factory):
    srv = make_server(tmp_path_factory, "webhooks",
                      args=["--webhook-secret", SECRET, "--webhook-allow", "127.0.0.1"]).start()
    yield srv
    assert srv.stop() == 0


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    srv = make_server(tmp_path_factory, "webhooks-strict",
                      env={"MASKATTN_WEBHOOK_SECRET": SECRET}).start()
    yield srv
    assert srv.stop() == 0


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_delivery_is_signed(allowed, media, receiver):
    r = submit_edit(allowed, media, "short", webhook={"url": receiver.url()})
    assert r.status_code == 202, r.text
    assert r.json()["spec"]["webhook"] == {"url": receiver.url(), "events": ["completed"]}
    job = wait_job(allowed, r.json()["id"])
    [(headers, body, _)] = receiver.wait(1)
    assert verify(headers, body)
    assert not verify(headers, body, secret="another secret")
    assert not verify(headers, body + b" ")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Maskattn-Event"] == "succeeded"
    sent = json.loads(body)
    assert sent == job and sent["status"] == "succeeded"
    time.sleep(1.5)
    assert len(receiver.calls) == 1
    assert webhook_counts(allowed)["delivered"] >= 1


def test_retry_after_500(allowed, media):
    receiver = Receiver(answers=[500])
    try:
        before = webhook_counts(allowed)
        r = submit_edit(allowed, media, "short", webhook={"url": receiver.url()})
        wait_job(allowed, r.json()["id"])
        calls = receiver.wait(2)
        assert calls[1][2] - calls[0][2] >= 0.9, "the retry should wait about a second"
        assert all(verify(h, b) for h, b, _ in calls)
        assert calls[0][1] == calls[1][1]
        time.sleep(1.5)
        assert len(receiver.calls) == 2
        after = webhook_counts(allowed)
        assert after["retried"] == before["retried"] + 1
        assert after["delivered"] == before["delivered"] + 1
    finally:
        receiver.close()


def test_a_4xx_is_not_retried(allowed, media):
    receiver = Receiver(answers=[404])
    try:
        before = webhook_counts(allowed)
        wait_job(allowed, submit_edit(allowed, media, "short",
                                      webhook={"url": receiver.url()}).json()["id"])
        receiver.wait(1)
        time.sleep(2.5)
        assert len(receiver.calls) == 1
        assert webhook_counts(allowed)["failed"] == before["failed"] + 1
    finally:
        receiver.close()


def test_unsubscribed_event_sends_nothing(allowed, media, receiver):
    r = submit_edit(allowed, media, "short",
                    webhook={"url": receiver.url(), "events": ["failed", "canceled"]})
    assert r.json()["spec"]["webhook"]["events"] == ["failed", "canceled"]
    assert wait_job(allowed, r.json()["id"])["status"] == "succeeded"
    time.sleep(2)
    assert receiver.calls == []


def test_canceled_event(allowed, media, receiver):
    r = submit_edit(allowed, media, "long", webhook={"url": receiver.url(), "events": ["canceled"]})
    job_id = r.json()["id"]
    assert allowed.post(f"/v1/jobs/{job_id}/cancel").json()["status"] == "canceled"
    [(headers, body, _)] = receiver.wait(1)
    assert headers["X-Maskattn-Event"] == "canceled"
    assert json.loads(body)["status"] == "canceled"
    assert verify(headers, body)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.1.2.3",
                                  "169.254.169.254", "0.0.0.0"])
def test_internal_destination_refused_at_submit(strict, media, host):
    url = f"http://{host}:9/hook"
    body = assert_problem(submit_edit(strict, media, "short", webhook={"url": url}), 422)
    assert [e["field"] for e in body["errors"]] == ["webhook.url"]
    assert "--webhook-allow" in body["errors"][0]["message"]


def test_name_resolving_to_loopback_refused_at_delivery(strict, media, receiver):
    name = socket.gethostname()
    if not name or socket.gethostbyname(name) != "127.0.0.1":
        pytest.skip("the host name does not resolve to loopback here")
    before = webhook_counts(strict)
    r = submit_edit(strict, media, "short", webhook={"url": receiver.url(name)})
    assert r.status_code == 202, r.text
    wait_job(strict, r.json()["id"])
    deadline = time.monotonic() + 10
    while webhook_counts(strict)["refused"] == before["refused"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert webhook_counts(strict)["refused"] == before["refused"] + 1
    assert receiver.calls == []
    assert any(line.get("msg") == "webhook refused" for line in strict.log_lines())


def test_bad_urls_are_422(strict, media):
    for url in ("ftp://example.com/x", "http://", "https://exa mple.com/"):
        body = assert_problem(submit_edit(strict, media, "short", webhook={"url": url}), 422)
        assert body["errors"][0]["field"] == "webhook.url", body


def test_without_a_secret_webhooks_are_refused(server, media):
    body = assert_problem(submit_edit(server, media, "short",
                                      webhook={"url": "https://example.com/hook"}), 422)
    assert body["errors"][0]["field"] == "webhook.url"
    assert "--webhook-secret" in body["errors"][0]["message"]
