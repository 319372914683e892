"""Shared helpers of the deployment-file tests: paths, YAML loading, the settings the
Dockerfile declares (so the manifests can be checked against the image they run)."""
import re
import socket
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
HERE = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yaml_docs(path):
    """The non-empty YAML documents of path."""
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def seconds(value):
    """A Compose duration ("45s", "1m30s", "2m") in seconds."""
    total, rest = 0.0, str(value)
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", rest):
        total += float(num) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    assert re.fullmatch(r"((\d+(\.\d+)?)(us|ms|s|m|h))+", rest), f"not a duration: {value!r}"
    return total


@pytest.fixture(scope="session")
def dockerfile():
    """USER, EXPOSE, VOLUME, ENV and HEALTHCHECK of the runtime stage of the Dockerfile."""
    text = (REPO / "Dockerfile").read_text()
    # Join continuation lines, drop comments.
    text = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    stages = [i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")]
    runtime = lines[stages[-1]:]
    info = {"env": {}, "from": runtime[0].split()[1]}
    for ln in runtime:
        word, _, rest = ln.partition(" ")
        word = word.upper()
        if word == "USER":
            info["user"] = rest.strip()
        elif word == "EXPOSE":
            info["expose"] = rest.split()
        elif word == "VOLUME":
            info["volume"] = re.findall(r'"([^"]+)"', rest) or rest.split()
        elif word == "ENV":
            for key, val in re.findall(r"(\w+)=(\S+)", rest):
                info["env"][key] = val
        elif word == "HEALTHCHECK":
            info["healthcheck"] = rest
        elif word == "STOPSIGNAL":
            info["stopsignal"] = rest.strip()
    return info
