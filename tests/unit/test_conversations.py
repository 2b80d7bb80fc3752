"""The conversation store on SQLite and on a real PostgreSQL 15 server: CRUD per tenant and key,
another owner's id is a 404, migrations run once, feedback only on one's own answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruai.conversations import (
    AnswerRecord,
    ConversationNotFoundError,
    ConversationStore,
    ResponseNotFoundError,
)
from ruai.conversations.database import Database, DatabaseUnavailableError
from ruai.conversations.migrations import LATEST
from ruai.settings import Settings
from tests.support.postgres_server import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    if request.param == "sqlite":
        settings = Settings(conversations_path=tmp_path / "conv.sqlite3")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        schema_dsn = fresh_database(dsn, request.node.name)
        settings = Settings(conversations_dsn=schema_dsn)
    store = ConversationStore.from_settings(settings)
    yield store
    store.close()


def test_conversation_lifecycle(store: ConversationStore) -> None:
    first = store.create("acme", "k1", "Тесла", "rag-docs")
    second = store.create("acme", "k1", "Варшава", "rag-docs")
    store.add_message("acme", "k1", first.id, "user", "Когда умер Тесла?")
    answer = store.add_message(
        "acme", "k1", first.id, "assistant", "В 1943 году [1].",
        {"response_id": "chatcmpl-1", "sources": [{"n": 1, "title": "Тесла"}], "partial": False},
    )  # fmt: skip
    # the conversation just written to comes first
    assert [c.id for c in store.list("acme", "k1")] == [first.id, second.id]
    messages = store.messages("acme", "k1", first.id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Когда умер Тесла?"), ("assistant", "В 1943 году [1]."),
    ]  # fmt: skip
    assert messages[1].meta["sources"][0]["title"] == "Тесла" and messages[1].id == answer.id
    renamed = store.rename("acme", "k1", second.id, "Река Висла")
    assert (
        renamed.title == "Река Висла" and store.get("acme", "k1", second.id).title == renamed.title
    )
    store.delete("acme", "k1", first.id)
    assert [c.id for c in store.list("acme", "k1")] == [second.id]
    with pytest.raises(ConversationNotFoundError):
        store.messages("acme", "k1", first.id)


def test_another_tenant_or_key_sees_nothing(store: ConversationStore) -> None:
    mine = store.create("acme", "k1", "секрет", "rag-docs")
    for tenant, key in (("globex", "k1"), ("acme", "k2")):
        assert store.list(tenant, key) == []
        for action, *args in (
            (store.get,),
            (store.messages,),
            (store.rename, "взлом"),
            (store.add_message, "user", "взлом"),
            (store.delete,),
        ):
            with pytest.raises(ConversationNotFoundError):
                action(tenant, key, mine.id, *args)
    assert store.get("acme", "k1", mine.id).title == "секрет"
    assert store.messages("acme", "k1", mine.id) == []


def test_feedback_only_for_the_tenant_that_got_the_answer(store: ConversationStore) -> None:
    store.record_response("chatcmpl-a", "acme")
    store.record_response("chatcmpl-a", "acme")  # recording twice is harmless
    with pytest.raises(ResponseNotFoundError):
        store.add_feedback("globex", "chatcmpl-a", -1)
    with pytest.raises(ResponseNotFoundError):
        store.add_feedback("acme", "chatcmpl-unknown", 1)
    with pytest.raises(ValueError):
        store.add_feedback("acme", "chatcmpl-a", 5)
    store.add_feedback("acme", "chatcmpl-a", -1, "не то", "ui")
    store.add_feedback("acme", "chatcmpl-a", 1, None, "ui")  # a changed vote replaces the first
    assert store.feedback("acme", "chatcmpl-a") == {"rating": 1, "comment": None, "source": "ui"}
    assert store.feedback("globex", "chatcmpl-a") is None


def test_an_answer_belongs_to_whoever_asked(store: ConversationStore) -> None:
    """An answer recorded for a signed-in subject (or an API key) is that owner's to rate and to
    read the rating of: another subject or key of the same tenant finds no such answer. One
    recorded before answers had owners stays rateable by the tenant's callers."""
    alice, bob, key = "sub:alice", "sub:bob", "0f3c" * 8
    store.record_response("r-alice", "acme", alice)
    store.record_response("r-key", "acme", key)
    store.record_response("r-before", "acme")  # no owner: an answer from before owners
    for owner in (bob, key, None):
        with pytest.raises(ResponseNotFoundError):
            store.add_feedback("acme", "r-alice", -1, owner=owner)
    with pytest.raises(ResponseNotFoundError):
        store.add_feedback("globex", "r-alice", -1, owner=alice)  # the subject, another tenant
    assert store.add_feedback("acme", "r-alice", 1, "точно", "ui", owner=alice).owner == alice
    assert store.feedback("acme", "r-alice", alice) == {"rating": 1, "comment": "точно",
                                                        "source": "ui"}  # fmt: skip
    assert store.feedback("acme", "r-alice", bob) is None
    with pytest.raises(ResponseNotFoundError):
        store.add_feedback("acme", "r-key", 1, owner=alice)
    store.add_feedback("acme", "r-key", -1, owner=key)  # a key's answers stay the key's
    assert store.feedback("acme", "r-key", key)["rating"] == -1
    for owner in (alice, key):
        store.add_feedback("acme", "r-before", 1, owner=owner)
    assert store.feedback("acme", "r-before", bob)["rating"] == 1


def test_answers_carry_their_arm_and_feedback_counts_per_arm(store: ConversationStore) -> None:
    """An answer is recorded with what answered it; a vote returns that, and the negative share
    per arm is one join away (what the monitoring job reads)."""
    store.record_answers([
        AnswerRecord("r1", "acme", "lora-v2", "champion", "saiga", None, "navec", "ruai"),
        AnswerRecord("r2", "acme", "lora-v2", "challenger", "saiga", "lora-7", "navec", "ruai"),
        AnswerRecord("r3", "acme", "lora-v2", "challenger", "saiga", "lora-7", "navec", "ruai"),
    ])  # fmt: skip
    store.record_response("r4", "globex")  # no experiment: no arm
    voted = store.add_feedback("acme", "r2", -1)
    assert voted.arm == "challenger" and voted.adapter == "lora-7" and voted.tenant == "acme"
    store.add_feedback("acme", "r3", 1)
    store.add_feedback("acme", "r1", 1)
    assert store.add_feedback("globex", "r4", -1).arm is None
    with pytest.raises(ResponseNotFoundError):
        store.add_feedback("globex", "r1", -1)  # another tenant's answer, arm or not
    with store.database.transaction() as cursor:
        shares = cursor.execute(
            "SELECT r.arm, AVG(CASE WHEN f.rating < 0 THEN 1.0 ELSE 0.0 END) FROM feedback f "
            "JOIN responses r ON r.response_id = f.response_id WHERE r.tenant = %s "
            "GROUP BY r.arm ORDER BY r.arm",
            ("acme",),
        ).fetchall()
    assert [(arm, float(share)) for arm, share in shares] == [
        ("challenger", 0.5),
        ("champion", 0.0),
    ]


def test_migrations_apply_once_and_data_survives_reopen(store: ConversationStore) -> None:
    conversation = store.create("acme", "k1", "Тесла", "rag-docs")
    assert store.schema_version == LATEST
    database = store.database
    store.close()
    reopened = ConversationStore(database)  # migrate() again on the same database
    assert reopened.schema_version == LATEST
    assert reopened.get("acme", "k1", conversation.id).title == "Тесла"
    with database.transaction() as cursor:
        rows = cursor.execute("SELECT version FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))


def test_unreachable_postgres_names_the_setting() -> None:
    from tests.conftest import free_port

    database = Database.postgresql(f"postgresql://ruai@127.0.0.1:{free_port()}/ruai")
    with pytest.raises(DatabaseUnavailableError, match="RUAI_CONVERSATIONS_DSN"):
        ConversationStore(database)
