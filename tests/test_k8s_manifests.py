"""The Kubernetes manifests (deploy/k8s/): valid against Kubernetes' own schemas, and saying what the issue asks.

kubernetes-validate checks every resource against the OpenAPI schemas of a Kubernetes release, which it
ships (no network), in strict mode: an unknown or misspelt field fails. The other tests read the YAML for
what a schema cannot know: the probes' paths, the Dockerfile's entry point, no migration at start, no
secret value written down, the scrape annotations.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.test_deployment_files import _load_gunicorn_conf

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")
# The oldest release the manifests claim to support (autoscaling/v2, policy/v1 and
# ttlSecondsAfterFinished are older still) and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
SECRET_NAMES = ("SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "CACHE_URL", "ANTHROPIC_API_KEY")


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all_resources() -> dict[str, dict[str, Any]]:
    """Every resource, by ``kind/name``."""
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for path in MANIFESTS for doc in _documents(path)}


def _deployment() -> dict[str, Any]:
    return _all_resources()["Deployment/shuren-api"]


def _job() -> dict[str, Any]:
    return _all_resources()["Job/shuren-migrate"]


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    command: list[str] = json.loads(line.removeprefix("CMD "))
    return command


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    documents = _documents(path)
    assert documents, f"{path.name} holds no resource"
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    # given: the Deployment with a probe's field misspelt, as a hand edit might leave it
    broken = copy.deepcopy(_deployment())
    _container(broken)["readinessProbe"]["httpGet"]["paht"] = "/api/v1/health/ready"

    # then: strict validation fails, so the test above would catch it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_kustomization_lists_every_manifest_but_the_migration_job() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())

    listed = set(kustomization["resources"])
    assert listed == {path.name for path in MANIFESTS} - {"migrate-job.yaml"}
    kinds = {doc["kind"] for name in listed for doc in _documents(K8S / name)}
    assert kinds == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_liveness_is_health_and_readiness_is_the_ready_endpoint() -> None:
    container = _container(_deployment())

    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    port_names = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert port_names[container[probe]["httpGet"]["port"]] == 8000


def test_the_pod_runs_the_dockerfiles_gunicorn_entry_point_and_never_migrates() -> None:
    container = _container(_deployment())

    command = container.get("command", []) + container.get("args", [])
    assert command == _dockerfile_cmd()
    assert command[:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert "migrate" not in " ".join(command)
    assert "lifecycle" not in container or "migrate" not in json.dumps(container["lifecycle"])
    assert "initContainers" not in _deployment()["spec"]["template"]["spec"]


def test_migrations_run_as_a_job_with_the_apps_image_and_settings() -> None:
    job = _job()
    container = _container(job)

    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert container["image"] == _container(_deployment())["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert {"configMapRef": {"name": "shuren-config"}} in container["envFrom"]
    # Straight to PostgreSQL (not through PgBouncer), from the Secret.
    assert _env(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "MIGRATE_DATABASE_URL"


def test_the_jobs_prometheus_directory_exists_and_is_writable() -> None:
    # prometheus_client turns multiprocess mode on when PROMETHEUS_MULTIPROC_DIR is set at all, even empty
    # ("" writes its files into the working directory, read-only here), and only gunicorn.conf.py creates
    # the image's /tmp/prometheus. The Job runs manage.py alone, so its directory must be a mounted volume.
    container = _container(_job())
    directory = _env(container)["PROMETHEUS_MULTIPROC_DIR"]["value"]

    assert directory
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert directory in {mount["mountPath"] for mount in container["volumeMounts"]}


@pytest.mark.parametrize("workload", ["deployment", "job"])
def test_secrets_are_referenced_never_written_down(workload: str) -> None:
    container = _container(_deployment() if workload == "deployment" else _job())
    env = _env(container)

    for name in ("SECRET_KEY", "DATABASE_URL", "ANTHROPIC_API_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "shuren-secrets", name
    for name in SECRET_NAMES:
        if name in env:
            assert "value" not in env[name], f"{name} is written into the manifest"
    # and no manifest carries a Secret, a key-like value, or a password in a URL
    for path in MANIFESTS:
        for document in _documents(path):
            assert document["kind"] != "Secret", path.name
    configmap = _all_resources()["ConfigMap/shuren-config"]["data"]
    assert not set(configmap) & {*SECRET_NAMES, "MIGRATE_DATABASE_URL", "POSTGRES_PASSWORD"}
    text = "\n".join(path.read_text() for path in MANIFESTS)
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "a URL with a password"
    assert not re.search(r"sk-ant-", text)


def test_non_secret_settings_come_from_the_configmap_and_name_real_variables() -> None:
    container = _container(_deployment())
    configmap = _all_resources()["ConfigMap/shuren-config"]["data"]
    read = (ROOT / "shuren" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()

    assert {"configMapRef": {"name": "shuren-config"}} in container["envFrom"]
    for name in configmap:
        assert f'"{name}"' in read, f"{name} is read neither by settings.py nor by gunicorn.conf.py"
    assert configmap["DEBUG"] == "False"
    assert configmap["DB_PGBOUNCER"] == "true"


def test_the_pods_own_address_is_an_allowed_host_for_probes_and_scrapes() -> None:
    env = _container(_deployment())["env"]
    names = [item["name"] for item in env]

    allowed = next(item for item in env if item["name"] == "ALLOWED_HOSTS")["value"]
    assert allowed == "$(PUBLIC_HOSTS),$(POD_IP)"
    # Kubernetes expands $(NAME) only from variables defined earlier in the list.
    assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")
    assert names.index("PUBLIC_HOSTS") < names.index("ALLOWED_HOSTS")
    pod_ip = next(item for item in env if item["name"] == "POD_IP")
    assert pod_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_prometheus_scrapes_each_pods_metrics_port() -> None:
    annotations = _deployment()["spec"]["template"]["metadata"]["annotations"]

    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == 8000


def test_the_configmap_gives_each_worker_at_least_the_images_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # bench/RESULTS.md: with a 10 s LLM, 128 threads per worker ran out long before the CPU; 256 did not
    config = _all_resources()["ConfigMap/shuren-config"]["data"]
    default = _load_gunicorn_conf(monkeypatch).threads

    assert int(config.get("GUNICORN_THREADS", default)) >= default


def test_the_pod_is_locked_down_and_sized() -> None:
    spec = _deployment()["spec"]["template"]["spec"]
    container = _container(_deployment())

    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    # The one writable place is where gunicorn keeps the Prometheus files (Dockerfile's ENV).
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108 (the pod's own emptyDir)
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"] == "1Gi"
    # Longer than gunicorn's graceful timeout (30 s) plus the preStop pause (5 s).
    assert spec["terminationGracePeriodSeconds"] > 30 + 5


def test_service_hpa_and_pdb_all_select_the_deployments_pods() -> None:
    resources = _all_resources()
    pod_labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    service = resources["Service/shuren-api"]
    hpa = resources["HorizontalPodAutoscaler/shuren-api"]
    pdb = resources["PodDisruptionBudget/shuren-api"]

    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shuren-api"}
    assert hpa["spec"]["minReplicas"] >= 2
    # A budget that still lets a drain proceed, and never the HPA's whole minimum.
    assert pdb["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    assert "replicas" not in _deployment()["spec"], "the HPA owns the replica count"
