"""How scripts/test.sh's two pytest-xdist workers share the suite (tests/conftest.py installs it).

A module is a unit of work, as with `--dist loadfile`, except that modules sharing a set-up worth
building once (a Serve application, a trained adapter) form one unit, so one worker runs them back
to back and builds it once. Units start longest first: a long module started last would leave the
other worker idle while it runs. The order is an optimisation only; a module missing from COSTS
runs after the listed ones, in collection order.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# modules that share a set-up: the chat application of tests/support/chat_app.py (the
# `chat_served` fixture), the LoRA adapter jobs.finetune_llm trains (`trained_lora`)
SHARED = {
    "tests/browser/test_chat_ui.py": "chat_served",
    "tests/integration/test_agents.py": "chat_served",
    "tests/integration/test_serve_vllm.py": "trained_lora",
    "tests/integration/test_promote_adapter.py": "trained_lora",
}
# seconds a unit took on one worker of a 2-core machine (a run of 2026-12-06); only their order
# matters
COSTS = {
    "trained_lora": 420,
    "tests/integration/test_serve_extractive.py": 247,
    "tests/integration/test_ingest.py": 242,
    "tests/integration/test_promote_embedder.py": 175,
    "chat_served": 150,
    "tests/integration/test_serve_arms.py": 127,
    "tests/integration/test_rayjob_entrypoints.py": 122,
    "tests/integration/test_multinode_ingest.py": 104,
    "tests/integration/test_train_embedder.py": 98,
    "tests/browser/test_chat_signin.py": 92,
    "tests/integration/test_notebook.py": 76,
    "tests/integration/test_chat_api.py": 69,
    "tests/integration/test_train_tune.py": 67,
    "tests/integration/test_retrain_chain.py": 64,
    "tests/integration/test_store_contract_ray.py": 63,
    "tests/integration/test_jobs_cli.py": 45,
    "tests/unit/test_lifecycle_registry.py": 36,
    "tests/integration/test_reindex.py": 35,
    "tests/unit/test_e5_export.py": 28,
}


def unit_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return SHARED.get(module, module)


class SharedSetupScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        longest = max(self.workqueue, key=lambda unit: COSTS.get(unit, 0))
        self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)
