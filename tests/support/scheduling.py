"""How scripts/test.sh's two pytest-xdist workers share the suite (tests/conftest.py installs it).

A module is a unit of work, as with `--dist loadfile`, except that modules sharing a set-up worth
building once form one unit, so one worker runs them back to back and builds it once. A worker
that runs low on tests gets the costliest unit left (longest first: the two workers then finish
close together instead of one running the last heavy module alone); units without a measured
cost follow, the most tests first.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# modules that share a set-up: the chat application's ingested corpus of tests/support/chat_app.py
# (and the chat_ui and agents modules its app, `chat_served`), the embedder fine-tune of
# tests/integration/conftest.py (`trained_embedder`), the LoRA fine-tune of tests/conftest.py
# (`trained_lora`)
SHARED = {
    "tests/browser/test_chat_signin.py": "chat_app",
    "tests/browser/test_chat_ui.py": "chat_app",
    "tests/integration/test_agents.py": "chat_app",
    "tests/integration/test_chat_api.py": "chat_app",
    "tests/integration/test_train_embedder.py": "trained_embedder",
    "tests/integration/test_promote_embedder.py": "trained_embedder",
    "tests/integration/test_serve_vllm.py": "trained_lora",
    "tests/integration/test_promote_adapter.py": "trained_lora",
}

# seconds a unit takes on a worker of scripts/test.sh on the 2-core CI machine (set-ups
# included), measured from a run's per-test start and end times; only the order matters
COST_S = {
    "trained_lora": 250,
    "chat_app": 180,
    "trained_embedder": 155,
    "tests/integration/test_ingest.py": 130,
    "tests/integration/test_serve_extractive.py": 115,
    "tests/integration/test_rayjob_entrypoints.py": 105,
    "tests/integration/test_multinode_ingest.py": 80,
    "tests/integration/test_notebook.py": 55,
    "tests/integration/test_retrain_chain.py": 55,
    "tests/integration/test_serve_arms.py": 50,
    "tests/integration/test_train_tune.py": 40,
    "tests/integration/test_jobs_cli.py": 40,
    "tests/integration/test_reindex.py": 35,
    "tests/integration/test_store_contract_ray.py": 25,
    "tests/integration/test_ingest_hostile.py": 20,
    "tests/unit/test_e5_export.py": 20,
}


def unit_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return SHARED.get(module, module)


class SharedSetupScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        """The costliest unit left goes first (the queue is ordered by test count)."""
        costliest = max(self.workqueue, key=lambda unit: COST_S.get(unit, 0))
        self.workqueue.move_to_end(costliest, last=False)
        super()._assign_work_unit(node)
