"""Connecting to Ray: the cluster a job was submitted to, a local `ray start` cluster, or none."""

from __future__ import annotations

import os
from pathlib import Path

import ray

from pipelines.cluster_token import ensure_cluster_token
from ruai.retrieval import Searcher
from ruai.settings import Settings

# `ray start --head` records the running cluster's address here
_CURRENT_CLUSTER_FILE = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"


def running_cluster_address() -> str | None:
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    if _CURRENT_CLUSTER_FILE.exists():
        address = _CURRENT_CLUSTER_FILE.read_text().strip()
        return address or None
    return None


def use_token_auth() -> None:
    """The project's token (pipelines/cluster_token.py) for the cluster we join or start; a driver
    connecting by address only sends a token with RAY_AUTH_MODE=token (Ray 2.60)."""
    before = os.environ.get("RAY_AUTH_MODE")
    if "RAY_AUTH_MODE" not in os.environ and (Path.home() / ".ray" / "auth_token").exists():
        os.environ["RAY_AUTH_MODE"] = "token"  # a cluster started with Ray's own default token
    else:
        ensure_cluster_token()
    if os.environ.get("RAY_AUTH_MODE") != before:
        from ray._raylet import Config

        Config.initialize("")  # Ray reads the mode once at import: make it see the change


def init_ray(**kwargs) -> bool:
    """Connect to the running cluster, or start a local one. True when started here."""
    if ray.is_initialized():
        return False
    use_token_auth()
    address = running_cluster_address()
    if address:
        try:
            ray.init(address=address, **kwargs)
            return False
        except ConnectionError:
            if os.environ.get("RAY_ADDRESS"):
                raise
            # a stale record of a cluster that is gone: start a local one instead
    ray.init(**kwargs)
    return True


def open_searcher(settings: Settings) -> Searcher:
    """A Searcher for a command-line process: through the running cluster's store owner when a
    cluster runs (it holds the embedded shard), else on the store opened directly."""
    from raystore import store_for

    if running_cluster_address():
        init_ray()
    return Searcher.from_settings(settings, store_for(settings))
