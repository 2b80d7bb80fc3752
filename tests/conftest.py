"""Shared fixtures: the XQuAD-ru data, the sample corpus, and one real Ray cluster per session
(started with `ray start --head` on its own ports and temp dir, stopped at the end)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster_configs.toolchain.layout import haproxy_private_env, serve_cluster_env
from pipelines.cluster_token import ensure_cluster_token
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
XQUAD = Path(
    os.environ.get("RUAI_XQUAD_RU", REPO.parent / "shared/data/xquad-ru/xquad.ru.dev.json")
)
# per test run, so that parallel runs on one machine never share (or stop) each other's cluster
RAY_TEMP = Path(f"/tmp/ruai-test-ray-{os.getpid()}")

# The test cluster, this driver and the jobs it submits use Ray's token authentication with a
# token of this run's own (never the user's ~/.ray), and the data plane scripts/main.sh starts
# (Serve's switches of cluster_configs/ray-serve.env: the driver builds the applications'
# handles, so it needs them too); set before anything imports ray, which reads them once.
for _inherited in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE", "RAY_ADDRESS"):
    os.environ.pop(_inherited, None)
os.environ["RAY_AUTH_TOKEN_PATH"] = str(Path(f"/tmp/ruai-test-auth-{os.getpid()}/auth_token"))
ensure_cluster_token()
os.environ.update(serve_cluster_env())
# a short path: Ray adds the node id (56 characters) below it, and a socket path holds 107
os.environ.update(haproxy_private_env(Path(f"/tmp/ruai-haproxy-{os.getpid()}")))
# Serve kills a proxy (HAProxy here) that is not ready within 5 s and serve.start then fails; on a
# loaded 2-core machine HAProxy can take longer
os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
# Ray Train's preemption watcher polls for nodes a cloud is about to take away; the test clusters
# run on one machine: one actor fewer per training run (~1.8 CPU-s)
os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")
# the dashboard agent reads every worker process's CPU and memory (psutil) each 5 s for the
# dashboard's node view and Ray's node metrics, which no test reads: once a minute here
os.environ.setdefault("REPORTER_UPDATE_INTERVAL_MS", "60000")

# Serve's ports that are fixed by default (HAProxy's metrics 9101 and stats 8404, the fallback
# proxy's 8500/9500, direct-ingress replicas from 30000/40000): two test processes on one machine
# (the two pytest-xdist workers of scripts/test.sh, or a run beside `make main`) would collide on
# them. Set in every process, not inherited: xdist's workers get the controller's environment.
_SERVE_PORTS = ("HAPROXY_METRICS", "HAPROXY_STATS", "FALLBACK_PROXY_HTTP", "FALLBACK_PROXY_GRPC")
for _serve_port in _SERVE_PORTS:
    os.environ[f"RAY_SERVE_{_serve_port}_PORT"] = str(free_port())
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_slot = int(_worker[2:]) if _worker.startswith("gw") else 5 + os.getpid() % 5
for _protocol, _base in (("HTTP", 30000), ("GRPC", 40000)):
    os.environ[f"RAY_SERVE_DIRECT_INGRESS_MIN_{_protocol}_PORT"] = str(_base + 100 * _slot)
    os.environ[f"RAY_SERVE_DIRECT_INGRESS_MAX_{_protocol}_PORT"] = str(_base + 100 * _slot + 99)
# a direct-ingress replica stays up 30 s after it is told to stop, for an external load balancer
# to notice (Serve's default): every app teardown cost 30 s here, with nothing in front to drain
os.environ.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "1")


@pytest.fixture(scope="session")
def xquad_path() -> Path:
    if not XQUAD.exists():
        pytest.fail(
            f"XQuAD-ru not found at {XQUAD}: set RUAI_XQUAD_RU or put shared/ beside the repo"
        )
    return XQUAD


@pytest.fixture(scope="session")
def sample_articles(xquad_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ruai.eval.sample_corpus import write_sample_corpus

    out = tmp_path_factory.mktemp("sample")
    write_sample_corpus(xquad_path, out)
    return out / "articles"


@pytest.fixture(scope="session")
def tiny_mistral(xquad_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Mistral with a tokenizer trained on XQuAD-ru and a chat template."""
    from ruai.eval.squad import read_squad
    from tests.support.tiny_llm import build_tiny_mistral

    texts = [p.context for p in read_squad(xquad_path).paragraphs]
    return build_tiny_mistral(tmp_path_factory.mktemp("tiny-mistral"), texts)


# the adapter of trained_lora, registered as version 1 of this model
ADAPTER_MODEL = "qa-adapter"


@pytest.fixture(scope="session")
def trained_lora(
    ray_cluster, tiny_mistral: Path, xquad_path: Path, tmp_path_factory: pytest.TempPathFactory
):
    """jobs.finetune_llm's training (2 Ray Train workers, 4 epochs at lr 1e-2) of a rank-4
    adapter on 12 XQuAD-ru conversations plus 3 bad rows, a fifth of them held out, registered
    as version 1 of ``ADAPTER_MODEL``: the adapter test_serve_vllm serves and the adapter gate
    (test_promote_adapter) judges; tests/support/scheduling.py keeps both modules on one worker.
    The replies follow a house format (a fixed lead-in and closing around the gold span), what a
    format fine-tune is for: a rank-4 adapter of a random base learns little of free-form answers
    in a few steps. (settings, checked inputs, result)."""
    from pipelines.train_llm import check_llm_inputs, train_llm
    from ruai.eval.squad import read_squad
    from ruai.settings import Settings
    from ruai.training.chat_data import squad_conversations, write_jsonl
    from tests.support.tiny_squad import write_tiny_squad

    tmp = tmp_path_factory.mktemp("lora")
    squad = write_tiny_squad(xquad_path, tmp / "tiny.json", articles=2, questions_per_article=6)
    rows = squad_conversations(read_squad(squad))
    for row in rows:
        reply = row["messages"][-1]
        reply["content"] = f"Ответ по тексту: {reply['content']}. Источник: абзац выше."
    chat = write_jsonl(rows, tmp / "chat.jsonl")
    with chat.open("a", encoding="utf-8") as handle:
        handle.write('not json\n\n{"messages": [{"role": "user", "content": "вопрос"}]}\n')
    settings = Settings(
        llm_train_max_tokens=1024,
        llm_lora_r=4,
        llm_lora_alpha=8,
        llm_max_tokens=16,
        registry_dir=tmp / "registry",
    )
    inputs = check_llm_inputs(settings, str(tiny_mistral), chat, None, holdout_fraction=0.2)
    result = train_llm(
        settings,
        inputs,
        tmp / "adapter",
        epochs=4,
        batch_size=2,
        learning_rate=1e-2,
        num_workers=2,
        use_gpu=False,
        name="test-lora",
        register_as=ADAPTER_MODEL,
    )
    return settings, inputs, result


def _stop_test_cluster(temp_dir: Path = RAY_TEMP) -> None:
    """Stop only the processes of one suite's cluster (never a cluster the user runs): those
    whose command line names its temp dir (GCS, raylet, dashboard) and everything they started
    (workers and agents rename themselves ``ray::…``, so only the process tree finds them)."""
    import psutil

    marker = f"{temp_dir}/"
    cluster: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                for member in (proc, *proc.children(recursive=True)):
                    cluster[member.pid] = member
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    for member in cluster.values():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            member.kill()


def _reap_orphaned_test_clusters() -> None:
    """A run killed before its teardown (a CI timeout, SIGKILL) leaves its daemonized cluster
    behind, holding memory and CPU: stop the clusters whose test process is gone."""
    import psutil

    for temp_dir in Path("/tmp").glob("ruai-test-ray-*"):
        owner = temp_dir.name.rsplit("-", 1)[-1]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            _stop_test_cluster(temp_dir)
            shutil.rmtree(temp_dir, ignore_errors=True)
            shutil.rmtree(f"/tmp/ruai-test-auth-{owner}", ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster() -> dict[str, str]:
    """A real local cluster: `ray start --head`; the test process connects as a driver."""
    import ray

    env = os.environ | {"PATH": f"{VENV_BIN}:{os.environ['PATH']}", "RAY_USAGE_STATS_ENABLED": "0"}
    # `ray start` gives its processes a fixed 30 s to come up; on a loaded 2-core machine that can
    # run out: clear what the failed start left and try once more, then fail with Ray's output
    _reap_orphaned_test_clusters()
    for attempt in (1, 2):
        _stop_test_cluster()
        shutil.rmtree(RAY_TEMP, ignore_errors=True)
        port, dashboard_port = free_port(), free_port()
        started = subprocess.run(
            [
                str(VENV_BIN / "ray"), "start", "--head",
                f"--port={port}", f"--dashboard-port={dashboard_port}",
                f"--ray-client-server-port={free_port()}",
                f"--dashboard-agent-listen-port={free_port()}",
                "--dashboard-host=127.0.0.1", "--num-cpus=4", f"--temp-dir={RAY_TEMP}",
                "--disable-usage-stats",
                # it tails every worker's log for drivers that print them; this one does not
                # (log_to_driver=False below) and the tests read log files: CPU saved
                "--include-log-monitor=False",
            ],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if started.returncode == 0:
            break
        if attempt == 2:
            pytest.fail(f"ray start --head failed twice:\n{started.stdout}\n{started.stderr}")
    address = f"127.0.0.1:{port}"
    if ray.is_initialized():  # an earlier test's implicit local Ray (ray.data starts one)
        ray.shutdown()
    ray.init(address=address, log_to_driver=False)
    info = {"address": address, "dashboard": f"http://127.0.0.1:{dashboard_port}"}
    yield info
    ray.shutdown()
    _stop_test_cluster()
    time.sleep(1)
    shutil.rmtree(RAY_TEMP, ignore_errors=True)
    shutil.rmtree(Path(os.environ["RAY_AUTH_TOKEN_PATH"]).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A real PostgreSQL 15 server for this session: "postgresql://USER@127.0.0.1:PORT/DB"."""
    from tests.support.postgres_server import PostgresMissingError, check_binaries, postgres_server

    try:
        check_binaries()
    except PostgresMissingError as exc:
        pytest.fail(str(exc))
    with postgres_server() as dsn:
        yield dsn


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` (scripts/test.sh) with the modules sharing a set-up kept on one worker:
    tests/support/scheduling.py."""
    if config.getvalue("dist") == "loadfile":
        from tests.support.scheduling import SharedSetupScheduling

        return SharedSetupScheduling(config, log)
    return None


_CHAT: dict[str, object] = {}


@pytest.fixture
def chat_served(ray_cluster, sample_articles: Path, tmp_path_factory: pytest.TempPathFactory):
    """The chat application of tests/support/chat_app.py (conversations in SQLite at "db"), one
    for the modules next to each other that use it: started on first use, stopped after the last
    test of such a run, before the session's fixtures (pytest_runtest_teardown below)."""
    if "served" not in _CHAT:
        from tests.support.chat_app import chat_app

        tmp = tmp_path_factory.mktemp("chat")
        stack = contextlib.ExitStack()
        served = stack.enter_context(chat_app(sample_articles, tmp))
        served["db"] = tmp / "conversations.sqlite3"
        _CHAT.update(served=served, stack=stack)
    return _CHAT["served"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """Before the test's fixtures are torn down: the shared chat app after the last test of its
    run. After them: this process's Serve instance (tests/support/serve_app.py) when the next
    test belongs to another unit of work (tests/support/scheduling.py), so that the modules of a
    unit share one instance and none idles (its controller polls: ~3 CPU-s a minute) under the
    modules that deploy nothing."""
    from tests.support.scheduling import unit_of
    from tests.support.serve_app import stop_serve

    if "chat_served" in item.fixturenames and (
        nextitem is None or "chat_served" not in nextitem.fixturenames
    ):
        stack = _CHAT.pop("stack", None)
        _CHAT.clear()
        if stack is not None:
            stack.close()
    result = yield
    if nextitem is None or unit_of(item.nodeid) != unit_of(nextitem.nodeid):
        stop_serve()
    return result
