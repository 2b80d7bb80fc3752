"""The chat UI's API on a real Serve app, with its conversations on a real PostgreSQL server:
conversations per tenant and key, feedback only on one's own answers, a cited chunk in its
document, and follow-up questions retrieving from the article the conversation is about."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.support.chat_app import FOLLOW_UPS, MODEL, chat_app

pytestmark = pytest.mark.integration
ARTIFACTS = Path(
    os.environ.get("RUAI_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)


@pytest.fixture(scope="module")
def app(ray_cluster, sample_articles: Path, postgres_dsn: str, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chat-api")
    with chat_app(sample_articles, tmp, {"conversations_dsn": postgres_dsn}) as served:
        yield served


def call(app, method: str, path: str, key: str | None = "key-acme", **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, f"{app['base']}{path}", headers=headers, timeout=60, **kwargs)


def ask(app, messages: list[tuple[str, str]], key: str = "key-acme") -> dict:
    body = {"model": MODEL, "messages": [{"role": r, "content": c} for r, c in messages]}
    response = call(app, "POST", "/v1/chat/completions", key, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_ui_files_are_served(app) -> None:
    page = call(app, "GET", "/", key=None)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="ru">' in page.text and "/ui/app.js" in page.text
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        asset = call(app, "GET", f"/ui/{name}", key=None)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
    assert "innerHTML" not in call(app, "GET", "/ui/app.js", key=None).text
    assert call(app, "GET", "/ui/index.html", key=None).status_code == 404
    assert call(app, "GET", "/ui/..%2Fchat_routes.py", key=None).status_code == 404


def test_conversations_are_per_tenant_and_key(app) -> None:
    created = call(app, "POST", "/v1/conversations", json={"title": "Тесла", "model": MODEL})
    assert created.status_code == 200, created.text
    cid = created.json()["id"]
    added = call(app, "POST", f"/v1/conversations/{cid}/messages",
                 json={"role": "user", "content": "Когда умер Тесла?"})  # fmt: skip
    assert added.status_code == 200, added.text
    mine = call(app, "GET", "/v1/conversations").json()["data"]
    assert cid in [c["id"] for c in mine]
    # the same tenant's other key and another tenant see nothing and reach nothing
    for key in ("key-acme-2", "key-globex"):
        assert cid not in [
            c["id"] for c in call(app, "GET", "/v1/conversations", key).json()["data"]
        ]
        assert call(app, "GET", f"/v1/conversations/{cid}", key).status_code == 404
        assert call(app, "PATCH", f"/v1/conversations/{cid}", key,
                    json={"title": "x"}).status_code == 404  # fmt: skip
        assert call(app, "DELETE", f"/v1/conversations/{cid}", key).status_code == 404
    assert call(app, "GET", "/v1/conversations", "wrong-key").status_code == 401
    renamed = call(app, "PATCH", f"/v1/conversations/{cid}", json={"title": "Никола Тесла"})
    assert renamed.json()["title"] == "Никола Тесла"
    full = call(app, "GET", f"/v1/conversations/{cid}").json()
    assert [m["content"] for m in full["messages"]] == ["Когда умер Тесла?"]
    assert call(app, "DELETE", f"/v1/conversations/{cid}").json()["deleted"] is True
    assert call(app, "GET", f"/v1/conversations/{cid}").status_code == 404


def test_feedback_only_on_the_tenants_own_answer(app) -> None:
    answer = ask(app, [("user", "Когда умер Никола Тесла?")])
    vote = {"response_id": answer["id"], "rating": -1, "comment": "мало деталей", "source": "ui"}
    assert call(app, "POST", "/v1/feedback", "key-globex", json=vote).status_code == 404
    assert call(app, "POST", "/v1/feedback", json=vote | {"response_id": "chatcmpl-x"}
                ).status_code == 404  # fmt: skip
    assert call(app, "POST", "/v1/feedback", json=vote | {"rating": 2}).status_code == 422
    stored = call(app, "POST", "/v1/feedback", "key-acme-2", json=vote)  # same tenant, other key
    assert stored.status_code == 200 and stored.json()["stored"] is True


def test_cited_chunk_opens_in_its_document(app) -> None:
    question = "Когда умер Никола Тесла?"
    source = ask(app, [("user", question)])["sources"][0]
    body = {"model": MODEL, "source": source["source"], "chunk_id": source["chunk_id"],
            "query": question}  # fmt: skip
    doc = call(app, "POST", "/v1/context", json=body)
    assert doc.status_code == 200, doc.text
    chunks = doc.json()["chunks"]
    cited = [c for c in chunks if c["cited"]]
    assert len(chunks) > 1 and len(cited) == 1 and cited[0]["chunk_id"] == source["chunk_id"]
    assert cited[0]["text"].startswith(source["snippet"][:100])
    # another tenant cannot read acme's document, even knowing its source and chunk id
    assert call(app, "POST", "/v1/context", "key-globex", json=body).status_code == 404


def article_of(source: str) -> str:
    return Path(source).stem


def test_follow_ups_retrieve_from_the_conversations_article(app) -> None:
    """Each written follow-up, asked alone and inside its conversation: does retrieval find the
    article the conversation is about (top-1, and among the 5 sources)?"""
    results = []
    for first, follow_up, article in FOLLOW_UPS:
        earlier = ask(app, [("user", first)])["choices"][0]["message"]["content"]
        alone = ask(app, [("user", follow_up)])["sources"]
        in_conversation = ask(app, [("user", first), ("assistant", earlier),
                                    ("user", follow_up)])["sources"]  # fmt: skip
        results.append({
            "first": first, "follow_up": follow_up, "article": article,
            "alone": [article_of(s["source"]) for s in alone],
            "conversation": [article_of(s["source"]) for s in in_conversation],
        })  # fmt: skip

    def share(kind: str, top: int) -> float:
        return sum(r["article"] in r[kind][:top] for r in results) / len(results)

    summary = {f"{kind}@{top}": share(kind, top)
               for kind in ("alone", "conversation") for top in (1, 5)}  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "follow_up_retrieval.json").write_text(
        json.dumps({"summary": summary, "cases": results}, ensure_ascii=False, indent=1)
    )
    print("follow-up retrieval:", summary)
    assert summary["conversation@1"] >= 0.9, results
    assert summary["conversation@1"] > summary["alone@1"], results
