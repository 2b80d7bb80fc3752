"""The ingress's query logging without a cluster: a noted request becomes one log row with its
A/B arm, model versions and hits; its answer is recorded with the arm and its owner, so feedback
right after the answer finds it (the asker's only: a subject's or a key's) and is counted per
arm; a request nobody noted is not logged; a broken note costs a counted row, never an
exception."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.dataset as pads
import pytest
from starlette.requests import Request

from ruai.conversations import ConversationStore, ResponseNotFoundError, owner_id
from ruai.identity import AuthKind, Principal
from ruai.settings import Settings
from ruai.store.base import Hit
from serve_apps.query_logging import RECORD_ERROR, QueryLogging, note
from serve_apps.request_context import request_context


def request(
    path: str = "/v1/chat/completions", key: str | None = None, experiment: str = "", arm: str = ""
) -> Request:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers,
             "query_string": b"", "route": SimpleNamespace(path=path)}  # fmt: skip
    made = Request(scope)
    context = request_context(made)
    context.experiment, context.arm = experiment, arm
    return made


@pytest.fixture
def logging_and_store(tmp_path: Path):
    settings = Settings(query_log_dir=tmp_path / "log", conversations_path=tmp_path / "c.sqlite3",
                        query_log_hash_only_tenants=["globex"])  # fmt: skip
    store = ConversationStore.from_settings(settings)
    logging = QueryLogging(settings, lambda _settings: store)
    yield logging, store
    logging.close()
    store.close()


def test_a_noted_answer_is_logged_and_its_feedback_counted_per_arm(logging_and_store) -> None:
    logging, store = logging_and_store
    asked = request(arm="challenger", experiment="lora-v2")
    alice = Principal("alice", "acme", groups=("/legal",), roles=("reader",))
    note(asked, tenant="acme", question="Когда умер Тесла?", collection="ruai", adapter="lora-7",
         llm_model="saiga", principal=alice,
         hits=[Hit("c1", 0.9, {"source": "a.md"}), Hit("c2", 0.4, {"source": "b.md"}),
               Hit("c3", 0.3, {"source": "a.md"})],
         ttft_ms=4.25)  # fmt: skip
    note(asked, cited=[SimpleNamespace(source="a.md")])
    logging.answered(asked, "chatcmpl-1")
    logging.observe(asked, 200, 12.5)
    logging.observe(request("/v1/search"), 200, 3.0)  # nobody noted it: not logged

    logging.settle("chatcmpl-1")  # what /v1/feedback does before looking the answer up
    # the answer is alice's (the subject of her token): nobody else of acme may rate it
    for someone_else in ("sub:bob", owner_id(None, "key-acme"), None):
        with pytest.raises(ResponseNotFoundError):
            store.add_feedback("acme", "chatcmpl-1", -1, owner=someone_else)
    answer = store.add_feedback("acme", "chatcmpl-1", -1, owner="sub:alice")
    assert (answer.experiment, answer.arm, answer.adapter) == ("lora-v2", "challenger", "lora-7")
    assert (answer.llm_model, answer.dense_model, answer.collection) == ("saiga", "navec", "ruai")
    logging.count_feedback(answer, -1)

    assert logging.sink is not None and logging.sink.flush()
    log = pads.dataset(logging.settings.query_log_dir, partitioning="hive")
    (row,) = log.to_table().to_pylist()
    assert row["arm"] == "challenger" and row["experiment"] == "lora-v2"
    assert row["response_id"] == "chatcmpl-1" and row["endpoint"] == "/v1/chat/completions"
    assert row["chunk_ids"] == ["c1", "c2", "c3"] and row["question"] == "Когда умер Тесла?"
    assert row["latency_ms"] == 12.5 and row["status"] == 200 and row["adapter"] == "lora-7"
    assert row["ttft_ms"] == 4.25
    # the audit: who asked, which documents were retrieved and which the answer showed
    assert (row["subject"], row["auth"], row["key_id"]) == ("alice", "token", None)
    assert row["groups"] == ["/legal", "role:reader"]
    assert row["sources"] == ["a.md", "b.md"] and row["cited"] == ["a.md"]


def test_an_answer_to_an_api_key_is_that_keys(logging_and_store) -> None:
    logging, store = logging_and_store
    asked = request(key="key-acme")
    service = Principal("key-1f2e", "acme", auth=AuthKind.API_KEY, key_id="key-1f2e")
    note(asked, tenant="acme", question="Когда умер Тесла?", principal=service)
    logging.answered(asked, "chatcmpl-2")
    logging.settle("chatcmpl-2")
    for someone_else in (owner_id(None, "key-acme-2"), "sub:alice"):
        with pytest.raises(ResponseNotFoundError):
            store.add_feedback("acme", "chatcmpl-2", 1, owner=someone_else)
    assert store.add_feedback("acme", "chatcmpl-2", 1, owner=owner_id(service, "key-acme"))


def test_a_broken_note_costs_a_counted_row_not_the_request(logging_and_store) -> None:
    logging, _ = logging_and_store
    broken = request()
    note(broken, question="без арендатора")  # no tenant: the record cannot be built
    logging.observe(broken, 200, 1.0)  # does not raise
    assert logging.sink is not None and logging.sink.dropped == {RECORD_ERROR: 1}


def test_a_logged_question_is_cut_to_the_question_limit() -> None:
    """A refused 1.9 MB question was logged whole (issue 25, finding 3): the record keeps at most
    max_chars characters and the hash of the whole question."""
    from ruai.lifecycle.query_log import QueryRecord, question_hash

    question = "вопрос " * 10_000
    record = QueryRecord.of(question, max_chars=2000, ts_ms=0, tenant="t", endpoint="/v1/search",
                            latency_ms=1.0, status=413)  # fmt: skip
    assert record.question == question[:2000]
    assert record.question_sha256 == question_hash(question)
    assert QueryRecord.of("\ud800", ts_ms=0, tenant="t", endpoint="/v1/search",
                          latency_ms=1.0, status=400).question_sha256  # fmt: skip
