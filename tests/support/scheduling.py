"""How scripts/test.sh's two pytest-xdist workers share the suite (tests/conftest.py installs it).

A module is a unit of work, as with `--dist loadfile`, except that modules sharing a set-up worth
building once form one unit, so one worker runs them back to back and builds it once. Units are
handed out as xdist hands out modules (the most tests first).
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# modules that share a set-up: the chat application of tests/support/chat_app.py
# (`chat_served`), the embedder fine-tune of tests/integration/conftest.py (`trained_embedder`)
SHARED = {
    "tests/browser/test_chat_ui.py": "chat_served",
    "tests/integration/test_agents.py": "chat_served",
    "tests/integration/test_train_embedder.py": "trained_embedder",
    "tests/integration/test_promote_embedder.py": "trained_embedder",
}


def unit_of(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return SHARED.get(module, module)


class SharedSetupScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
