"""The web studio's files as the service serves them (server/srv_static.c):
types, validators, security headers, no key needed, and nothing but the
embedded files. The studio itself is driven in a browser by tests/studio."""
import re
from pathlib import Path

import pytest

from conftest import make_server

STUDIO = Path(__file__).resolve().parents[2] / "server" / "studio"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    srv = make_server(tmp_path_factory, "studio", env={"MASKATTN_API_KEYS": "k1"}).start()
    yield srv
    assert srv.stop() == 0


def test_page_needs_no_key(keyed):
    r = keyed.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.content == (STUDIO / "index.html").read_bytes()
    assert keyed.get("/v1/jobs").status_code == 401


def test_every_file_is_served_as_built(keyed):
    for path in sorted(STUDIO.iterdir()):
        r = keyed.get(f"/studio/{path.name}")
        assert r.status_code == 200, path.name
        assert r.headers["Content-Type"] == TYPES[path.suffix]
        assert r.content == path.read_bytes(), path.name


def test_page_links_resolve(keyed):
    page = keyed.get("/").text
    links = re.findall(r'(?:src|href)="(/[^"]*)"', page)
    assert "/studio/studio.js" in links and "/studio/studio.css" in links
    for link in links:
        assert keyed.get(link).status_code == 200, link
    for module in re.findall(r"from '\./([^']+)'", keyed.get("/studio/studio.js").text):
        assert keyed.get(f"/studio/{module}").status_code == 200, module


def test_security_and_cache_headers(keyed):
    r = keyed.get("/studio/studio.js")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["ETag"])


def test_etag_revalidation(keyed):
    etag = keyed.get("/").headers["ETag"]
    r = keyed.get("/", headers={"If-None-Match": etag})
    assert r.status_code == 304 and not r.content
    assert r.headers["ETag"] == etag
    assert keyed.get("/", headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert keyed.get("/", headers={"If-None-Match": '"other"'}).status_code == 200
    assert keyed.get("/studio/studio.css").headers["ETag"] != etag


def test_head(keyed):
    r = keyed.session.head(keyed.url("/studio/studio.css"), timeout=10)
    assert r.status_code == 200 and not r.content
    assert int(r.headers["Content-Length"]) == (STUDIO / "studio.css").stat().st_size


@pytest.mark.parametrize("path", [
    "/studio/missing.js", "/studio/", "/studio/../Makefile", "/studio/%2e%2e/Makefile",
    "/studio/..%2fsrv_static.c", "/studio/studio.js/x", "/studio/" + "a" * 300,
    "/studio/studio.js%00.png", "/studio//etc/passwd",
])
def test_nothing_else(keyed, path):
    r = keyed.session.get(keyed.url(path), timeout=10)
    assert r.status_code == 404, path
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_methods(keyed):
    r = keyed.post("/", data=b"x")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    assert keyed.delete("/studio/studio.js").status_code == 405
