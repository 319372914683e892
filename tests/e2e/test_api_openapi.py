"""The OpenAPI document at /openapi.yaml: valid OpenAPI 3.1 by a real
validator (@apidevtools/swagger-parser, installed in tests/openapi by the
Makefile's npm step), covering every route, and real responses matching the
schemas it gives for them (jsonschema, draft 2020-12)."""
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, RefResolver

from conftest import make_server, propagate_spec, stabilize_spec, submit, submit_edit, wait_job

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "openapi"
ROUTES = {
    "/v1/jobs": {"get", "post"},
    "/v1/jobs/{id}": {"get", "delete"},
    "/v1/jobs/{id}/cancel": {"post"},
    "/v1/jobs/{id}/output": {"get"},
    "/v1/jobs/{id}/events": {"get"},
    "/v1/jobs/{id}/attention": {"get"},
    "/v1/jobs/{id}/frames/{n}.png": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/openapi.yaml": {"get"},
    "/": {"get"},
    "/studio/{file}": {"get"},
}


@pytest.fixture(scope="module")
def doc(server):
    r = server.get("/openapi.yaml")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/yaml"
    return yaml.safe_load(r.text)


def test_document_is_valid_openapi_31(server, tmp_path):
    if not (OPENAPI_DIR / "node_modules" / "@apidevtools" / "swagger-parser").exists():
        pytest.fail("tests/openapi/node_modules is missing: run `make e2e` (it runs npm ci there)")
    path = tmp_path / "openapi.yaml"
    path.write_bytes(server.get("/openapi.yaml").content)
    run = subprocess.run(["node", str(OPENAPI_DIR / "validate.js"), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "OpenAPI 3.1" in run.stdout


def test_every_route_is_described(doc):
    described = {path: {m for m in ops if m in ("get", "post", "delete", "put", "patch")}
                 for path, ops in doc["paths"].items()}
    assert described == ROUTES


def deref(doc, node):
    """Follows a local $ref (#/a/b) to its target."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        node = target
    return node


def check(doc, response, path, method):
    """Validates a real response against the document's schema for it."""
    op = doc["paths"][path][method]
    assert str(response.status_code) in op["responses"], (path, method, response.status_code)
    described = deref(doc, op["responses"][str(response.status_code)])
    if "content" not in described:
        assert not response.content
        return
    ctype = response.headers["Content-Type"].split(";")[0]
    assert ctype in described["content"], (path, method, ctype)
    schema = described["content"][ctype]["schema"]
    if ctype.endswith("json"):
        validator = Draft202012Validator(schema, resolver=RefResolver.from_schema(doc),
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        validator.validate(response.json())


def test_job_responses_match(server, doc, media):
    r = submit(server, propagate_spec(), clip=media["clip"], mask0=media["mask"],
               edit0=media["edit"])
    check(doc, r, "/v1/jobs", "post")
    job_id = r.json()["id"]
    check(doc, server.get(f"/v1/jobs/{job_id}"), "/v1/jobs/{id}", "get")
    check(doc, server.get(f"/v1/jobs/{job_id}/output"), "/v1/jobs/{id}/output", "get")
    wait_job(server, job_id)
    check(doc, server.get(f"/v1/jobs/{job_id}"), "/v1/jobs/{id}", "get")
    check(doc, server.get(f"/v1/jobs/{job_id}/output"), "/v1/jobs/{id}/output", "get")
    check(doc, server.get(f"/v1/jobs/{job_id}/output", headers={"Range": "bytes=0-9"}),
          "/v1/jobs/{id}/output", "get")
    check(doc, server.get("/v1/jobs", params={"limit": 1}), "/v1/jobs", "get")
    check(doc, server.post(f"/v1/jobs/{job_id}/cancel"), "/v1/jobs/{id}/cancel", "post")
    check(doc, server.delete(f"/v1/jobs/{job_id}"), "/v1/jobs/{id}", "delete")
    check(doc, server.get(f"/v1/jobs/{job_id}"), "/v1/jobs/{id}", "get")


def test_error_responses_match(server, doc, media):
    check(doc, submit_edit(server, media, "clip", steps=0), "/v1/jobs", "post")
    check(doc, submit(server, stabilize_spec(), clip=b"not a video"), "/v1/jobs", "post")
    check(doc, server.get("/v1/jobs", params={"limit": 1000}), "/v1/jobs", "get")
    bad = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    r = submit(server, propagate_spec(), clip=media["clip"], mask0=bad, edit0=media["edit"])
    failed = wait_job(server, r.json()["id"])
    check(doc, server.get(f"/v1/jobs/{failed['id']}"), "/v1/jobs/{id}", "get")


def test_operations_match(server, doc):
    for path in ("/healthz", "/readyz", "/metrics"):
        check(doc, server.get(path), path, "get")


def test_studio_responses_match(server, doc):
    check(doc, server.get("/"), "/", "get")
    for name in ("studio.js", "studio.css", "icon.svg", "no-such-file.js"):
        check(doc, server.get(f"/studio/{name}"), "/studio/{file}", "get")
    etag = server.get("/studio/studio.js").headers["ETag"]
    check(doc, server.get("/studio/studio.js", headers={"If-None-Match": etag}),
          "/studio/{file}", "get")


def test_auth_responses_match(tmp_path_factory, doc):
    srv = make_server(tmp_path_factory, "openapi-auth", env={"MASKATTN_API_KEYS": "k"}).start()
    try:
        check(doc, srv.get("/v1/jobs"), "/v1/jobs", "get")
    finally:
        assert srv.stop() == 0
