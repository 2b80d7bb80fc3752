"""Changing a running RAG app's experiments through Serve's REST API, without restarting
replicas: the app's deployed config is read back, the ingress deployment's ``user_config`` (its
experiments and guardrails) replaced, and the same config redeployed (what ``serve deploy``
does: Serve calls each ingress replica's ``reconfigure``). Used by ``jobs.rollout`` and by the
retraining chain's canary step. The app must have been deployed from a config."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ruai.lifecycle.arms_config import ArmsConfig, ScopedExperiment

INGRESS = "RagIngress"
DEFAULT_DASHBOARD = "http://127.0.0.1:8265"

logger = logging.getLogger(__name__)


def dashboard_address() -> str:
    """Ray's dashboard (Serve's REST API): RAY_DASHBOARD_ADDRESS, or this machine's default."""
    return os.environ.get("RAY_DASHBOARD_ADDRESS", DEFAULT_DASHBOARD)


class RolloutError(Exception):
    """The change could not be made (what is wrong, in one line)."""


def _live(details: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the app's deployed config, the ingress's live user_config)."""
    apps = details.get("applications") or {}
    if name not in apps:
        raise RolloutError(f"no Serve app {name!r} is running; running: {sorted(apps) or 'none'}")
    config = apps[name].get("deployed_app_config")
    if not config:
        raise RolloutError(
            f"app {name!r} was started with serve.run, not from a config: deploy it with "
            "`serve deploy` (or a RayService) to change its weights at run time"
        )
    ingress = (apps[name].get("deployments") or {}).get(INGRESS)
    if ingress is None:
        raise RolloutError(
            f"app {name!r} has no {INGRESS} deployment (is it serve_apps.rag:build_app?)"
        )
    return config, ingress["deployment_config"].get("user_config") or {}


def with_user_config(config: dict[str, Any], user_config: dict[str, Any]) -> dict[str, Any]:
    """The app config with the ingress deployment's user_config replaced (other overrides kept)."""
    deployments = [d for d in config.get("deployments") or [] if d.get("name") != INGRESS]
    ingress = next((d for d in config.get("deployments") or [] if d.get("name") == INGRESS), {})
    deployments.append(ingress | {"name": INGRESS, "user_config": user_config})
    return config | {"deployments": deployments}


def deploy_request(details: dict[str, Any], name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A full `serve deploy` body: every config-deployed app (a PUT replaces them all), with
    ``name``'s config swapped, and the running proxies' options."""
    from ray.serve.schema import HTTPOptionsSchema

    apps = [
        config if app_name == name else entry["deployed_app_config"]
        for app_name, entry in details["applications"].items()
        if entry.get("deployed_app_config")
    ]
    http = {k: v for k, v in (details.get("http_options") or {}).items()
            if k in HTTPOptionsSchema.model_fields}  # fmt: skip
    return {"applications": apps, "http_options": http,
            "proxy_location": details.get("proxy_location") or "EveryNode"}  # fmt: skip


def serve_client(address: str) -> Any:
    """Serve's REST client for the dashboard at ``address``."""
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    try:
        return ServeSubmissionClient(address)
    except Exception as exc:
        raise RolloutError(f"cannot reach Serve's REST API at {address}: {exc}") from exc


def arm_collections(address: str | None = None) -> set[str]:
    """The collections (versions) that an experiment arm of a running Serve app searches, read
    from the ingresses' live user_config, arms at weight 0 included (a header reaches them).
    Empty when no Ray dashboard answers at ``address`` (default: ``dashboard_address()``): no
    Serve app runs there."""
    address = address or dashboard_address()
    try:
        # Serve's client sets no timeout: a dashboard address that drops packets would hang
        # the re-index at its very end, so the port is tried with one first
        url = urlsplit(address)
        socket.create_connection((url.hostname, url.port or 80), timeout=5).close()
        details = serve_client(address).get_serve_details()
    except Exception as exc:  # connection refused, Serve not started: no arm searches anything
        logger.info("no Serve app's experiments read at %s (%s)", address, exc)
        return set()
    named = set()
    for entry in (details.get("applications") or {}).values():
        ingress = (entry.get("deployments") or {}).get(INGRESS) or {}
        user_config = (ingress.get("deployment_config") or {}).get("user_config") or {}
        for experiment in user_config.get("experiments") or []:
            arms = experiment.get("arms") or []
            named.update(a["collection"] for a in arms if a.get("collection"))
    return named


def live_arms(client: Any, app_name: str) -> tuple[dict, dict, Any]:
    """(Serve details, the app's deployed config, its ingress's ArmsConfig)."""
    from ruai.lifecycle.arms_config import ArmsConfig

    try:
        details = client.get_serve_details()
    except Exception as exc:
        raise RolloutError(f"cannot reach Serve's REST API: {exc}") from exc
    config, live = _live(details, app_name)
    return details, config, ArmsConfig.model_validate(live)


def apply(client: Any, details: dict, app_name: str, config: dict, new: dict,
          timeout_s: float) -> None:  # fmt: skip
    """Redeploy ``app_name`` with the ingress user_config ``new``; wait until it is in effect."""
    try:
        client.deploy_applications(deploy_request(details, app_name, with_user_config(config, new)))
    except Exception as exc:
        raise RolloutError(f"Serve refused the new config: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    while True:
        entry = client.get_serve_details()["applications"].get(app_name) or {}
        ingress = (entry.get("deployments") or {}).get(INGRESS) or {}
        in_effect = ingress.get("deployment_config", {}).get("user_config") == new
        if in_effect and entry.get("status") == "RUNNING" and ingress.get("status") == "HEALTHY":
            return
        if entry.get("status") == "DEPLOY_FAILED" or time.monotonic() > deadline:
            raise RolloutError(f"app {app_name!r} is {entry.get('status')}: "
                               f"{entry.get('message', '')}")  # fmt: skip
        time.sleep(0.5)


def start_experiment(address: str, app_name: str, experiment: dict, timeout_s: float = 120.0):
    """Add ``experiment`` to a running app (replacing one of the same name): a canary arm starts
    taking its weight's share without restarting replicas. Returns the validated experiment."""
    added = parsed_experiment(experiment)
    client = serve_client(address)
    details, config, arms = live_arms(client, app_name)
    new = adding(added)(arms).model_dump(mode="json")
    apply(client, details, app_name, config, new, timeout_s)
    return added


def parsed_experiment(body: dict) -> ScopedExperiment:
    """An experiment as a file gives it (``jobs.monitor --act``'s experiment.json), validated."""
    from ruai.lifecycle.arms_config import ScopedExperiment

    try:
        return ScopedExperiment.model_validate(body)
    except ValueError as exc:
        raise RolloutError(f"not a valid experiment: {exc}") from exc


def adding(experiment: ScopedExperiment) -> Callable[[ArmsConfig], ArmsConfig]:
    """The change that adds ``experiment`` to an app's experiments (replacing one of its name)."""

    def change(arms: ArmsConfig) -> ArmsConfig:
        try:  # validated as a whole: e.g. one experiment per model
            return arms.with_experiment(experiment)
        except ValueError as exc:
            raise RolloutError(
                f"the app cannot take experiment {experiment.name!r}: {exc}"
            ) from exc

    return change


def weighting(experiment: str, arm: str, weight: int) -> Callable[[ArmsConfig], ArmsConfig]:
    """The change that sets one arm's weight."""

    def change(arms: ArmsConfig) -> ArmsConfig:
        try:
            return arms.with_weight(experiment, arm, weight)
        except (KeyError, ValueError) as exc:
            raise RolloutError(str(exc).strip("\"'")) from exc

    return change
