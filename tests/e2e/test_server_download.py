"""GET /v1/jobs/{id}/output for players: Content-Length, a strong ETag,
If-None-Match 304, single Range 206, unsatisfiable 416, If-Range, HEAD."""
import pytest

from conftest import assert_problem, submit_edit, wait_job


@pytest.fixture(scope="module")
def done(server, media):
    job = wait_job(server, submit_edit(server, media, "clip").json()["id"])
    full = server.get(job["output_url"])
    assert full.status_code == 200
    return job["output_url"], full


def test_headers(done):
    _, full = done
    assert full.headers["Accept-Ranges"] == "bytes"
    assert int(full.headers["Content-Length"]) == len(full.content) > 0
    etag = full.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")


def test_etag_is_stable_and_304(server, done):
    url, full = done
    etag = full.headers["ETag"]
    assert server.get(url).headers["ETag"] == etag
    r = server.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["ETag"] == etag
    assert server.get(url, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert server.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("spec,start,end", [("0-99", 0, 99), ("100-", 100, None),
                                            ("-50", None, None), ("10-10", 10, 10)])
def test_single_range(server, done, spec, start, end):
    url, full = done
    size = len(full.content)
    r = server.get(url, headers={"Range": f"bytes={spec}"})
    assert r.status_code == 206
    if start is None:
        start = size - 50
    if end is None:
        end = size - 1
    assert r.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert r.content == full.content[start:end + 1]
    assert int(r.headers["Content-Length"]) == end - start + 1


def test_range_past_end_is_clamped(server, done):
    url, full = done
    size = len(full.content)
    r = server.get(url, headers={"Range": f"bytes={size - 5}-{size * 2}"})
    assert r.status_code == 206 and r.content == full.content[-5:]


def test_unsatisfiable_is_416(server, done):
    url, full = done
    r = server.get(url, headers={"Range": f"bytes={len(full.content)}-"})
    assert_problem(r, 416)
    assert r.headers["Content-Range"] == f"bytes */{len(full.content)}"


def test_several_ranges_or_other_units_get_everything(server, done):
    url, full = done
    for header in ("bytes=0-1,5-6", "items=0-1", "bytes=abc"):
        r = server.get(url, headers={"Range": header})
        assert r.status_code == 200 and r.content == full.content


def test_if_range(server, done):
    url, full = done
    etag = full.headers["ETag"]
    assert server.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    r = server.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == full.content


def test_head(server, done):
    url, full = done
    r = server.session.head(server.url(url), timeout=30)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(full.content)
    assert r.content == b""
