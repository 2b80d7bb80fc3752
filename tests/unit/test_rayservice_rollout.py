"""``jobs.rollout --rayservice``: the weights go into the RayService's serveConfigV2, where
KubeRay keeps them. The patch is made from the repository's rendered RayService and checked with
what jobs.validate_configs checks manifests with (the RayService CRD schema, Serve's schema and
import paths); the API path runs the official Kubernetes client over real HTTP against a small
local API server (tests/support/kube_api.py) that speaks GET and merge PATCH of the object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cluster_configs.toolchain.manifests import Manifest
from cluster_configs.toolchain.schema_check import check_manifest_schema
from cluster_configs.toolchain.serve_check import check_serve_config
from jobs.rollout import RENDERED_RAYSERVICE, app
from pipelines.rayservice_rollout import (
    RayServiceRef,
    app_config,
    arms_of,
    change_of,
    kubernetes_api,
    patch_rayservice,
    read_rayservice,
    serve_config,
)
from pipelines.serve_rollout import RolloutError, adding, parsed_experiment, weighting
from tests.support.kube_api import MERGE_PATCH, kube_api_server, merge_patch

REPO = Path(__file__).resolve().parents[2]
WHERE = RayServiceRef("ruai", "ruai")
KEY = ("ray.io", "v1", "ruai", "rayservices", "ruai")
EXPERIMENT = {
    "name": "canary",
    "arms": [
        {"name": "champion", "weight": 90},
        {"name": "emb-v2", "weight": 10, "collection": "documents__v2"},
    ],
}


def rendered() -> dict:
    docs = yaml.safe_load_all((REPO / RENDERED_RAYSERVICE).read_text(encoding="utf-8"))
    return next(d for d in docs if d and d.get("kind") == "RayService")


def arms(rayservice: dict):
    return arms_of(app_config(serve_config(rayservice, WHERE), "rag", WHERE))


def rollout(*args: str):
    return CliRunner().invoke(app, ["--rayservice", "ruai", "--app", "rag", *args])


@pytest.fixture
def experiment_file(tmp_path: Path) -> Path:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(EXPERIMENT), encoding="utf-8")
    return path


def test_a_patch_file_for_kubectl_passes_the_crd_and_serve_schemas(
    tmp_path: Path, experiment_file: Path
) -> None:
    out = tmp_path / "patch.yaml"
    result = rollout("--experiment-file", str(experiment_file), "--patch-file", str(out))
    assert result.exit_code == 0, result.output
    assert f"kubectl -n ruai patch rayservice ruai --type merge --patch-file {out}" in result.stdout
    patch = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert list(patch) == ["spec"] and list(patch["spec"]) == ["serveConfigV2"]

    patched = merge_patch(rendered(), patch)  # what `kubectl patch --type merge` makes of it
    assert list(check_manifest_schema(REPO, Manifest(Path("patched"), 0, patched))) == []
    assert list(check_serve_config(patched["spec"]["serveConfigV2"], "patched")) == []
    assert arms(patched).weights("canary") == {"champion": 90, "emb-v2": 10}
    before = yaml.safe_load(rendered()["spec"]["serveConfigV2"])
    after = yaml.safe_load(patched["spec"]["serveConfigV2"])
    [app_before], [app_after] = before["applications"], after["applications"]
    assert app_after["deployments"] == [
        {"name": "RagIngress", "user_config": arms(patched).model_dump(mode="json")}
    ]
    assert {k: v for k, v in app_after.items() if k != "deployments"} == app_before
    assert {k: v for k, v in after.items() if k != "applications"} == {
        k: v for k, v in before.items() if k != "applications"
    }

    # the next change reads the patched RayService (as `kubectl get -o yaml` gives it)
    live = tmp_path / "rayservice.yaml"
    live.write_text(yaml.safe_dump(patched, allow_unicode=True), encoding="utf-8")
    again = rollout("--experiment", "canary", "--arm", "emb-v2", "--weight", "50",
                    "--manifest", str(live), "--patch-file", str(out))  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "10 → 50" in again.stdout
    assert arms(merge_patch(patched, yaml.safe_load(out.read_text()))).weights("canary") == {
        "champion": 90, "emb-v2": 50
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda spec: spec.update(serveConfigV3="x"), "serveConfigV3"),  # a field the CRD lacks
        (lambda spec: spec.update(serveConfigV2=spec["serveConfigV2"].replace(
            "serve_apps.rag:build_app", "serve_apps.nowhere:build_app")), "serve_apps.nowhere"),
    ],
)  # fmt: skip
def test_a_rayservice_that_would_not_validate_is_not_patched(spoil, message) -> None:
    broken = rendered()
    spoil(broken["spec"])
    with pytest.raises(RolloutError, match=f"would not validate.*{message}"):
        change_of(broken, WHERE, "rag", adding(parsed_experiment(EXPERIMENT)))


def test_changes_the_app_cannot_take_are_refused_by_name(
    tmp_path: Path, experiment_file: Path
) -> None:
    out = str(tmp_path / "patch.yaml")
    result = rollout("--experiment", "canary", "--arm", "emb-v2", "--weight", "5",
                     "--patch-file", out)  # fmt: skip
    assert result.exit_code == 2 and "no experiment 'canary'" in result.stderr
    nowhere = CliRunner().invoke(app, ["--rayservice", "ruai", "--app", "chat", "--patch-file",
                                       out, "--experiment-file", str(experiment_file)])  # fmt: skip
    assert nowhere.exit_code == 2 and "has no Serve app 'chat'" in nowhere.stderr
    assert not (tmp_path / "patch.yaml").exists()


def test_the_api_path_patches_the_live_rayservice(experiment_file: Path) -> None:
    with kube_api_server() as (url, objects):
        objects.put(KEY, rendered())
        result = rollout("--namespace", "ruai", "--experiment-file", str(experiment_file),
                         "--kube-api", url)  # fmt: skip
        assert result.exit_code == 0, result.output
        assert [(method, kind) for method, _, kind in objects.requests] == [
            ("GET", ""), ("PATCH", MERGE_PATCH)
        ]  # fmt: skip
        stored = objects.objects[KEY]
        assert stored["metadata"]["resourceVersion"] == "2"
        assert arms(stored).weights("canary") == {"champion": 90, "emb-v2": 10}
        as_applied = stored | {
            "metadata": {"name": "ruai", "namespace": "ruai"}
        }  # no server fields
        assert list(check_manifest_schema(REPO, Manifest(Path("stored"), 0, as_applied))) == []

        moved = rollout("--experiment", "canary", "--arm", "emb-v2", "--weight", "25",
                        "--kube-api", url)  # fmt: skip
        assert moved.exit_code == 0, moved.output
        assert "10 → 25" in moved.stdout and "kubectl -n ruai get rayservice ruai" in moved.stdout
        assert arms(objects.objects[KEY]).weights("canary") == {"champion": 90, "emb-v2": 25}

        # a change made from a stale read loses to the one made meanwhile
        api = kubernetes_api(url)
        stale = read_rayservice(api, WHERE)
        objects.put(KEY, stale)
        made = change_of(stale, WHERE, "rag", weighting("canary", "emb-v2", 0))
        with pytest.raises(RolloutError, match="changed while it was being patched"):
            patch_rayservice(api, WHERE, made.patch)
        assert arms(objects.objects[KEY]).weights("canary") == {"champion": 90, "emb-v2": 25}

        missing = CliRunner().invoke(
            app,
            [
                "--rayservice",
                "nope",
                "--app",
                "rag",
                "--kube-api",
                url,
                "--experiment-file",
                str(experiment_file),
            ],
        )
        assert missing.exit_code == 2 and "RayService ruai/nope not found" in missing.stderr


def test_the_retraining_canary_goes_into_the_rayservice(tmp_path: Path, monkeypatch) -> None:
    """RUAI_RETRAIN_CANARY_RAYSERVICE: the chain's canary step patches the RayService, with the
    client configured as outside a pod (the kubeconfig KUBECONFIG names)."""
    from pipelines.retrain import start_canary
    from ruai.settings import Settings

    with kube_api_server() as (url, objects):
        objects.put(KEY, rendered())
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "local",
            "clusters": [{"name": "local", "cluster": {"server": url}}],
            "users": [{"name": "ci", "user": {"token": "not-checked-here"}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "ci"}}],
        }  # fmt: skip
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig), encoding="utf-8")
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        settings = Settings(retrain_canary_app="rag", retrain_canary_rayservice="ruai/ruai")
        assert start_canary(settings, "rag", EXPERIMENT) == "rag of RayService ruai/ruai"
        assert arms(objects.objects[KEY]).weights("canary") == {"champion": 90, "emb-v2": 10}
    with pytest.raises(ValueError, match="retrain_canary_rayservice"):
        Settings(retrain_canary_rayservice="ruai")
