"""Write the environment a second terminal needs to reach the cluster `make main` starts.

    python -m jobs.cluster_env --data-dir data [--out data/cluster.env]

Creates the project's Ray token (DATA/ray/auth_token) when missing and writes DATA/cluster.env:
token auth (RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH), the cluster's addresses for drivers
(RAY_ADDRESS), `ray job` (RAY_API_SERVER_ADDRESS) and `serve` (RAY_DASHBOARD_ADDRESS), the venv
on PATH (so `ray job submit` runs the cluster's Python), the data directory, the store path, the
dense model the collections are built with and offline model loading. Use it with
`set -a; . data/cluster.env; set +a`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipelines.cluster_token import ensure_cluster_token
from ruai.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    data_dir: Path = typer.Option(Path("data"), help="The project's data directory"),
    out: Path | None = typer.Option(None, help="Env file to write (default DATA/cluster.env)"),
    host: str = typer.Option("127.0.0.1", help="The head node's address"),
    gcs_port: int = typer.Option(6379, help="`ray start --port`"),
    dashboard_port: int = typer.Option(8265, help="`ray start --dashboard-port`"),
    dense_model: str | None = typer.Option(
        None, envvar="RUAI_DENSE_MODEL",
        help="The dense model the collections are built with (default: the settings' own)",
    ),
) -> None:
    data_dir = data_dir.expanduser().resolve()
    token_env = ensure_cluster_token(data_dir / "ray" / "auth_token")
    venv_bin = Path(sys.executable).parent
    lines = [
        "# the cluster scripts/main.sh started: `set -a; . THIS_FILE; set +a` in another terminal",
        *(f"{key}={value}" for key, value in token_env.items()),
        f"RAY_ADDRESS={host}:{gcs_port}",
        f"RAY_API_SERVER_ADDRESS=http://{host}:{dashboard_port}",
        f"RAY_DASHBOARD_ADDRESS=http://{host}:{dashboard_port}",
        f"PATH={venv_bin}:$PATH",
        f"RUAI_DATA_DIR={data_dir}",
        f"RUAI_QDRANT_PATH={data_dir / 'qdrant'}",
        # the model that built the collections: a re-index from this terminal adopts them with it
        f"RUAI_DENSE_MODEL={dense_model or Settings().dense_model}",
        "RAY_USAGE_STATS_ENABLED=0",
        "HF_HUB_OFFLINE=1",
        "MLFLOW_DISABLE_TELEMETRY=true",
    ]
    target = out or data_dir / "cluster.env"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    typer.echo(str(target))


if __name__ == "__main__":
    app()
