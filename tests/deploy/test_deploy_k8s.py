"""deploy/k8s: every manifest validates against the Kubernetes API schemas (strictly:
unknown fields are errors), and the manifests agree with each other, with the image and
with the service's drain: probes, grace period, shared volume, Redis URL, selectors."""
import copy
import json
import re
import subprocess

import pytest

from conftest import HERE, K8S, REPO, yaml_docs

VALIDATOR = HERE / "validate_k8s.mjs"
KUSTOMIZATION = "kustomization.yaml"


def manifest_files():
    return sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION)


@pytest.fixture(scope="module")
def entries():
    out = []
    for path in manifest_files():
        for i, doc in enumerate(yaml_docs(path)):
            out.append({"source": f"{path.relative_to(REPO)}#{i}", "doc": doc})
    return out


@pytest.fixture(scope="module")
def objs(entries):
    """(kind, name) -> object."""
    table = {}
    for e in entries:
        key = (e["doc"]["kind"], e["doc"]["metadata"]["name"])
        assert key not in table, f"{key} defined twice"
        table[key] = e["doc"]
    return table


def validate(entries, tmp_path):
    if not (HERE / "node_modules" / "kubernetes-models").is_dir():
        pytest.fail("tests/deploy/node_modules is missing: run `make test-deploy` "
                    "(it runs npm ci in tests/deploy)")
    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps(entries))
    run = subprocess.run(["node", str(VALIDATOR), str(docs)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, {r["source"]: r for r in json.loads(run.stdout)["results"]}


def test_manifests_validate_against_the_kubernetes_schemas(entries, tmp_path):
    rc, results = validate(entries, tmp_path)
    bad = {src: r["errors"] for src, r in results.items() if r["errors"]}
    assert rc == 0 and not bad, json.dumps(bad, indent=1)
    kinds = sorted(r["kind"] for r in results.values())
    print(f"{len(results)} objects valid: {', '.join(kinds)}")
    assert {"apps/v1/Deployment", "v1/Service", "autoscaling/v2/HorizontalPodAutoscaler",
            "policy/v1/PodDisruptionBudget", "v1/PersistentVolumeClaim",
            "apps/v1/StatefulSet"} <= set(kinds)


def test_validator_rejects_what_the_api_server_would(entries, tmp_path):
    """The same check on broken copies: each break is reported on its own object."""
    broken = copy.deepcopy(entries)
    by_kind = {e["doc"]["kind"]: e for e in broken}
    dep = by_kind["Deployment"]["doc"]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["readinessprobe"] = container.pop("readinessProbe")       # unknown field
    by_kind["HorizontalPodAutoscaler"]["doc"]["spec"].pop("maxReplicas")  # required field
    by_kind["PodDisruptionBudget"]["doc"]["spec"]["maxUnavailable"] = [1]  # wrong type
    by_kind["PersistentVolumeClaim"]["doc"]["apiVersion"] = "v2"           # no such API
    rc, results = validate(broken, tmp_path)
    assert rc == 1
    errors = {by_kind[k]["source"]: " ".join(results[by_kind[k]["source"]]["errors"])
              for k in by_kind}
    assert "readinessprobe" in errors[by_kind["Deployment"]["source"]]
    assert "maxReplicas" in errors[by_kind["HorizontalPodAutoscaler"]["source"]]
    assert "maxUnavailable" in errors[by_kind["PodDisruptionBudget"]["source"]] or \
        "/spec/maxUnavailable" in errors[by_kind["PodDisruptionBudget"]["source"]]
    assert "no Kubernetes API type" in errors[by_kind["PersistentVolumeClaim"]["source"]]
    untouched = by_kind["StatefulSet"]["source"]
    assert results[untouched]["errors"] == []


def test_kustomization_lists_every_manifest():
    (kust,) = yaml_docs(K8S / KUSTOMIZATION)
    assert sorted(kust["resources"]) == sorted(p.name for p in manifest_files())


def container_of(obj):
    (c,) = obj["spec"]["template"]["spec"]["containers"]
    return c


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def test_deployment_probes_and_drain(objs):
    dep = objs[("Deployment", "maskattn")]
    pod = dep["spec"]["template"]["spec"]
    c = container_of(dep)
    env = env_of(c)
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
    assert str(port) == env["MASKATTN_PORT"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Liveness must not kill a pod that is only busy: it checks /healthz, more leniently.
    live, ready = c["livenessProbe"], c["readinessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > ready["periodSeconds"] * ready["failureThreshold"]
    # The grace period covers the preStop pause, the drain and a margin.
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    grace = int(env["MASKATTN_GRACE"])
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + grace + 5
    assert pod["terminationGracePeriodSeconds"] <= int(pre_stop[1]) + grace + 30
    # Rolling updates never drop below the wanted count.
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_deployment_matches_the_image(objs, dockerfile):
    dep = objs[("Deployment", "maskattn")]
    pod = dep["spec"]["template"]["spec"]
    c = container_of(dep)
    env = env_of(c)
    uid, _, gid = dockerfile["user"].partition(":")
    sc = pod["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == int(uid) != 0
    assert sc["runAsGroup"] == int(gid) and sc["fsGroup"] == int(gid)
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert f"{env['MASKATTN_PORT']}/tcp" in [p if "/" in p else p + "/tcp" for p in dockerfile["expose"]]
    assert dockerfile["volume"] == [env["MASKATTN_DATA"]] == [dockerfile["env"]["MASKATTN_DATA"]]
    for key in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][key])
    # One attention thread per CPU of the limit.
    assert int(env["MASKATTN_THREADS"]) * int(env["MASKATTN_WORKERS"]) <= int(c["resources"]["limits"]["cpu"])


def test_replicas_share_the_data_volume(objs):
    dep = objs[("Deployment", "maskattn")]
    pod = dep["spec"]["template"]["spec"]
    c = container_of(dep)
    data = env_of(c)["MASKATTN_DATA"]
    (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == data]
    (vol,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    pvc = objs[("PersistentVolumeClaim", vol["persistentVolumeClaim"]["claimName"])]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert not mount.get("readOnly")


def test_redis_url_reaches_an_append_only_redis(objs):
    dep = objs[("Deployment", "maskattn")]
    url = env_of(container_of(dep))["MASKATTN_REDIS_URL"]
    m = re.fullmatch(r"redis://([a-z0-9-]+):(\d+)/(\d+)", url)
    assert m, url
    svc = objs[("Service", m.group(1))]
    (port,) = [p for p in svc["spec"]["ports"] if p["port"] == int(m.group(2))]
    redis = objs[("StatefulSet", "maskattn-redis")]
    assert matches(svc["spec"]["selector"], redis["spec"]["template"]["metadata"]["labels"])
    c = container_of(redis)
    assert port["targetPort"] in [p["name"] for p in c["ports"]] + [p["containerPort"] for p in c["ports"]]
    args = c["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    data_dir = args[args.index("--dir") + 1]
    (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == data_dir]
    (claim,) = [t for t in redis["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == mount["name"]]
    assert claim["spec"]["resources"]["requests"]["storage"]
    assert objs[("Service", redis["spec"]["serviceName"])]["spec"]["clusterIP"] == "None"
    assert c["readinessProbe"] and c["livenessProbe"]
    assert redis["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_service_hpa_and_pdb_select_the_pods(objs):
    dep = objs[("Deployment", "maskattn")]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert matches(dep["spec"]["selector"]["matchLabels"], labels)
    svc = objs[("Service", "maskattn")]
    assert matches(svc["spec"]["selector"], labels)
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    # Behind the Service and an ingress, clients share a few proxy addresses: no per-address limit.
    assert env_of(container_of(dep))["MASKATTN_MAX_CONNECTIONS_PER_IP"] == "0"
    pdb = objs[("PodDisruptionBudget", "maskattn")]
    assert matches(pdb["spec"]["selector"]["matchLabels"], labels)
    hpa = objs[("HorizontalPodAutoscaler", "maskattn")]
    ref = hpa["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", "maskattn")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # The PDB's one voluntary disruption still leaves a replica serving.
    assert hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"] >= 1
    assert hpa["spec"]["minReplicas"] <= dep["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    # The Redis pods are not the API's: no selector above picks them.
    redis_labels = objs[("StatefulSet", "maskattn-redis")]["spec"]["template"]["metadata"]["labels"]
    for sel in (svc["spec"]["selector"], pdb["spec"]["selector"]["matchLabels"]):
        assert not matches(sel, redis_labels)
