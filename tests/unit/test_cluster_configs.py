"""cluster_configs/: every file parses and validates, generated manifests equal their sources,
and the validator catches broken import paths, drifted serve configs and schema violations."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cluster_configs.toolchain.auth_check import check_ray_auth
from cluster_configs.toolchain.entrypoint_check import check_entrypoint, check_entrypoints
from cluster_configs.toolchain.layout import KUBERAY, REPO, load_release
from cluster_configs.toolchain.manifests import kubernetes_manifests
from cluster_configs.toolchain.metrics_check import check_metric_names
from cluster_configs.toolchain.release_check import check_env, check_images, check_qdrant_wiring
from cluster_configs.toolchain.render import render_manifests, serve_source_of
from cluster_configs.toolchain.schema_check import check_launcher, check_parse, check_schemas
from cluster_configs.toolchain.serve_check import (
    check_generated,
    check_serve_configs,
    resolve_import_path,
)
from jobs.validate_configs import app as validate_app

RAYSERVICE = KUBERAY / "rayservice.yaml"
RAYCLUSTER = KUBERAY / "raycluster.yaml"


def lines(problems) -> list[str]:
    return [str(p) for p in problems]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The files the validator reads, copied so that a test may break them."""
    for name in ("cluster_configs", "serve_apps"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def edit_yaml(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def rerender(repo: Path) -> None:
    for path, text in render_manifests(repo).items():
        (repo / path).write_text(text, encoding="utf-8")


# --- the repository's own configs -------------------------------------------------------------


def test_every_file_parses_and_every_manifest_validates():
    kinds = {m.doc["kind"] for m in kubernetes_manifests(REPO)}
    assert {"RayCluster", "RayJob", "RayService", "StatefulSet", "Service", "PodMonitor",
            "PrometheusRule"} <= kinds  # fmt: skip
    assert lines(check_parse(REPO)) == []
    assert lines(check_schemas(REPO)) == []
    assert lines(check_launcher(REPO)) == []


def test_serve_import_paths_resolve():
    assert resolve_import_path("serve_apps.rag:build_app") is None
    assert lines(check_serve_configs(REPO)) == []


def test_generated_manifests_equal_their_sources():
    assert lines(check_generated(REPO)) == []
    service = yaml.safe_load((REPO / RAYSERVICE).read_text(encoding="utf-8"))
    source = (REPO / serve_source_of(REPO)).read_text(encoding="utf-8")
    assert service["spec"]["serveConfigV2"] == source
    assert service["spec"]["upgradeStrategy"]["type"] == "NewCluster"


def test_one_release_real_settings_and_qdrant_wiring():
    assert lines(check_images(REPO)) == []
    assert lines(check_env(REPO)) == []
    assert lines(check_qdrant_wiring(REPO)) == []
    assert lines(check_metric_names(REPO)) == []


def test_rayjob_entrypoints_name_existing_job_modules():
    assert lines(check_entrypoints(REPO)) == []


def test_gpu_worker_group_asks_for_one_4090():
    cluster = yaml.safe_load((REPO / RAYCLUSTER).read_text(encoding="utf-8"))["spec"]
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]
    assert "nvidia.com/gpu" not in head["limits"]
    (group,) = cluster["workerGroupSpecs"]
    pod = group["template"]["spec"]
    limits = pod["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-4090"}
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_rayjobs_shut_down_and_expire():
    jobs = [m.doc["spec"] for m in kubernetes_manifests(REPO) if m.doc["kind"] == "RayJob"]
    listed = yaml.safe_load((REPO / "cluster_configs/kuberay/src/workloads.yaml").read_text())
    assert len(jobs) == len(listed["rayjobs"]) >= 4  # ingest, finetune, tune, monitor, ...
    for spec in jobs:
        assert spec["shutdownAfterJobFinishes"] is True
        assert spec["ttlSecondsAfterFinished"] > 0
        assert yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]["HF_HUB_OFFLINE"] == "1"


# --- the validator catches what it must -------------------------------------------------------


def test_broken_import_path_is_caught(repo_copy: Path):
    source = repo_copy / serve_source_of(repo_copy)
    edit_yaml(source, lambda d: d["applications"][0].update(import_path="serve_apps.rag:nope"))
    rerender(repo_copy)
    problems = lines(check_serve_configs(repo_copy))
    assert any("serve_apps.rag" in p and "no attribute 'nope'" in p for p in problems)
    assert resolve_import_path("serve_apps.no_such_module:build_app").startswith("import path")


def test_drifted_serve_config_is_caught(repo_copy: Path):
    text = (repo_copy / RAYSERVICE).read_text(encoding="utf-8")
    (repo_copy / RAYSERVICE).write_text(text.replace("llm_max_tokens: 1024", "llm_max_tokens: 64"))
    problems = lines(check_generated(repo_copy))
    assert any("serveConfigV2 drifts from its source" in p for p in problems)
    assert any(p.startswith(f"{RAYSERVICE}: differs from its sources") for p in problems)


def test_schema_violations_are_caught(repo_copy: Path):
    def break_cluster(doc):
        group = doc["spec"]["workerGroupSpecs"][0]
        group["replica"] = 2  # a typo of `replicas`
        group["minReplicas"] = "one"

    edit_yaml(repo_copy / RAYCLUSTER, break_cluster)
    edit_yaml(repo_copy / RAYSERVICE, lambda d: d["spec"]["upgradeStrategy"].update(type="Blue"))
    problems = lines(check_schemas(repo_copy))
    assert any(
        "workerGroupSpecs.0: Additional properties" in p and "'replica'" in p for p in problems
    )
    assert any("minReplicas: 'one' is not of type 'integer'" in p for p in problems)
    assert any("upgradeStrategy.type: 'Blue' is not one of" in p for p in problems)


def test_rayjob_naming_a_missing_job_module_is_caught(repo_copy: Path):
    workloads = repo_copy / "cluster_configs/kuberay/src/workloads.yaml"
    edit_yaml(
        workloads, lambda d: d["rayjobs"][0].update(entrypoint="python -m jobs.ingestt /data")
    )
    rerender(repo_copy)
    assert lines(check_entrypoints(repo_copy)) == [
        f"{KUBERAY / 'rayjob-ingest.yaml'} [RayJob/ruai-ingest]: "
        "entrypoint names job module jobs.ingestt, which does not exist"
    ]


def test_entrypoint_problems_are_caught():
    where = "rayjob"
    missing = lines(check_entrypoint("python -m jobs.no_such_job --x 1", where))
    assert missing == ["rayjob: entrypoint names job module jobs.no_such_job, which does not exist"]
    bad_flag = lines(check_entrypoint("python -m jobs.ingest /data --no-such-flag", where))
    assert len(bad_flag) == 1 and "No such option: --no-such-flag" in bad_flag[0]
    assert lines(check_entrypoint("bash run.sh", where))[0].endswith("`python -m jobs.<name> ...`")


def test_image_and_settings_drift_are_caught(repo_copy: Path):
    def change_worker(doc):
        container = doc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
        container["image"] = "rayproject/ray:2.60.0-py311-gpu"
        container["env"].append({"name": "RUAI_QDRANT_ULR", "value": "http://qdrant:6333"})
        container["env"].append({"name": "RUAI_QDRANT_URL", "value": "http://qdrnt:6333"})

    edit_yaml(repo_copy / RAYCLUSTER, change_worker)
    release = load_release(repo_copy)
    images = lines(check_images(repo_copy))
    assert any(f"not the release image {release.image}" in p for p in images)
    assert any("RUAI_QDRANT_ULR is not a setting" in p for p in lines(check_env(repo_copy)))
    assert any(
        "http://qdrnt:6333 names no Service" in p for p in lines(check_qdrant_wiring(repo_copy))
    )


def test_every_ray_cluster_and_dashboard_caller_carries_the_token(repo_copy: Path):
    assert lines(check_ray_auth(REPO)) == []
    for manifest in kubernetes_manifests(REPO):
        if manifest.doc["kind"] in ("RayCluster", "RayJob", "RayService"):
            assert "secretName: ruai-ray-token" in yaml.safe_dump(manifest.doc), manifest.where

    edit_yaml(repo_copy / RAYSERVICE, lambda d: d["spec"]["rayClusterConfig"].pop("authOptions"))
    edit_yaml(
        repo_copy / RAYCLUSTER,
        lambda d: d["spec"]["authOptions"].update(secretName="another-token"),
    )
    cronjob = repo_copy / "cluster_configs/monitoring/monitor-cronjob.yaml"
    edit_yaml(cronjob, _drop_container_env("RAY_AUTH_TOKEN"))
    problems = lines(check_ray_auth(repo_copy))
    assert any("rayservice.yaml" in p and "without token authentication" in p for p in problems)
    assert any("'another-token', 'ruai-ray-token'" in p and ": use one" in p for p in problems)
    assert any("monitor-cronjob.yaml" in p and "without the cluster token" in p for p in problems)
    launcher = repo_copy / "cluster_configs/launcher/ray-4090-onprem.yaml"
    text = launcher.read_text(encoding="utf-8")
    launcher.write_text(text.replace("RAY_AUTH_MODE=token", "RAY_AUTH_MODE=disabled"))
    problems = lines(check_ray_auth(repo_copy))
    assert any("ray-4090-onprem.yaml" in p and "token authentication" in p for p in problems)
    assert len(problems) == 4


def _drop_container_env(name: str):
    def drop(doc: dict) -> None:
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in spec["containers"]:
            container["env"] = [e for e in container.get("env", []) if e["name"] != name]

    return drop


def test_launcher_must_carry_the_serve_data_plane(repo_copy: Path):
    launcher = repo_copy / "cluster_configs/launcher/ray-4090-onprem.yaml"
    text = launcher.read_text(encoding="utf-8")
    launcher.write_text(text.replace("RAY_SERVE_ENABLE_HA_PROXY=1", "RAY_SERVE_ENABLE_HA_PROXY=0"))
    problems = lines(check_env(repo_copy))
    assert len(problems) == 1 and "`-e RAY_SERVE_ENABLE_HA_PROXY=1`" in problems[0]


def test_validate_cli_exits_nonzero_with_one_line_per_problem(repo_copy: Path):
    edit_yaml(repo_copy / RAYSERVICE, lambda d: d["spec"].update(upgradeStrategy={"type": "Blue"}))
    result = CliRunner().invoke(validate_app, ["--repo", str(repo_copy)])
    assert result.exit_code == 1
    output = result.output.splitlines()
    assert any(
        line.startswith(f"{RAYSERVICE} [RayService/ruai]: spec.upgradeStrategy.type")
        for line in output
    )
    assert any("differs from its sources" in line for line in output)
    assert re.fullmatch(r"error: \d+ problem\(s\) in .*", output[-1])  # jobs/cli.py's fail()


RAY_SHAPED_HAPROXY_CONFIG = """global
    stats socket {folder}/admin.sock mode 666 level admin expose-fd listeners
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 30s
frontend prometheus
    bind :{metrics}
    http-request use-service prometheus-exporter if {{ path /metrics }}
listen stats
  bind *:{stats}
  stats enable
"""


def test_the_haproxy_wrapper_hardens_the_config_and_starts_the_real_binary(tmp_path, monkeypatch):
    from cluster_configs.toolchain.layout import HARDENED_HAPROXY, haproxy_private_env

    # a process that inherits the wrapper as Ray's binary (a second node, a test's subprocess)
    monkeypatch.setenv("RAY_SERVE_HAPROXY_BINARY_PATH", str(HARDENED_HAPROXY))
    monkeypatch.setenv("RUAI_HAPROXY_BINARY", str(HARDENED_HAPROXY))
    env = haproxy_private_env(tmp_path / "haproxy")
    assert Path(env["RUAI_HAPROXY_BINARY"]).name == "haproxy"
    assert Path(env["RUAI_HAPROXY_BINARY"]).resolve() != HARDENED_HAPROXY.resolve()

    config = tmp_path / "haproxy" / "haproxy.cfg"
    ray_shaped = RAY_SHAPED_HAPROXY_CONFIG.format(folder=config.parent, metrics=9101, stats=8404)
    config.write_text(ray_shaped)
    checked = subprocess.run([str(HARDENED_HAPROXY), "-c", "-f", str(config)],
                             env=os.environ | env, capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    hardened = config.read_text()
    assert " mode 600 level admin" in hardened and "mode 666" not in hardened
    assert "bind 127.0.0.1:9101\n" in hardened and "bind 127.0.0.1:8404\n" in hardened
    assert "timeout http-request 10s" in hardened

    looping = subprocess.run([str(HARDENED_HAPROXY), "-c", "-f", str(config)],
                             env=os.environ | env | {"RUAI_HAPROXY_BINARY": str(HARDENED_HAPROXY)},
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert looping.returncode == 2 and "points at this wrapper" in looping.stderr


def test_the_rayservice_head_may_patch_its_own_rayservice_and_nothing_else():
    """jobs.rollout --rayservice runs on the RayService's head (ray job submit): its service
    account gets get and patch on that RayService only (kuberay/rollout-rbac.yaml)."""
    service = yaml.safe_load(RAYSERVICE.read_text(encoding="utf-8"))
    head = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    rbac = {d["kind"]: d for d in yaml.safe_load_all((KUBERAY / "rollout-rbac.yaml").read_text())}
    assert head["serviceAccountName"] == rbac["ServiceAccount"]["metadata"]["name"]
    binding = rbac["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": rbac["Role"]["metadata"]["name"]}  # fmt: skip
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": head["serviceAccountName"],
                                    "namespace": service["metadata"]["namespace"]}]  # fmt: skip
    (rule,) = rbac["Role"]["rules"]
    name = service["metadata"]["name"]
    assert rule == {"apiGroups": ["ray.io"], "resources": ["rayservices"],
                    "verbs": ["get", "patch"], "resourceNames": [name]}  # fmt: skip
    for doc in rbac.values():
        assert doc["metadata"]["namespace"] == service["metadata"]["namespace"]
